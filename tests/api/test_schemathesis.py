"""Property-based API tests: schemathesis generates requests for every
operation in the live OpenAPI schema (whatever app added it) and checks the
answers against the schema, as a superuser with a token, with every
built-in check on. Zero failures: no 500, schema-valid requests accepted,
schema-invalid ones refused, every status, header and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from dq import services as dq_services
from importer_project.wsgi import application
from ingest import registry
from tests.api.helpers import CSV
from tests.factories import user_for
from tests.importing import create_run, import_bytes

# Two operations take input with rules OpenAPI 3.0 cannot state, so a
# schema-valid request may rightly be a 400 there, and only there; the
# check below holds that 400 to naming only those rules:
# - an upload's column map: its keys are column names, non-blank, without
#   NUL, each once as headers compare (no schema keyword for object keys in
#   3.0), and its values fields of the chosen target (which depends on
#   another form field); and its encoding: any name Python knows for a
#   text codec (``windows-1252`` as well as ``cp1252``), which no finite
#   list in the schema states;
# - a violation's PATCH: the merged payload must pass the target's rules
#   (a 400 with the pipeline's errors per field, the documented contract);
# - replace: the new value must differ from the old one, and the field be
#   one of the target the filter selects (which depends on the data).
RULES_BEYOND_THE_SCHEMA = (
    "POST /api/v1/runs/",
    "PATCH /api/v1/violations/{id}/",
    "POST /api/v1/violations/replace/",
)
CONFIG = SchemathesisConfig.from_str(
    "".join(
        f"""
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""
        for name in RULES_BEYOND_THE_SCHEMA
    )
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

# Bounded and repeatable: the same examples on every run, a fixed number
# per operation (16 operations today: 400 cases at most).
EXAMPLES = 25


def a_valid_request_is_refused_only_for_rules_beyond_the_schema(ctx, response, case) -> None:
    """Where a schema-valid request may be a 400 (above), the 400 must be
    about those rules, not about anything the schema does state."""
    name = f"{case.method.upper()} {case.operation.path}"
    if response.status_code != 400 or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    body = response.json()
    if name == "POST /api/v1/runs/":
        assert set(body) <= {"column_map", "encoding"}, body
    elif name == "PATCH /api/v1/violations/{id}/":
        fields = {field for target in registry.all_targets() for field in target.field_names}
        assert set(body) <= fields | {"non_field_errors"}, body
    elif name == "POST /api/v1/violations/replace/":
        detail = body.get("detail", "")
        targets = registry.all_targets()
        assert (
            detail == dq_services.SAME_VALUE
            or detail.startswith(dq_services.ONE_TARGET.split("{")[0])
            or detail
            in {dq_services.UNKNOWN_FIELD.format(target=target.name) for target in targets}
        ), body


@pytest.fixture
def keep_test_connection():
    """The raw WSGI app closes the database connection after each request,
    which would end the test's transaction; Django's test client unhooks
    the same handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token_header(db, keep_test_connection) -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    return {"Authorization": f"Token {Token.objects.create(user=user_for('superuser')).key}"}


@pytest.fixture
def existing(db) -> dict[str, list[int]]:
    """Objects for the generated requests to find, so that answers carry
    real bodies (a run with counters and results, violations with and
    without an assignee) rather than only 404s; each list ends with an id
    that does not exist."""
    from dq.models import Violation
    from runs.models import ImportRun

    runs = [import_bytes(CSV), import_bytes(CSV, dry_run=True), create_run(CSV)]
    violation = Violation.objects.filter(dry_run=False).first()
    violation.assignee = user_for("steward")
    violation.save(update_fields=["assignee"])
    violations = list(Violation.objects.values_list("pk", flat=True))
    return {
        "/api/v1/runs/": [run.pk for run in runs]
        + [ImportRun.objects.order_by("pk").last().pk + 1000],
        "/api/v1/violations/": violations + [max(violations) + 1000],
    }


def point_at_existing(case, existing: dict[str, list[int]]) -> None:
    """A generated id of digits names one of the existing objects (or the
    missing one); any other id is left as generated."""
    value = (case.path_parameters or {}).get("id")
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        return
    for prefix, ids in existing.items():
        if case.operation.path.startswith(prefix):
            case.path_parameters["id"] = str(ids[int(value[-6:]) % len(ids)])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_conforms_to_the_schema(case, token_header, existing):
    """Every built-in check, none excluded: schema-valid requests are
    accepted, schema-invalid ones refused, and every answer is documented."""
    point_at_existing(case, existing)
    case.call_and_validate(
        headers=token_header,
        additional_checks=[a_valid_request_is_refused_only_for_rules_beyond_the_schema],
    )
