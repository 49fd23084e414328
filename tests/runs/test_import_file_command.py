import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.models import Contact, Organization
from demo import golden
from dq.models import Violation
from ingest import errors
from ingest.models import ExternalIdMap
from runs import staging
from runs.execution import queue as run_queue
from runs.management.commands.import_file import COLUMNS_NOT_IMPORTED, RUN_FAILED
from runs.models import ImportRun

CLEAN = golden.GOLDEN_DIR / "01_organizations_clean.csv"
SUMMARY_KEYS = {
    "run_id",
    "status",
    "dry_run",
    "rows_total",
    "inserted",
    "updated",
    "unchanged",
    "skipped",
    "quarantined",
    "duration_s",
}


def run_command(*args):
    out = io.StringIO()
    err = io.StringIO()
    code = 0
    try:
        call_command("import_file", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_sync_json_prints_the_summary_last():
    code, out, _ = run_command(
        str(CLEAN), "--target", "organization", "--source", "crm", "--sync", "--json"
    )
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary) == SUMMARY_KEYS
    assert summary["status"] == "succeeded"
    assert summary["inserted"] == 5 and summary["rows_total"] == 5
    assert summary["dry_run"] is False
    assert summary["duration_s"] >= 0
    assert Organization.objects.count() == 5


@pytest.mark.django_db
def test_dry_run_writes_nothing_to_core_and_keeps_results(tmp_path):
    code, out, _ = run_command(
        str(CLEAN), "--target", "organization", "--source", "crm", "--sync", "--json", "--dry-run"
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and summary["dry_run"] is True and summary["inserted"] == 5
    assert Organization.objects.count() == 0
    assert ExternalIdMap.objects.count() == 0
    run = ImportRun.objects.get(pk=summary["run_id"])
    results = run.results_file.read().decode()
    lines = results.strip().splitlines()
    assert lines[0].startswith("row_number,external_id,outcome")
    assert len(lines) == 6 and all(",inserted," in line for line in lines[1:])
    assert "Northwind Logistics GmbH" in results


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04" + bytes(200), "not CSV, JSON Lines or a spreadsheet"),
        (b"external_id,name\nA,B\n", "missing required column(s): country"),
        (b"external_id,name,name,country\n", "more than once"),
    ],
)
def test_file_level_problems_fail_the_run_and_write_nothing(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run_command(
        str(path), "--target", "organization", "--source", "crm", "--sync", "--json"
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 1
    assert summary["status"] == "failed"
    run = ImportRun.objects.get(pk=summary["run_id"])
    assert message in run.error_message
    # With --json too, the reason is on stderr (it was only on the run).
    assert RUN_FAILED.format(run_id=run.pk, error=run.error_message) in err
    assert "Traceback" not in out + err
    assert Organization.objects.count() == 0 and Violation.objects.count() == 0


@pytest.mark.django_db
def test_over_the_size_limit_fails_without_storing(tmp_path, settings):
    settings.IMPORTER_MAX_UPLOAD_BYTES = 100
    code, out, err = run_command(
        str(CLEAN), "--target", "organization", "--source", "crm", "--sync"
    )
    assert code == 1
    run = ImportRun.objects.get()
    assert run.status == "failed" and "over the limit of 100 bytes" in run.error_message
    assert not run.file


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "nope", "--source", "crm"], "Unknown target 'nope'"),
        (["--target", "organization", "--source", "not a slug"], "must be a slug"),
        # An unknown encoding, or a codec that does not make text, made a failed run (exit 1).
        (
            ["--target", "organization", "--source", "crm", "--encoding", "nope"],
            "Unknown encoding 'nope'",
        ),
        (
            ["--target", "organization", "--source", "crm", "--encoding", "rot13"],
            "Unknown encoding 'rot13'",
        ),
        # A delimiter the reader cannot take made a failed run (exit 1) too.
        (
            ["--target", "organization", "--source", "crm", "--delimiter", "ab"],
            errors.BAD_DELIMITER.format(delimiter="ab"),
        ),
    ],
)
def test_usage_errors_exit_2(args, message):
    code, _, err = run_command(str(CLEAN), *args, "--sync")
    assert code == 2
    assert message in err
    assert ImportRun.objects.count() == 0


def test_missing_file_and_missing_options_exit_2():
    manage = Path(settings.BASE_DIR) / "manage.py"
    missing = subprocess.run(
        [
            sys.executable,
            manage,
            "import_file",
            "/no/such/file.csv",
            "--target",
            "organization",
            "--source",
            "x",
        ],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "No such file" in missing.stderr
    usage = subprocess.run(
        [sys.executable, manage, "import_file", str(CLEAN)], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "--target" in usage.stderr


@pytest.mark.django_db(transaction=True)
def test_sync_runs_every_partition_of_a_large_file_in_this_process(settings, monkeypatch, tmp_path):
    """--sync means no worker: a file big enough to be split is imported
    here, partition after partition, and finished when the command returns
    (with REDIS_URL set, the partitions used to go to the queue instead)."""
    from runs.models import RunPartition

    settings.IMPORTER_PARTITIONS = 3
    settings.IMPORTER_PARTITION_MIN_BYTES = 0

    def enqueue(*args):
        raise AssertionError("--sync enqueued a partition job")

    monkeypatch.setattr(run_queue, "partition_enqueue_job", enqueue)
    path = tmp_path / "orgs.csv"
    path.write_text(
        "external_id,name,country\n"
        + "".join(f"X-{i},Name {i},DE\n" for i in range(30))
        + "X-99,,DE\n"
    )
    code, out, _ = run_command(
        str(path), "--target", "organization", "--source", "crm", "--sync", "--json"
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    assert (summary["status"], summary["inserted"], summary["quarantined"]) == ("partial", 30, 1)
    run = ImportRun.objects.get(pk=summary["run_id"])
    assert run.partitions == 3
    assert RunPartition.objects.filter(run=run, status=RunPartition.Status.DONE).count() == 3
    assert Organization.objects.count() == 30
    assert run.results_file  # the partitions' ledgers, merged


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_sync_shows_the_rows_done_on_stderr_as_it_goes(settings, monkeypatch, tmp_path, dry_run):
    from runs.management.commands import import_file

    monkeypatch.setattr(import_file, "PROGRESS_EVERY_S", 0.0)  # a line per chunk
    settings.IMPORTER_CHUNK_SIZE = 2
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,country\n" + "".join(f"P-{i},Org {i},DE\n" for i in range(5)))
    args = [str(path), "--target", "organization", "--source", "crm", "--sync", "--json"]
    code, out, err = run_command(*args, *(["--dry-run"] if dry_run else []))
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["rows_total"] == 5
    run_id = ImportRun.objects.get().pk
    done = [line.split(" rows done")[0] for line in err.splitlines() if " rows done in " in line]
    assert done == [f"Run {run_id}: 2", f"Run {run_id}: 4", f"Run {run_id}: 5"]

    code, _, err = run_command(*args, "--source", "erp", "-v", "0")
    assert code == 0 and " rows done in " not in err


@pytest.mark.django_db
def test_the_text_summary_and_progress_say_1_row_not_1_rows(settings, monkeypatch, tmp_path):
    from runs.management.commands import import_file

    monkeypatch.setattr(import_file, "PROGRESS_EVERY_S", 0.0)  # a line per chunk
    settings.IMPORTER_CHUNK_SIZE = 1
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,country\nP-1,Org 1,DE\n")
    code, out, err = run_command(str(path), "--target", "organization", "--source", "crm", "--sync")
    run_id = ImportRun.objects.get().pk
    assert code == 0 and "): succeeded; 1 row: 1 inserted, 0 updated" in out
    assert f"Run {run_id}: 1 row done in " in err
    # "1 rows" as words: a rate such as "(71 rows/s)" holds the letters too.
    assert re.search(r"(?<![\d,.])1 rows\b", out + err) is None


@pytest.mark.django_db
def test_columns_not_imported_are_named_with_the_flag_that_reads_them(tmp_path, monkeypatch):
    """A column the reader does not take as a field was dropped in silence:
    "Account ID" (a synonym of organization_external_id) left every
    contact without its organization, and the run "succeeded"."""
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("external_id,name,country\nCF1,Acme,DE\n")
    assert run_command(str(orgs), "--target", "organization", "--source", "s", "--sync")[0] == 0
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "ID,Account ID,First Name,Last Name,Email,Notes\n"
        "P1,CF1,Ann,Lee,ann@example.com,met in May\n"
    )
    args = [str(contacts), "--target", "contact", "--source", "s", "--column", "ID=external_id"]
    code, out, err = run_command(*args, "--sync", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["status"] == "succeeded"
    flag = "--column 'Account ID=organization_external_id'"
    assert COLUMNS_NOT_IMPORTED.format(columns=f"Account ID ({flag}), Notes") in err
    assert Contact.objects.get().organization is None

    code, out, err = run_command(*args, *shlex.split(flag), "--sync")  # the flag, pasted
    assert code == 0 and "succeeded" in out
    assert COLUMNS_NOT_IMPORTED.format(columns="Notes") in err
    assert Contact.objects.get().organization.name == "Acme"

    code, _, err = run_command(*args, "--sync", "-v", "0")
    assert code == 0 and "Columns not imported" not in err

    monkeypatch.setattr(staging, "MAX_MATCH_COLUMNS", 1)  # a header of thousands of columns
    code, _, err = run_command(*args, "--sync")
    assert COLUMNS_NOT_IMPORTED.format(columns=f"Account ID ({flag}) and 1 more") in err


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_json_lines_keys_not_imported_are_named_as_columns_are(tmp_path, dry_run):
    """JSON Lines has no header: its keys are known only once its rows are
    read, after the run noted its columns; the unknown ones were never named."""
    contacts = tmp_path / "contacts.jsonl"
    contacts.write_text(
        '{"external_id": "P1", "first_name": "Ann", "last_name": "Lee", "Account ID": "CF1"}\n'
        '{"external_id": "P2", "first_name": "Bob", "last_name": "Ray", "notes": "met in May"}\n'
    )
    args = [str(contacts), "--target", "contact", "--source", "s", "--sync"]
    code, _, err = run_command(*args, *(["--dry-run"] if dry_run else []))
    flag = "--column 'Account ID=organization_external_id'"
    assert code == 0 and COLUMNS_NOT_IMPORTED.format(columns=f"Account ID ({flag}), notes") in err
    detected = ImportRun.objects.get().ingest_params_json["detected"]
    assert detected["unknown_columns"] == ["Account ID", "notes"]
    assert detected["columns"] == ["external_id", "first_name", "last_name"]


SPREADSHEETS = Path(settings.BASE_DIR) / "fixtures" / "spreadsheets"


@pytest.mark.django_db
def test_a_spreadsheet_imports_with_format_and_sheet_by_name_or_position():
    code, out, _ = run_command(
        str(SPREADSHEETS / "orgs.xls"),
        "--target",
        "organization",
        "--source",
        "crm",
        "--format",
        "xls",
        "--sync",
        "--json",
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert (code, summary["status"], summary["inserted"], summary["quarantined"]) == (
        0,
        "partial",
        2,
        2,
    )
    for sheet in ("More", "1"):
        code, out, _ = run_command(
            str(SPREADSHEETS / "orgs.ods"),
            "--target",
            "organization",
            "--source",
            f"erp{sheet}",
            "--sheet",
            sheet,
            "--sync",
            "--json",
        )
        summary = json.loads(out.strip().splitlines()[-1])
        assert (code, summary["status"], summary["rows_total"]) == (0, "succeeded", 1)
        assert ImportRun.objects.get(pk=summary["run_id"]).ingest_params_json["sheet"] == sheet


@pytest.mark.django_db
def test_an_unknown_sheet_exits_1_listing_the_sheets():
    code, out, err = run_command(
        str(SPREADSHEETS / "orgs.xlsx"),
        "--target",
        "organization",
        "--source",
        "crm",
        "--sheet",
        "Sheet2",
        "--sync",
    )
    assert code == 1
    assert (
        "has no sheet 'Sheet2'. Its sheets, by position counting from 0: 0: 'Orgs', 1: 'More'"
        in err
    )
    assert "Traceback" not in out + err


def test_the_help_says_sheet_positions_count_from_0(capsys):
    with pytest.raises(SystemExit):
        call_command("import_file", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "--format {csv,jsonl,xlsx,xls,ods}" in text and "--sheet NAME|INDEX" in text
    assert "counting from 0 (0 = the first sheet" in text
