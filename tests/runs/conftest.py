"""Users the runs pages are tested as: an operator (logged in with the
``client`` fixture) and a steward."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(operator=True)


@pytest.fixture
def steward(db):
    return UserFactory(steward=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
