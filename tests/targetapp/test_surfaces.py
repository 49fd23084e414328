"""Every surface driven by the registry offers the derived target: the
upload form, the targets API and its validation, the DQ inbox and editor,
and the record's own admin with its lineage."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from dq.models import Violation
from ingest import fields as rules
from ingest import hints, identity, registry
from runs.models import ImportRun
from tests.factories import NO_ROLE, OPERATOR, STEWARD, token_client, user_for
from tests.targetapp.models import Product
from tests.targetapp.test_product_import import HEADER, import_products

pytestmark = pytest.mark.django_db

ADD = reverse("admin:runs_importrun_add")


def test_the_upload_form_offers_the_target_and_imports_through_it(operator_client, on_commit):
    assert '<option value="product">' in operator_client.get(ADD).content.decode()
    content = (
        HEADER + "P-1,Widget,19.90,yes,hardware,,,,\nP-2,Gizmo,abc,yes,hardware,,,,\n"
    ).encode()
    with on_commit():
        response = operator_client.post(
            ADD,
            {
                "target": "product",
                "source": "crm",
                "file": SimpleUploadedFile("products.csv", content, content_type="text/csv"),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ImportRun.objects.get()
    assert (run.target, run.status, run.inserted, run.quarantined) == ("product", "partial", 1, 1)
    assert Product.objects.get().name == "Widget"


def test_the_targets_api_lists_the_derived_field_specs():
    api = token_client(STEWARD)
    listed = api.get("/api/v1/targets/").json()
    assert [target["name"] for target in listed] == ["contact", "organization", "product"]
    product = api.get("/api/v1/targets/product/").json()
    assert product == registry.get("product").spec()
    assert product["verbose_name"] == "product"


def test_the_validate_endpoint_gives_the_pipelines_messages():
    payload = {"sku": "P-9", "name": "X", "price": "1,5", "category": "gadget", "in_stock": "?"}
    answer = (
        token_client(STEWARD)
        .post("/api/v1/targets/product/validate/", payload, format="json")
        .json()
    )
    choices = "hardware (Hardware), software (Software), service (Service)"
    assert answer == {
        "valid": False,
        "errors": {
            "price": [rules.MSG_DECIMAL],
            "in_stock": [rules.MSG_BOOLEAN],
            "category": [rules.MSG_CHOICE.format(choices=choices)],
        },
    }


def test_a_steward_finds_and_fixes_the_row_in_the_inbox(client, steward):
    import_products(HEADER + "P-3,Doohickey,12.505,yes,hardware,,,,\n")
    violation = Violation.objects.get()
    client.force_login(steward)
    inbox = client.get(reverse("admin:dq_violation_changelist"), {"target": "product"})
    assert inbox.status_code == 200 and "P-3" in inbox.content.decode()

    page = reverse("admin:dq_violation_change", args=[violation.pk])
    html = client.get(page).content.decode()
    assert escape(rules.MSG_DECIMAL_PLACES.format(limit=2)) in html
    specs = {spec["name"]: spec for spec in registry.get("product").spec()["fields"]}
    for name in ("price", "category"):
        assert escape(hints.field_hint(specs[name])) in html, name

    still_wrong = {f"field__{name}": value for name, value in violation.payload.items()}
    response = client.post(page, {**still_wrong, "field__price": "1,5", "_save": "1"})
    assert escape(rules.MSG_DECIMAL) in response.content.decode()
    client.post(page, {**still_wrong, "field__price": "12.50", "_save": "1"})
    violation.refresh_from_db()
    assert violation.payload["price"] == "12.50"


def test_the_products_admin_shows_each_fields_lineage(admin_client):
    import_products(HEADER + "P-1,Widget,19.90,yes,hardware,,,,\n")
    product = Product.objects.get()
    changelist = admin_client.get(reverse("admin:targetapp_product_changelist"), {"q": "P-1"})
    assert changelist.status_code == 200 and "Widget" in changelist.content.decode()
    html = admin_client.get(
        reverse("admin:targetapp_product_change", args=[product.pk])
    ).content.decode()
    assert "Lineage" in html and "non-null" in html


@pytest.mark.parametrize(
    ("role", "changelist", "change_page", "editable"),
    [(STEWARD, 200, 200, True), (OPERATOR, 200, 200, False), (NO_ROLE, 403, 403, False)],
)
def test_the_roles_reach_products_as_their_migration_grants(
    client, role, changelist, change_page, editable
):
    import_products(HEADER + "P-1,Widget,19.90,yes,hardware,,,,\n")
    product = Product.objects.get()
    client.force_login(user_for(role))
    assert client.get(reverse("admin:targetapp_product_changelist")).status_code == changelist
    page = client.get(reverse("admin:targetapp_product_change", args=[product.pk]))
    assert page.status_code == change_page
    assert ('name="_save"' in page.content.decode()) is editable


def test_a_hand_edit_of_a_product_follows_the_products_import_rules(client, settings):
    """The rules derived from the model (and the target's override) check
    the admin form of any target's records, not only core's."""
    settings.TIME_ZONE = "Europe/Berlin"
    import_products(HEADER + "P-1,Widget,19.90,yes,hardware,,,,\n")
    product = Product.objects.get()
    client.force_login(user_for(STEWARD))
    url = reverse("admin:targetapp_product_change", args=[product.pk])
    data = {
        "sku": "P-1",
        "name": "Widget",
        "price": "12.505",
        "in_stock": "on",
        "category": "hardware",
        "launched": "",
        "released_at_0": "2024-03-01",
        "released_at_1": "12:00:00",
        "stock": "",
        "weight_grams": "",
        "homepage": "widget.example",
        "support_email": "",
        "origin_country": "de",
        "notes": "",
        "supplier": "",
        "rating": "",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "price": [rules.MSG_DECIMAL_PLACES.format(limit=2)]
    }
    assert Product.objects.get().price == product.price

    assert client.post(url, {**data, "price": "12.5"}).status_code == 302
    product.refresh_from_db()
    assert (product.price, product.origin_country, product.homepage) == (
        decimal.Decimal("12.50"),
        "DE",
        "https://widget.example",
    )
    # Typed in the site's time zone, as the admin shows it.
    assert product.released_at == dt.datetime(2024, 3, 1, 11, tzinfo=dt.UTC)
    assert identity.record_manual_fields(record=product) == [
        "price",
        "released_at",
        "homepage",
        "origin_country",
    ]
