"""Summary cards, duration percentiles (PostgreSQL's percentile_cont and the
portable sort-and-offset agree), the violations breakdown, live progress."""

import datetime

import pytest
from django.db import connection

from dq.models import Violation
from runs import selectors
from runs.display import format_duration
from runs.models import ImportRun
from tests.factories import ImportRunFactory, ViolationFactory

pytestmark = pytest.mark.django_db
S = datetime.timedelta(seconds=1)


@pytest.fixture
def durations():
    """Ten finished runs of 1..10 s, plus runs without a duration."""
    for seconds in range(1, 11):
        ImportRunFactory(finished=True, seconds=seconds)
    ImportRunFactory(status=ImportRun.Status.QUEUED)
    ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        started_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )


def test_percentiles_interpolate_like_percentile_cont(durations):
    result = selectors.run_duration_percentiles(queryset=ImportRun.objects.all())
    assert result[0.5] == 5.5 * S
    assert result[0.95] == pytest.approx(9.55 * S, abs=datetime.timedelta(microseconds=1))


def test_portable_percentiles_on_this_database(durations):
    timed = ImportRun.objects.filter(finished_at__isnull=False)
    result = selectors.percentiles_portable(timed)
    assert (result[0.5], result[0.95]) == (
        5.5 * S,
        pytest.approx(9.55 * S, abs=datetime.timedelta(microseconds=1)),
    )


@pytest.mark.postgres
def test_postgresql_percentile_cont_agrees_with_the_portable_method(durations):
    assert connection.vendor == "postgresql"
    timed = ImportRun.objects.filter(finished_at__isnull=False)
    assert selectors.percentiles_postgresql(timed) == selectors.percentiles_portable(timed)


def test_percentiles_of_nothing_are_none():
    assert selectors.run_duration_percentiles(queryset=ImportRun.objects.all()) == {
        0.5: None,
        0.95: None,
    }


def test_one_run_is_its_own_percentiles():
    ImportRunFactory(finished=True, seconds=3)
    assert selectors.run_duration_percentiles(queryset=ImportRun.objects.all()) == {
        0.5: 3 * S,
        0.95: 3 * S,
    }


def test_summary_for_a_filtered_queryset(django_assert_max_num_queries):
    kept = ImportRunFactory(
        finished=True,
        seconds=4,
        status=ImportRun.Status.PARTIAL,
        inserted=5,
        updated=2,
        quarantined=3,
    )
    dry = ImportRunFactory(finished=True, seconds=2, dry_run=True, inserted=100, quarantined=1)
    ImportRunFactory(finished=True, seconds=6, status=ImportRun.Status.FAILED)
    ImportRunFactory(target="contact", status=ImportRun.Status.SUCCEEDED, inserted=1000)
    ViolationFactory(run=kept, errors=[{"field": "name", "code": "required", "message": "x"}])
    ViolationFactory(
        run=kept,
        errors=[{"field": "name", "code": "required", "message": "x"}],
        status=Violation.Status.RESOLVED,
    )
    other = ImportRunFactory(target="contact")
    ViolationFactory(
        run=other, errors=[{"field": "email", "code": "invalid_format", "message": "x"}]
    )
    # A dry run's rows wait for nobody: not counted as open, as in the inbox.
    Violation.objects.filter(
        pk=ViolationFactory(
            run=dry, errors=[{"field": "name", "code": "required", "message": "x"}]
        ).pk
    ).update(dry_run=True)

    with django_assert_max_num_queries(7):
        summary = selectors.run_summary(queryset=ImportRun.objects.filter(target="organization"))
    by_status = {row["status"]: row["count"] for row in summary["by_status"]}
    assert summary["total"] == 3
    assert by_status == {
        "queued": 0,
        "running": 0,
        "succeeded": 1,
        "partial": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert summary["dry_runs"] == 1
    assert summary["rows_imported"] == 7  # dry runs import nothing
    assert summary["rows_quarantined"] == 4
    assert summary["duration_p50"] == 4 * S
    assert summary["open_violations"] == 1
    assert selectors.run_summary(queryset=ImportRun.objects.all())["open_violations"] == 2


def test_violation_breakdown_counts_each_error_by_code_and_field():
    run = ImportRunFactory(status=ImportRun.Status.PARTIAL)
    required_name = {"field": "name", "code": "required", "message": "x"}
    bad_country = {"field": "country", "code": "invalid_choice", "message": "x"}
    ViolationFactory(run=run, errors=[required_name, bad_country])
    ViolationFactory(run=run, errors=[required_name])
    ViolationFactory(run=run, errors=[required_name], status=Violation.Status.IGNORED)
    ViolationFactory(run=ImportRunFactory(), errors=[bad_country])  # another run's
    assert selectors.run_violation_breakdown(run=run) == [
        {"code": "required", "field": "name", "count": 3, "open": 2},
        {"code": "invalid_choice", "field": "country", "count": 1, "open": 1},
    ]


def test_progress_of_a_few_runs():
    running = ImportRunFactory(
        status=ImportRun.Status.RUNNING, rows_processed=4000, inserted=3990, quarantined=10
    )
    done = ImportRunFactory(finished=True, seconds=1, rows_total=5, inserted=5)
    rows = {row["id"]: row for row in selectors.run_progress(ids=[running.pk, done.pk, 999999])}
    assert set(rows) == {running.pk, done.pk}
    assert rows[running.pk]["rows_processed"] == 4000 and rows[running.pk]["finished"] is False
    assert rows[running.pk]["status_label"] == "Running"
    assert rows[done.pk]["finished"] is True


def test_durations_read_at_a_glance():
    assert [format_duration(seconds) for seconds in (None, 0, 0.04, 1.25, 185, 7440)] == [
        "—",
        "0.0 s",
        "40 ms",
        "1.2 s",
        "3 min 05 s",
        "2 h 04 min",
    ]
