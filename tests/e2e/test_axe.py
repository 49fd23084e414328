"""Issue 19: axe-core (bundled by axe-playwright-python, so it runs offline)
on the main admin pages at 1280×800: inbox, editor, remediation dashboard,
runs list. Serious and critical violations fail; lesser ones are Django
admin's own and are left to it."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from common.roles import STEWARDS
from dq import services
from dq.models import Violation
from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.importing import import_golden

pytestmark = pytest.mark.django_db(transaction=True)

BLOCKING = {"serious", "critical"}


@pytest.fixture
def data(transactional_db):
    import_golden("01_organizations_clean.csv")
    run = import_golden("02_organizations_rules.csv")
    fixed = run.violations.get(row_number=4)
    services.violation_edit(violation=fixed, payload={**fixed.payload, "email": ""}, actor=None)
    services.violations_requeue(violations=Violation.objects.filter(pk=fixed.pk), actor=None)
    return run


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} — "
        + "; ".join(node["target"][0] for node in rule["nodes"][:3])
        for rule in results.response["violations"]
        if rule["impact"] in BLOCKING
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/dq/violation/",
        "editor",
        "/admin/imports/remediation/",
        "/admin/runs/importrun/",
    ],
)
def test_main_pages_have_no_serious_accessibility_violations(watched_page, data, path):
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    user = UserFactory(
        username="stella", role=STEWARDS, is_superuser=path.startswith("/admin/runs")
    )
    assert user.pk
    log_in(page, "stella")
    if path == "editor":
        violation = data.violations.get(row_number=13)  # several errors: the busiest editor
        path = f"/admin/dq/violation/{violation.pk}/change/"
    page.goto(f"{page.base_url}{path}")
    page.wait_for_load_state("networkidle")
    found = blocking_violations(page)
    assert not found, "\n".join(found)
