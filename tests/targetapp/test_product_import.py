"""A target of an app other than core (tests/targetapp, registered with
``registry.from_model``) goes through the real pipeline like the demo
targets: insert, quarantine with the rule codes, remediation, deterministic
replay, survivorship, dry run."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json

import pytest
from django.core.files.base import ContentFile

from core.models import Organization
from dq import services as dq_services
from dq.models import Violation
from ingest import fields as rules
from ingest import registry
from ingest.models import ExternalIdMap
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import import_checked
from tests.targetapp.models import Product

pytestmark = pytest.mark.django_db

SUPPLIERS = b"external_id,name,country\nORG-1,Acme Supplies,DE\n"
HEADER = "sku,name,price,in_stock,category,launched,stock,origin_country,supplier_external_id\n"
PRODUCTS = HEADER + (
    "P-1,Widget,19.9,yes,Hardware,2024-03-01,12,de,ORG-1\n"
    "P-2,Gizmo,5,false,software,,,,\n"
    'P-3,Doohickey,"12,50",yes,hardware,,,,\n'
    "P-4,Gadget,3.00,yes,gadget,,,,\n"
    "P-5,Thing,1.00,maybe,service,,40000,,\n"
    "P-6,Sprocket,2.50,no,hardware,,,,ORG-404\n"
    "P-7,,1.999,yes,hardware,,,,\n"
    "P-8,Cog,1.00,yes,hardware,,,XX,\n"
)
CHOICES = "hardware (Hardware), software (Software), service (Service)"
EXPECTED_ERRORS = {
    "P-3": [("price", rules.INVALID_FORMAT, rules.MSG_DECIMAL)],
    "P-4": [("category", rules.INVALID_CHOICE, rules.MSG_CHOICE.format(choices=CHOICES))],
    "P-5": [
        ("in_stock", rules.INVALID_FORMAT, rules.MSG_BOOLEAN),
        ("stock", rules.OUT_OF_RANGE, rules.MSG_MAX.format(limit=32767)),
    ],
    "P-6": [
        (
            "supplier_external_id",
            rules.UNKNOWN_REFERENCE,
            rules.MSG_UNKNOWN_REFERENCE.format(target="organization", value="ORG-404"),
        )
    ],
    "P-7": [
        ("name", rules.REQUIRED, rules.MSG_REQUIRED),
        ("price", rules.OUT_OF_RANGE, rules.MSG_DECIMAL_PLACES.format(limit=2)),
    ],
    "P-8": [("origin_country", rules.INVALID_CHOICE, rules.MSG_COUNTRY)],
}


def import_products(content: str = PRODUCTS, **options):
    return import_checked(content.encode(), filename="products.csv", target="product", **options)


@pytest.fixture
def suppliers():
    import_checked(SUPPLIERS, filename="suppliers.csv")
    return Organization.objects.get()


def errors_by_external_id(run: ImportRun) -> dict[str, list[tuple[str, str, str]]]:
    return {
        v.external_id: [(e["field"], e["code"], e["message"]) for e in v.errors]
        for v in Violation.objects.filter(last_seen_run=run).order_by("row_number")
    }


def ledger(run: ImportRun) -> dict[str, dict[str, str]]:
    """The run's results file, by external id."""
    with run.results_file.open("r") as handle:
        return {row["external_id"]: row for row in csv.DictReader(handle)}


def core_state() -> list[dict]:
    return list(Product.objects.order_by("sku").values())


def test_good_rows_are_inserted_with_typed_values(suppliers):
    ended = import_products()
    assert ended.status == ImportRun.Status.PARTIAL, ended.run.error_message
    assert (ended.run.rows_total, ended.run.inserted, ended.run.quarantined) == (8, 2, 6)
    widget, gizmo = Product.objects.order_by("sku")
    assert (widget.sku, widget.name, widget.price, widget.in_stock) == (
        "P-1",
        "Widget",
        decimal.Decimal("19.90"),
        True,
    )
    assert (widget.category, widget.launched, widget.stock, widget.origin_country) == (
        "hardware",
        dt.date(2024, 3, 1),
        12,
        "DE",
    )
    assert widget.supplier == suppliers
    assert widget.natural_key == "P-1"
    assert widget.provenance["price"]["source"] == "crm"
    assert widget.provenance["supplier_id"]["run"] == ended.run.pk
    assert (gizmo.price, gizmo.in_stock, gizmo.category, gizmo.supplier) == (
        decimal.Decimal("5.00"),
        False,
        "software",
        None,
    )
    assert set(
        ExternalIdMap.objects.filter(target="product").values_list("external_id", "record_id")
    ) == {("P-1", widget.pk), ("P-2", gizmo.pk)}


def test_bad_rows_are_quarantined_with_the_rule_codes_and_messages(suppliers):
    ended = import_products()
    assert errors_by_external_id(ended.run) == EXPECTED_ERRORS
    assert {v.target for v in ended.violations} == {"product"}


def test_remediation_resolves_fixed_and_referenced_rows(suppliers, steward, requeue):
    run = import_products().run
    wrong_price = Violation.objects.get(run=run, external_id="P-3")
    unknown_supplier = Violation.objects.get(run=run, external_id="P-6")
    # The editor and API refuse a fix that is still wrong, in the pipeline's words.
    with pytest.raises(dq_services.PayloadInvalid) as refused:
        dq_services.violation_edit(
            violation=wrong_price, payload={**wrong_price.payload, "price": "12.505"}, actor=steward
        )
    assert refused.value.errors == [
        rules.error("price", rules.OUT_OF_RANGE, rules.MSG_DECIMAL_PLACES.format(limit=2))
    ]
    dq_services.violation_edit(
        violation=wrong_price, payload={**wrong_price.payload, "price": "12.50"}, actor=steward
    )
    # The missing supplier arrives; the row itself needs no change.
    import_checked(b"external_id,name,country\nORG-404,Late Supplies,FR\n", filename="late.csv")

    result = requeue(
        Violation.objects.filter(pk__in=[wrong_price.pk, unknown_supplier.pk]), steward
    )

    remediation = ImportRun.objects.get(pk=result.runs[0].pk)
    assert (remediation.kind, remediation.target, remediation.status) == (
        "remediation",
        "product",
        "succeeded",
    )
    assert (remediation.inserted, remediation.quarantined) == (2, 0)
    for violation in (wrong_price, unknown_supplier):
        violation.refresh_from_db()
        assert (violation.status, violation.resolution) == ("resolved", "steward")
    assert Product.objects.get(sku="P-3").price == decimal.Decimal("12.50")
    assert Product.objects.get(sku="P-6").supplier.name == "Late Supplies"


def test_a_replay_of_the_run_is_deterministic(suppliers):
    first = import_products().run
    state = core_state()
    errors = errors_by_external_id(first)

    replay = services.run_replay(run=first, enqueue=False)
    runner.run_execute(run_id=replay.pk)
    replay.refresh_from_db()

    assert replay.status == ImportRun.Status.PARTIAL, replay.error_message
    assert (replay.inserted, replay.updated, replay.unchanged) == (0, 0, 0)
    assert (replay.skipped, replay.quarantined) == (2, 6)
    assert errors_by_external_id(replay) == errors
    assert core_state() == state
    assert replay.ingest_params_json["replay_of"] == first.pk


def test_a_changed_row_changes_only_its_changed_fields(suppliers):
    import_products()
    second = import_products(PRODUCTS.replace("P-1,Widget,19.9", "P-1,Widget Pro,19.90")).run
    assert (second.updated, second.skipped) == (1, 1)
    assert Product.objects.get(sku="P-1").name == "Widget Pro"
    # The price read back from the database (SQLite: a float) is the one
    # imported, so it is no change.
    assert ledger(second)["P-1"]["changed_fields"] == "name"


def test_another_source_with_the_same_sku_resolves_to_the_same_product(suppliers):
    import_products()
    run = services.run_create(
        target="product",
        source="shop",
        file=ContentFile(b"sku,name,price,category\nP-2,Gizmo (shop),5.00,software\n"),
        filename="shop.csv",
    )
    run = runner.run_execute(run_id=run.pk, in_process=True)
    assert (run.status, run.inserted, run.updated) == ("succeeded", 0, 1)
    assert Product.objects.filter(sku="P-2").count() == 1
    assert ExternalIdMap.objects.get(source__slug="shop", target="product").record_id == (
        Product.objects.get(sku="P-2").pk
    )


def test_a_dry_run_writes_nothing_and_shows_the_would_be_values(suppliers):
    ended = import_products(dry_run=True)
    assert (ended.run.inserted, ended.run.quarantined) == (2, 6)
    assert not Product.objects.exists()
    values = json.loads(ledger(ended.run)["P-1"]["values"])
    assert (values["price"], values["in_stock"], values["launched"]) == (
        "19.90",
        True,
        "2024-03-01",
    )
    assert values["supplier_id"] == suppliers.pk


def test_natural_keys_of_a_chunk_held_column_wise_are_each_rows():
    """``Target.natural_keys`` (the column-wise engine's) gives what
    ``natural_key`` gives row by row, here for a key declared by names."""
    target = registry.get("product")
    values = {"sku": ["P-1", "", "P-3"], "name": ["Widget", "Gadget", None]}
    assert target.natural_keys(values) == ["P-1", None, "P-3"]
    assert target.natural_keys({"sku": [], "name": []}) == []
