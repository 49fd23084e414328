"""Browser tests: Playwright drives Debian's chromium against a live server.

Every page a journey opens is watched: a console error or a 5xx answer fails
the test. Helpers for the journeys are in browser.py; users come from
tests/factories.py.
"""

import pytest


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
