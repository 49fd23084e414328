import contextlib
import os
import shutil

import django_rq
import pytest
from rq import SimpleWorker

from tests.factories import UserFactory

# Browser tests: Playwright (pytest-playwright's `page` fixture) drives Debian's
# chromium. Its sync API runs an event loop in the test's thread; the tests
# still talk to the database synchronously, which is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
ON_REDIS = bool(os.environ.get("REDIS_URL"))


# Users in each role, for any test folder: an operator (``operator_client``
# logs in with the ``client`` fixture) and a steward.
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


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test stores its files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings):
    """The tests run with DEBUG off, where settings serve the hashed files
    `collectstatic` makes (whitenoise's manifest storage): pages render with
    Django's plain storage instead, as in development.
    tests/ops/test_serve.py runs the production setup for real."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _role_groups(request):
    """Transactional tests (live server, real workers) start from a flushed
    database: give them back the role groups the data migration made. (The
    flush's post_migrate makes content types and permissions again; pytest-
    django runs these tests after all others, so no other test sees the
    flushed database. No test uses serialized_rollback: restoring its
    snapshot after a flush collides with the content types post_migrate
    made again, under other ids.)"""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (
        marker.kwargs.get("transaction") or "transaction" in marker.args
    )
    if (
        transactional
        or "live_server" in request.fixturenames
        or "transactional_db" in request.fixturenames
    ):
        request.getfixturevalue("transactional_db")
        from common.roles import ensure_role_groups

        ensure_role_groups()


@pytest.fixture
def empty_imports_queue():
    """For tests with real workers: the imports queue starts and ends empty."""
    import django_rq

    queue = django_rq.get_queue("imports")
    queue.empty()
    yield queue
    queue.empty()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks, settings):
    """A context manager that runs the on-commit callbacks at its end (the
    test's transaction never commits) and so enqueues the runs; with Redis,
    an in-process RQ worker then drains the imports queue (in-process, so
    it sees this test's uncommitted rows). django-rq's default commit mode
    would defer the enqueue once more while the test's atomic block is
    open; run_enqueue already waits for the commit, so "auto" is meant."""
    settings.RQ = {**settings.RQ, "COMMIT_MODE": "auto"}
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_queue("imports").empty()

    @contextlib.contextmanager
    def run_jobs():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        if not settings.IMPORTER_SYNC_JOBS:
            django_rq.get_worker("imports", worker_class=SimpleWorker).work(burst=True)

    return run_jobs


@pytest.fixture
def requeue(on_commit):
    """violations_requeue with its enqueue run; without Redis the job runs in-process."""
    from dq import services

    def call(violations, actor=None):
        with on_commit():
            return services.violations_requeue(violations=violations, actor=actor)

    return call


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    }


def pytest_collection_modifyitems(config, items):
    """Mark tests that need a real service, and skip them when it is absent,
    except under CI (IMPORTER_REQUIRE_SERVICES=1), where a skip is a failure."""
    require = os.environ.get("IMPORTER_REQUIRE_SERVICES") == "1"
    for item in items:
        if "page" in getattr(item, "fixturenames", ()) and not os.path.exists(CHROMIUM):
            if require:
                raise pytest.UsageError(
                    f"{item.nodeid} needs chromium at {CHROMIUM}, and CI requires it"
                )
            item.add_marker(pytest.mark.skip(reason=f"needs chromium at {CHROMIUM}"))
        for marker, available, variable in (
            ("postgres", ON_POSTGRES, "DATABASE_URL=postgres://…"),
            ("redis", ON_REDIS, "REDIS_URL"),
        ):
            if item.get_closest_marker(marker) and not available:
                if require:
                    raise pytest.UsageError(f"{item.nodeid} needs {variable}, and CI requires it")
                item.add_marker(pytest.mark.skip(reason=f"needs {variable}"))
