"""Issue 18: violations grouped by (target, source, field, code), and
"Replace value" for every violation alike (preview, requeue, remember), in
the API and the admin."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dq import services
from dq.models import RemediationAudit, ValueMapping, Violation
from dq.selectors import MASK
from tests.dq.feeds import HEADER
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

GERMANY = "A-{n},Org {n},Germany,info{n}@example.org\n"
BAD_EMAIL = "B-{n},Org {n},FR,not-an-email\n"


@pytest.fixture
def feed():
    """Five rows with country 'Germany', two with a bad email (source crm),
    one 'Germany' from another source."""
    import_bytes(
        HEADER
        + "".join(GERMANY.format(n=n) for n in range(5))
        + "".join(BAD_EMAIL.format(n=n) for n in range(2))
    )
    import_bytes(HEADER + GERMANY.format(n=9), source="erp")


@pytest.fixture
def as_steward(steward):
    client = APIClient()
    client.force_authenticate(steward)
    return client


def test_groups_are_counted_and_sorted(as_steward, feed):
    response = as_steward.get("/api/v1/violations/groups/", {"status": "open"})
    assert response.status_code == 200
    groups = response.json()
    assert [(g["source"], g["field"], g["code"], g["count"]) for g in groups] == [
        ("crm", "country", "invalid_choice", 5),
        ("crm", "email", "invalid_format", 2),
        ("erp", "country", "invalid_choice", 1),
    ]
    assert groups[0]["examples"] == ["Germany"] and groups[0]["target"] == "organization"
    only_erp = as_steward.get("/api/v1/violations/groups/", {"source": "erp"}).json()
    assert [g["count"] for g in only_erp] == [1]


def test_groups_mask_examples_without_payload_permission(operator, feed):
    client = APIClient()
    client.force_authenticate(operator)
    groups = client.get("/api/v1/violations/groups/").json()
    assert groups[0]["examples"] == [MASK]


def test_groups_refuse_unknown_parameters(as_steward, feed):
    assert as_steward.get("/api/v1/violations/groups/", {"status": "nope"}).status_code == 400
    assert as_steward.get("/api/v1/violations/groups/", {"colour": "red"}).status_code == 400


def replace_body(**extra):
    return {
        "filter": {"target": "organization", "source": "crm"},
        "field": "country",
        "from": "Germany",
        "to": "DE",
        **extra,
    }


def test_replace_previews_then_replaces_in_every_matching_payload(as_steward, feed):
    preview = as_steward.post(
        "/api/v1/violations/replace/", replace_body(preview=True), format="json"
    )
    assert preview.status_code == 200 and preview.json()["matched"] == 5
    assert Violation.objects.filter(payload__country="Germany").count() == 6

    response = as_steward.post("/api/v1/violations/replace/", replace_body(), format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "matched": 5,
        "replaced": 5,
        "requeued": 0,
        "runs": [],
        "remembered": [],
        "preview": False,
    }
    assert Violation.objects.filter(payload__country="DE", status="open").count() == 5
    assert Violation.objects.get(external_id="A-9").payload["country"] == "Germany"  # other source
    assert RemediationAudit.objects.filter(action="bulk_edit").count() == 5
    assert not ValueMapping.objects.exists()


def test_replace_with_requeue_resolves_them(as_steward, feed, on_commit):
    with on_commit():
        response = as_steward.post(
            "/api/v1/violations/replace/", replace_body(requeue=True), format="json"
        )
    body = response.json()
    assert (body["replaced"], body["requeued"], len(body["runs"])) == (5, 5, 1)
    resolved = Violation.objects.filter(
        status="resolved", resolution="steward", requeue_outcome="resolved"
    )
    assert resolved.count() == 5


def test_replace_with_remember_saves_a_value_mapping(as_steward, feed):
    body = as_steward.post(
        "/api/v1/violations/replace/", replace_body(remember=True), format="json"
    ).json()
    (mapping,) = ValueMapping.objects.all()
    assert body["remembered"] == [mapping.pk]
    assert (
        mapping.source.slug,
        mapping.target,
        mapping.field,
        mapping.from_value,
        mapping.to_value,
    ) == ("crm", "organization", "country", "Germany", "DE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (replace_body(field="colour"), "detail"),
        (replace_body(to="Germany"), "detail"),
        ({**replace_body(), "filter": {"colour": "red"}}, "filter"),
        ({"filter": {}, "field": "country", "from": "Germany"}, "to"),
        ({**replace_body(), "filter": {}}, "filter"),  # the whole inbox: a criterion, please
        (replace_body(extra=1), "extra"),
        # JSON booleans only, as replay's dry_run (DRF's own field took these).
        (replace_body(preview="yes"), "preview"),
        (replace_body(preview=1), "preview"),
        (replace_body(requeue="true"), "requeue"),
        (replace_body(remember="on"), "remember"),
        (replace_body(preview=None), "preview"),
    ],
)
def test_bad_replace_bodies_are_400s_and_change_nothing(as_steward, feed, body, field):
    response = as_steward.post("/api/v1/violations/replace/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert Violation.objects.filter(payload__country="Germany").count() == 6


def test_operators_cannot_replace(operator, feed):
    client = APIClient()
    client.force_authenticate(operator)
    assert (
        client.post("/api/v1/violations/replace/", replace_body(), format="json").status_code == 403
    )


# The admin.


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


def test_the_groups_page_links_to_the_filtered_inbox_and_to_replace(steward_client, feed):
    page = steward_client.get(reverse("admin:dq_violation_groups"))
    assert page.status_code == 200
    (group, *_) = page.context["groups"]
    assert group["count"] == 5
    inbox = steward_client.get(group["inbox_url"])
    assert {v.external_id for v in inbox.context["cl"].result_list} == {f"A-{n}" for n in range(5)}
    form = steward_client.get(group["replace_url"])
    assert form.status_code == 200 and form.context["form"].initial["field_name"] == "country"


def test_the_groups_page_shortens_long_examples(steward_client):
    """A 2,000-character value must not stretch the table past the screen."""
    long_name = "N" * 2000
    import_bytes(HEADER + f"L-1,{long_name},DE,info@example.org\n")
    page = steward_client.get(reverse("admin:dq_violation_groups")).content.decode()
    assert f'title="{long_name}">{"N" * 39}…</code>' in page
    assert f">{long_name}<" not in page


def test_the_admin_replace_previews_then_applies(steward_client, feed):
    url = reverse("admin:dq_violation_replace")
    data = {
        "target": "organization",
        "source": "crm",
        "code": "invalid_choice",
        "error_field": "country",
        "field_name": "country",
        "from_value": "Germany",
        "to_value": "DE",
        "remember": "on",
    }
    preview = steward_client.post(url, data)
    assert preview.context["preview"] == 5
    assert Violation.objects.filter(payload__country="DE").count() == 0
    done = steward_client.post(url, {**data, "confirm": "True"})
    assert done.status_code == 302
    (text,) = [str(m) for m in get_messages(done.wsgi_request)]
    assert "in 5 of 5 violation(s)" in text and "Remembered" in text
    assert Violation.objects.filter(payload__country="DE").count() == 5
    assert ValueMapping.objects.count() == 1


def test_only_stewards_reach_replace(operator, feed):
    client = Client()
    client.force_login(operator)
    assert client.get(reverse("admin:dq_violation_groups")).status_code == 200
    assert client.get(reverse("admin:dq_violation_replace")).status_code == 403


def test_same_value_is_refused_by_the_service(feed):
    with pytest.raises(services.UsageError):
        services.violations_replace_value(
            violations=Violation.objects.all(),
            field_name="country",
            from_value="DE",
            to_value="DE",
            actor=None,
        )
