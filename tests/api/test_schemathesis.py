"""Property-based API tests: schemathesis generates requests for every
operation in the live OpenAPI schema (whatever app added it) and checks the
answers against the schema, as a superuser with a token. Zero failures: no
500, every status, header and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from importer_project.wsgi import application
from tests.api.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

# Bounded: a budget of examples shared by all operations keeps the run under
# a minute however many endpoints other apps add (20 each for the 9 of runs/
# and targets/; fewer each as operations are added, never under 8).
OPERATIONS = sum(
    method in ("get", "post", "put", "patch", "delete")
    for operations in schema.raw_schema["paths"].values()
    for method in operations
)
EXAMPLES = max(8, 180 // max(OPERATIONS, 1))


# Every check runs everywhere, except "schema-valid data is accepted" outside
# these paths: elsewhere a schema-valid request may rightly be a 400 that no
# schema can express (a payload breaking a pipeline rule, an unknown run id in
# a filter). runs/ and targets/ document their inputs exactly.
POSITIVE_DATA_STRICT = ("/api/v1/runs/", "/api/v1/targets/")


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

    return {"Authorization": f"Token {Token.objects.create(user=make_user('superuser')).key}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_the_schema(case, token_header):
    excluded = []
    if not case.operation.path.startswith(POSITIVE_DATA_STRICT) or has_column_map(case):
        excluded.append(positive_data_acceptance)
    if only_retypes_a_form_value(case):
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers=token_header, excluded_checks=excluded)


def has_column_map(case) -> bool:
    """An upload's column map is JSON text whose field names depend on the
    target and whose columns on the file: no schema can say which are valid."""
    return isinstance(case.body, dict) and "column_map" in case.body


def only_retypes_a_form_value(case) -> bool:
    """In a multipart form every value arrives as text, so a negative case
    that only gives a value another JSON type (``source: 145``) may reach the
    server as valid text ("145"): no form schema can rule it out. Every other
    negative case of a form is still checked."""
    if case.media_type != "multipart/form-data":
        return False
    mutations = getattr(getattr(case.meta.phase, "data", None), "mutations", ())
    return bool(mutations) and all(mutation.keywords == ("type",) for mutation in mutations)
