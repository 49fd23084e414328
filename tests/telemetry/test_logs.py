"""JSON log lines: one per run state change, and no row values in logs or in
what RQ keeps about a job."""

import json
import logging
import re
import sys

import django_rq
import pytest
from rq.job import JobStatus

from demo import golden
from importer_project.logging import JsonFormatter
from runs import services
from runs.execution import partitions as runner
from runs.models import ImportRun

SECRET = "info@northwind.example"
CLEAN = golden.manifest()["steps"][0]


def format_record(exc_info) -> dict:
    record = logging.LogRecord(
        "importer.test", logging.ERROR, __file__, 1, "run %s crashed", (7,), exc_info
    )
    return json.loads(JsonFormatter().format(record))


def test_a_line_is_one_json_object_with_the_extra_fields():
    record = logging.LogRecord(
        "importer.runs", logging.INFO, __file__, 1, "run %s %s", (7, "queued"), None
    )
    record.run_id = 7
    record.dry_run = False
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["msg"] == "run 7 queued"
    assert (parsed["level"], parsed["logger"], parsed["run_id"], parsed["dry_run"]) == (
        "INFO",
        "importer.runs",
        7,
        False,
    )
    assert list(parsed)[:4] == ["ts", "level", "logger", "msg"]  # as README "Logs" shows
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", parsed["ts"])


def test_an_exception_is_logged_by_type_and_stack_without_its_message():
    try:
        raise ValueError(f"cannot parse {SECRET!r}")
    except ValueError:
        exc_info = sys.exc_info()
    parsed = format_record(exc_info)
    assert parsed["exc_type"] == "builtins.ValueError"
    assert any("test_an_exception_is_logged" in frame for frame in parsed["stack"])
    assert SECRET not in json.dumps(parsed)


def test_an_exception_passed_as_an_extra_is_logged_by_type_only():
    """python-json-logger would write "ValueError: <message>"; the message may quote a row."""
    record = logging.LogRecord("importer.test", logging.WARNING, __file__, 1, "skipped", (), None)
    record.error = ValueError(f"cannot parse {SECRET!r}")
    line = JsonFormatter().format(record)
    assert json.loads(line)["error"] == "builtins.ValueError"
    assert SECRET not in line


@pytest.mark.django_db(transaction=True)
def test_one_line_per_state_change_with_counts_and_duration(caplog, settings):
    settings.IMPORTER_SYNC_JOBS = True
    caplog.set_level(logging.INFO, logger="importer.runs")
    run = golden.golden_run_create(CLEAN)
    services.run_enqueue(run=run)
    lines = [
        r
        for r in caplog.records
        if r.name == "importer.runs" and getattr(r, "run_id", None) == run.pk
    ]
    assert [r.status for r in lines] == ["queued", "running", "succeeded"]
    finished = lines[-1]
    assert (finished.target, finished.source, finished.kind, finished.dry_run) == (
        "organization",
        "crm",
        "upload",
        False,
    )
    assert (finished.rows_total, finished.inserted, finished.quarantined) == (5, 5, 0)
    assert finished.duration_s >= 0 and finished.end_to_end_s >= finished.duration_s
    assert lines[1].queued_s >= 0
    assert lines[0].job_id.startswith(f"import-run-{run.pk}-")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_crash_quoting_row_values_reaches_neither_rq_nor_the_log(monkeypatch, tmp_path):
    """The job catches the crash and marks the run failed with the exception's
    type only; RQ sees a job that finished, so it stores no exception text."""

    def crash(run, part, **options):
        raise ValueError(f"could not write {SECRET}")

    monkeypatch.setattr(runner, "import_partition", crash)
    log_file = tmp_path / "runner.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(JsonFormatter())
    runner_logger = logging.getLogger("runs.execution.runner")
    runner_logger.addHandler(handler)
    queue = django_rq.get_queue("imports")
    queue.empty()
    try:
        run = golden.golden_run_create(CLEAN)
        services.run_enqueue(run=run)
        run.refresh_from_db()
        job = queue.fetch_job(run.job_id)
        django_rq.get_worker("imports").work(
            burst=True
        )  # the horse is forked: it inherits the patch
    finally:
        runner_logger.removeHandler(handler)
        handler.close()
        queue.empty()

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "ValueError" in run.error_message and SECRET not in run.error_message
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.exc_info is None
    assert job.id not in queue.failed_job_registry.get_job_ids()  # other tests may leave theirs
    logged = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["exc_type"] for line in logged] == ["builtins.ValueError"]
    assert SECRET not in log_file.read_text()
