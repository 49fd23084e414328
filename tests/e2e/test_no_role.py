"""Journey 4: a user without a role is refused everywhere."""

import pytest

from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.importing import import_golden

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
    UserFactory(username="norole")
    log_in(page, "norole")
    assert "have permission to view or edit anything" in page.content()
    for path in PAGES:
        response = page.goto(f"{page.base_url}{path}")
        assert response.status == 403, path
    api = page.request.get(f"{page.base_url}/api/v1/targets/")
    assert api.status == 403


def test_a_user_without_a_role_cannot_act_on_a_run_or_a_violation(watched_page):
    """Not only hidden: the buttons' own URLs refuse a direct POST (with a
    valid CSRF token, so the refusal is the permission check's)."""
    from runs.models import ImportRun

    run = import_golden("03_organizations_dry_run.csv", dry_run=True)
    violation = run.violations.get()
    page = watched_page
    UserFactory(username="norole")
    log_in(page, "norole")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token, "Referer": page.base_url + "/admin/"}
    for path, data in [
        (f"/admin/runs/importrun/{run.pk}/run-for-real/", {}),
        (f"/admin/runs/importrun/{run.pk}/replay/", {}),
        (f"/admin/dq/violation/{violation.pk}/change/", {"_requeue": "1", "field__name": "Fixed"}),
        ("/api/v1/targets/organization/validate/", {"name": "x"}),
    ]:
        response = page.request.post(f"{page.base_url}{path}", form=data, headers=headers)
        assert response.status == 403, path
        assert "CSRF" not in response.text(), path
    assert ImportRun.objects.count() == 1
    violation.refresh_from_db()
    assert "Fixed" not in str(violation.payload)
