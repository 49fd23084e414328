"""Property-based API tests: schemathesis generates requests for every
operation in the live OpenAPI schema (whatever app added it) and checks the
answers against the schema, as a superuser with a token. Zero failures: no
500, every status, header and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from importer_project.wsgi import application
from tests.api.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

# Bounded: a few dozen examples per operation keeps the whole run well under a minute.
EXAMPLES = 20


@pytest.fixture
def token_header(db) -> dict[str, str]:
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
    case.call_and_validate(headers=token_header)
