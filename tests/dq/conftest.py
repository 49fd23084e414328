"""Shared objects for the DQ tests: users in each role and runs with violations."""

import contextlib

import django_rq
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rq import SimpleWorker

from common.roles import OPERATORS, STEWARDS
from demo import golden
from dq.models import Violation


def import_step(file: str, *, dry_run: bool = False):
    """Import one golden file (as its manifest step says) in this process."""
    step = next(
        step
        for step in golden.manifest()["steps"]
        if step["file"] == file and step.get("dry_run", False) == dry_run
    )
    return golden.golden_import_step(step)


def make_user(username: str, role: str | None, *, staff: bool = True) -> User:
    user = User.objects.create_user(username, password="pw-" + username, is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def steward(db):
    return make_user("steward", STEWARDS)


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


@pytest.fixture
def operator(db):
    return make_user("operator", OPERATORS)


@pytest.fixture
def nobody(db):
    return make_user("nobody", None)


@pytest.fixture
def rules_run(db):
    """The rule-codes file: ten open violations, rows 3..14."""
    import_step("01_organizations_clean.csv")
    return import_step("02_organizations_rules.csv")


def violation_at(run, row_number: int) -> Violation:
    return Violation.objects.get(run=run, row_number=row_number)


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
