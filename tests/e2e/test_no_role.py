"""Journey 4: a user without a role is refused everywhere."""

import pytest

from tests.e2e.conftest import log_in, make_user

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/admin/runs/importrun/",
    "/admin/runs/importrun/add/",
    "/admin/dq/violation/",
    "/admin/core/organization/",
    "/admin/ingest/externalidmap/",
]


def test_a_user_without_a_role_sees_nothing_and_is_refused_everywhere(watched_page):
    page = watched_page
    make_user("norole", None)
    log_in(page, "norole")
    assert "have permission to view or edit anything" in page.content()
    for path in PAGES:
        response = page.goto(f"{page.base_url}{path}")
        assert response.status == 403, path
    api = page.request.get(f"{page.base_url}/api/v1/targets/")
    assert api.status == 403
