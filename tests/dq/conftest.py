"""Shared objects for the DQ tests: a steward's own client, a user without
a role, and runs with violations."""

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.importing import import_golden


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


@pytest.fixture
def nobody(db):
    return UserFactory(viewer=True)


@pytest.fixture
def rules_run(db):
    """The rule-codes file: ten open violations, rows 3..14."""
    import_golden("01_organizations_clean.csv")
    return import_golden("02_organizations_rules.csv")
