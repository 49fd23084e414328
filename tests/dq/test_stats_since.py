"""``?since=`` on the stats endpoint: odd but valid ISO values (ancient
years, extreme offsets) answer 200, unreadable ones 400; never a 500 (found
by schemathesis on PostgreSQL)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "since, status",
    [
        ("0095-09-11T23:58:03-16:53", 200),
        ("0001-01-01T00:00:00+23:59", 400),
        ("9999-12-31T23:59:59-23:59", 400),
        ("7d", 200),
        ("2026-01-31", 200),
        ("yesterday", 400),
    ],
)
def test_since_is_read_or_refused_never_a_server_error(since, status):
    client = APIClient()
    client.force_authenticate(UserFactory(admin=True))
    response = client.get("/api/v1/remediation/stats/", {"since": since})
    assert response.status_code == status, response.content
