"""The users the product target's surfaces are tested as."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(operator=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def steward(db):
    return UserFactory(steward=True)
