"""violations/ and remediation/stats/ per role: anonymous 401, no role 403,
operators read (values masked), stewards read and fix."""

import pytest
from rest_framework.test import APIClient

from dq import services
from dq.models import Violation
from dq.selectors import MASK
from dq.serializers import FILTER_NEEDS_ONE
from ingest import fields as rules
from ingest import registry
from runs.models import ImportRun
from tests.importing import import_golden, violation_at

pytestmark = pytest.mark.django_db

API = "/api/v1/violations/"


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def as_steward(steward):
    return api_client(steward)


@pytest.fixture
def as_operator(operator):
    return api_client(operator)


def ids(response) -> set[int]:
    return {item["id"] for item in response.json()["results"]}


def test_permission_matrix(rules_run, steward, operator, nobody):
    violation = violation_at(rules_run, 4)
    one = f"{API}{violation.pk}/"
    calls = [
        ("get", API, None),
        ("get", one, None),
        ("get", "/api/v1/remediation/stats/", None),
        ("patch", one, {"payload": {"email": "x@y.example"}}),
        ("post", one + "ignore/", {"reason": "r"}),
        ("post", one + "requeue/", None),
        ("post", API + "requeue/", {"ids": [violation.pk]}),
    ]
    reads = 3
    expected = {
        None: [401] * len(calls),
        "nobody": [403] * len(calls),
        "operator": [200] * reads + [403] * (len(calls) - reads),
    }
    for who, user in (None, None), ("nobody", nobody), ("operator", operator):
        client = api_client(user)
        got = [
            getattr(client, method)(url, body, format="json").status_code
            for method, url, body in calls
        ]
        assert got == expected[who], who
    client = api_client(steward)
    assert [client.get(url).status_code for method, url, body in calls[:reads]] == [200, 200, 200]


def test_list_filters(as_steward, rules_run):
    assert len(ids(as_steward.get(API))) == 10
    assert ids(as_steward.get(API, {"rule": "invalid_choice"})) == {
        violation_at(rules_run, n).pk for n in (5, 13)
    }
    assert ids(as_steward.get(API, {"field": "email"})) == {
        violation_at(rules_run, n).pk for n in (4, 13)
    }
    assert (
        len(
            ids(
                as_steward.get(
                    API,
                    {
                        "status": "open",
                        "target": "organization",
                        "source": "crm",
                        "run": rules_run.pk,
                    },
                )
            )
        )
        == 10
    )
    assert ids(as_steward.get(API, {"source": "erp"})) == set()
    assert as_steward.get(API, {"rule": "no_such_rule"}).status_code == 400
    assert as_steward.get(API, {"run": "abc"}).status_code == 400
    assert as_steward.get(API + "abc/").status_code == 404


def test_dry_run_violations_only_by_their_run(as_steward, db):
    import_golden("01_organizations_clean.csv")
    dry = import_golden("03_organizations_dry_run.csv", dry_run=True)
    assert ids(as_steward.get(API)) == set()
    assert len(ids(as_steward.get(API, {"run": dry.pk}))) == 1


def test_payload_values_are_masked_without_the_permission(as_steward, as_operator, rules_run):
    violation = violation_at(rules_run, 6)
    assert as_steward.get(f"{API}{violation.pk}/").json()["payload"]["name"] == "Negative Staff Co"
    masked = as_operator.get(f"{API}{violation.pk}/").json()
    assert masked["payload"]["name"] == MASK and masked["payload"]["email"] == ""
    assert all(
        item["payload"]["name"] in (MASK, "") for item in as_operator.get(API).json()["results"]
    )


def test_patch_answers_the_pipelines_messages_by_field(as_steward, rules_run):
    violation = violation_at(rules_run, 13)
    response = as_steward.patch(
        f"{API}{violation.pk}/", {"payload": {"email": "still bad"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "country": [rules.MSG_COUNTRY],
        "email": [rules.MSG_EMAIL],
        "employees": [rules.MSG_INTEGER],
    }
    response = as_steward.patch(
        f"{API}{violation.pk}/", {"payload": {"nonsense": "1"}}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["nonsense"]
    for body in ({"payload": "x"}, {"payload": {"email": {"a": 1}}}, [], {}):
        assert as_steward.patch(f"{API}{violation.pk}/", body, format="json").status_code == 400, (
            body
        )
    fixed = as_steward.patch(
        f"{API}{violation.pk}/",
        {"payload": {"country": "de", "email": "", "employees": "3"}},
        format="json",
    )
    assert fixed.status_code == 200 and fixed.json()["payload"]["country"] == "de"


def test_requeue_one_then_again(as_steward, rules_run, on_commit):
    violation = violation_at(rules_run, 3)
    as_steward.patch(f"{API}{violation.pk}/", {"payload": {"name": "Named"}}, format="json")
    with on_commit():
        first = as_steward.post(f"{API}{violation.pk}/requeue/")
    assert first.status_code == 202 and first.json()["requeued"] == 1
    run = ImportRun.objects.get(pk=first.json()["runs"][0])
    assert run.kind == "remediation" and run.status == "succeeded"
    assert as_steward.get(f"{API}{violation.pk}/").json()["status"] == "resolved"
    again = as_steward.post(f"{API}{violation.pk}/requeue/")
    assert again.json() == {"requeued": 0, "not_requeued": 1, "runs": []}
    not_open = as_steward.patch(f"{API}{violation.pk}/", {"payload": {"name": "X"}}, format="json")
    assert not_open.status_code == 409  # well-formed; the violation's state refuses it
    assert not_open.json() == {
        "detail": services.NOT_EDITABLE.format(pk=violation.pk, status="resolved")
    }


def test_assignee_is_null_until_someone_takes_the_violation_as_the_schema_says(
    as_steward, steward, rules_run
):
    """The schema said a string; the API answered null."""
    violation = violation_at(rules_run, 4)
    assert as_steward.get(f"{API}{violation.pk}/").json()["assignee"] is None
    schema = as_steward.get("/api/schema/?format=json").json()
    assert (
        schema["components"]["schemas"]["Violation"]["properties"]["assignee"]["nullable"] is True
    )
    services.violations_assign(
        violations=Violation.objects.filter(pk=violation.pk), assignee=steward
    )
    assert as_steward.get(f"{API}{violation.pk}/").json()["assignee"] == steward.get_username()


def test_the_patch_schema_names_the_payload_keys_the_api_takes(as_steward):
    """The schema took any key in ``payload`` (the API refuses all but the
    target's fields) and made ``payload`` optional (the API requires it)."""
    schema = as_steward.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/violations/{id}/"]["patch"]["requestBody"]["content"][
        "application/json"
    ]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    component = schema["components"]["schemas"][name]
    assert component["required"] == ["payload"]
    payload = component["properties"]["payload"]
    assert payload["additionalProperties"] is False
    assert set(payload["properties"]) == {
        field for target in registry.all_targets() for field in target.field_names
    }


def test_a_dry_runs_violation_is_read_only_409(as_steward, db):
    dry = import_golden("03_organizations_dry_run.csv", dry_run=True)
    violation = Violation.objects.get(run=dry)
    expected = {"detail": services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=dry.pk)}
    patched = as_steward.patch(f"{API}{violation.pk}/", {"payload": {"name": "X"}}, format="json")
    ignored = as_steward.post(
        f"{API}{violation.pk}/ignore/", {"reason": "a test row"}, format="json"
    )
    assert (patched.status_code, patched.json()) == (409, expected)
    assert (ignored.status_code, ignored.json()) == (409, expected)


def test_ignore_needs_a_reason(as_steward, rules_run):
    violation = violation_at(rules_run, 7)
    assert as_steward.post(f"{API}{violation.pk}/ignore/", {}, format="json").status_code == 400
    response = as_steward.post(
        f"{API}{violation.pk}/ignore/", {"reason": "a test row"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    again = as_steward.post(f"{API}{violation.pk}/ignore/", {"reason": "again"}, format="json")
    assert again.status_code == 409  # well-formed, but the violation is no longer open
    assert again.json() == {
        "detail": services.NOT_EDITABLE.format(pk=violation.pk, status="ignored")
    }


def test_bulk_requeue_by_ids_and_by_filter(as_steward, rules_run, on_commit):
    with on_commit():
        by_ids = as_steward.post(
            API + "requeue/", {"ids": [violation_at(rules_run, 3).pk]}, format="json"
        )
    assert by_ids.status_code == 202 and by_ids.json()["requeued"] == 1
    with on_commit():
        by_filter = as_steward.post(
            API + "requeue/", {"filter": {"rule": "out_of_range"}}, format="json"
        )
    assert by_filter.status_code == 202 and by_filter.json()["requeued"] == 2
    for body in (
        {},
        {"ids": [1], "filter": {}},
        {"ids": []},
        {"ids": ["x"]},
        {"filter": {"rule": "zzz"}},
        [],
    ):
        assert as_steward.post(API + "requeue/", body, format="json").status_code == 400, body


@pytest.mark.parametrize("body", [{"filter": {}}, {"filter": {"run": 10**24}}])
def test_bulk_requeue_refuses_a_filter_that_would_take_the_whole_inbox(as_steward, rules_run, body):
    """``{"filter": {}}`` requeued every open violation of every target and
    source, as an empty query-string filter would not."""
    response = as_steward.post(API + "requeue/", body, format="json")
    assert response.status_code == 400
    assert Violation.objects.filter(status="open").count() == 10
    if body == {"filter": {}}:
        assert response.json() == {"filter": {"non_field_errors": [FILTER_NEEDS_ONE]}}
    else:
        assert "run" in response.json()["filter"]


def test_stats(as_steward, rules_run):
    body = as_steward.get("/api/v1/remediation/stats/", {"since": "7d"}).json()
    assert body["requeued"] == 0 and body["success_rate"] is None
    assert as_steward.get("/api/v1/remediation/stats/", {"since": "yesterday"}).status_code == 400


def test_the_schema_documents_the_violation_endpoints(as_steward):
    schema = api_client().get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/violations/",
        "/api/v1/violations/{id}/",
        "/api/v1/violations/{id}/requeue/",
        "/api/v1/violations/{id}/ignore/",
        "/api/v1/violations/requeue/",
        "/api/v1/remediation/stats/",
    ):
        assert path in schema["paths"], path
    patch = schema["paths"]["/api/v1/violations/{id}/"]["patch"]
    assert {"200", "400", "401", "403", "404"} <= set(patch["responses"])


def test_bulk_requeue_refuses_unknown_keys(as_steward, rules_run):
    for body in ({"ids": [1], "extra": 1}, {"filter": {"rule": "required", "colour": "red"}}):
        response = as_steward.post(API + "requeue/", body, format="json")
        assert response.status_code == 400, body
    response = as_steward.post(
        API + "requeue/",
        {"filter": {"field": 0, "rule": "required", "run": 1, "source": "0", "target": "0"}},
        format="json",
    )
    assert response.status_code == 400 and "field" in response.json()["filter"]
