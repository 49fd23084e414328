"""Browser tests: Playwright drives Debian's chromium against a live server.

Every page a journey opens is watched: a console error or a 5xx answer fails
the test. Screenshots land in docs/screenshots/ when IMPORTER_SCREENSHOTS=1.
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "e2e-pass-123"


@pytest.fixture
def watched_page(page, live_server):
    """A page whose console errors and 5xx answers fail the test."""
    problems: list[str] = []

    def on_console(msg):
        # A refused page (403) is logged by the browser as a failed load;
        # that is an expected answer, not a script error.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda response: (
            response.status >= 500 and problems.append(f"{response.status} {response.url}")
        ),
    )
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    yield page
    assert not problems, problems


def make_user(username: str, role: str | None, *, superuser: bool = False) -> User:
    user = User.objects.create_user(
        username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def log_in(page, username: str) -> None:
    page.goto(f"{page.base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> None:
    if os.environ.get("IMPORTER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def run_jobs(settings):
    """Run the jobs the journey enqueued, in both modes: without REDIS_URL
    they already ran in-process at enqueue time; with it they wait on the
    real Redis queue, and an in-process burst worker drains it (in this
    process, so it reaches the live server's test database, SQLite too)."""
    if settings.IMPORTER_SYNC_JOBS:
        yield lambda: None
        return
    import django_rq
    from rq import SimpleWorker

    queue = django_rq.get_queue("imports")
    queue.empty()

    def drain() -> None:
        django_rq.get_worker("imports", worker_class=SimpleWorker).work(burst=True)

    yield drain
    queue.empty()


UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((el) => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button' && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map((el) => el.outerHTML.slice(0, 160))"""


def assert_inputs_labelled(page) -> None:
    """Every visible input on the page has a label a screen reader can say."""
    assert page.evaluate(UNLABELLED_JS) == [], page.url
