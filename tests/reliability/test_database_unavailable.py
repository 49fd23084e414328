"""The web side while PostgreSQL cannot be reached: 503 with Retry-After
(JSON under /api/), not a 500; the next request after it is back works."""

import pytest
from django.db import connection

from tests.factories import token_client

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def unreachable(request):
    """Send one request while the database's port refuses connections."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        return request()
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def test_the_api_and_the_admin_answer_503_while_the_database_is_unreachable(admin_client):
    client = token_client("operator")
    response = unreachable(lambda: client.get("/api/v1/runs/"))
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; try again in a moment."}
    assert response["Retry-After"] == "10"

    response = unreachable(lambda: admin_client.get("/admin/runs/importrun/"))
    assert (response.status_code, response["Retry-After"]) == (503, "10")

    assert client.get("/api/v1/runs/").status_code == 200  # back
