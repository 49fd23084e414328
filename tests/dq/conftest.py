"""Shared objects for the DQ tests: users in each role and runs with violations."""

import contextlib

import django_rq
import pytest
from django.test import Client
from rq import SimpleWorker

from tests.factories import UserFactory
from tests.importing import import_golden


@pytest.fixture
def steward(db):
    return UserFactory(steward=True)


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


@pytest.fixture
def operator(db):
    return UserFactory(operator=True)


@pytest.fixture
def nobody(db):
    return UserFactory(viewer=True)


@pytest.fixture
def rules_run(db):
    """The rule-codes file: ten open violations, rows 3..14."""
    import_golden("01_organizations_clean.csv")
    return import_golden("02_organizations_rules.csv")


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
