"""manage.py replay_run: a new run of the same stored file with the same
recorded parameters; the same decisions on the same state, and nothing
changes when replayed onto the state the run left."""

import io
import json
import os

import django_rq
import pytest
from django.core.management import CommandError, call_command

from demo import golden
from runs import services
from runs.execution import runner
from runs.management.commands.replay_run import NO_SUCH_RUN
from runs.models import ImportRun
from tests.factories import ImportRunFactory
from tests.identity.helpers import core_state, decisions, import_text
from tests.importing import import_bytes

CP1252 = golden.GOLDEN_DIR / "08_excel_export_cp1252.csv"
HEADER = "external_id,name,country,registration_number\n"
ROWS = HEADER + "A,Acme,DE,1\nB,Beta,FR,\nB,Beta,FR,\nC,Acme GmbH,DE,1\nD,,DE,\n"


def replay_command(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("replay_run", *map(str, args), stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def summary_of(out):
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.django_db
def test_replaying_onto_the_unchanged_state_changes_nothing():
    original = import_text(ROWS)
    before = core_state()
    code, out, _ = replay_command(original.pk, "--sync", "--json")
    summary = summary_of(out)
    assert code == 0
    assert summary["status"] == "partial"
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 0, 0)
    assert (summary["skipped"], summary["quarantined"]) == (4, 1)
    assert core_state() == before
    replay = ImportRun.objects.get(pk=summary["run_id"])
    assert (replay.kind, replay.parent_run_id) == (ImportRun.Kind.REPLAY, original.pk)


@pytest.mark.django_db
def test_a_replay_makes_the_decisions_of_the_original_on_the_same_state():
    import_text(HEADER + "A,Acme,DE,1\n")
    dry = import_text(ROWS, dry_run=True)
    code, out, _ = replay_command(dry.pk, "--sync", "--json")
    assert code == 0
    replay = ImportRun.objects.get(pk=summary_of(out)["run_id"])
    assert replay.dry_run
    assert decisions(replay) == decisions(dry)
    for_real = services.run_for_real(run=dry)
    for_real = runner.run_execute(run_id=for_real.pk) or ImportRun.objects.get(pk=for_real.pk)
    assert decisions(for_real) == decisions(dry)
    assert [row[3] for row in decisions(dry)] == ["skipped", "inserted", "skipped", "resolved", ""]


@pytest.mark.django_db
def test_the_replay_reads_the_file_with_the_recorded_parameters():
    original = import_bytes(
        CP1252.read_bytes(), filename=CP1252.name, format="csv", encoding="cp1252", delimiter=";"
    )
    code, out, _ = replay_command(original.pk, "--sync", "--dry-run", "--json")
    replay = ImportRun.objects.get(pk=summary_of(out)["run_id"])
    assert code == 0 and replay.dry_run and replay.status == original.status
    params = replay.ingest_params_json
    for key in (
        "target",
        "source",
        "format",
        "encoding",
        "delimiter",
        "file_sha256",
        "ruleset_version",
        "survivorship_policy_version",
        "code_version",
    ):
        assert params[key] == original.ingest_params_json[key], key
    assert params["replay_of"] == original.pk
    assert params["detected"]["encoding"] == "cp1252"


@pytest.mark.django_db
def test_usage_errors_exit_2_and_a_failed_replay_exits_1():
    code, _, err = replay_command(999)
    assert code == 2 and NO_SUCH_RUN.format(run_id=999) in err
    no_file = ImportRunFactory()
    code, _, err = replay_command(no_file.pk, "--sync")
    assert code == 2 and services.NO_FILE_TO_REPLAY.format(run_id=no_file.pk) in err

    original = import_text(ROWS)
    os.remove(original.file.path)
    code, out, err = replay_command(original.pk, "--sync")
    assert code == 1 and "missing" in err
    code, out, err = replay_command(original.pk, "--sync", "--json")
    assert code == 1 and summary_of(out)["status"] == "failed" and "missing" in err


@pytest.mark.django_db
def test_the_text_summary_without_json():
    original = import_text(ROWS)
    code, out, _ = replay_command(original.pk, "--sync")
    assert code == 0 and "4 skipped" in out and "1 quarantined" in out


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_without_sync_the_replay_is_enqueued_for_a_worker():
    queue = django_rq.get_queue("imports")
    queue.empty()
    original = import_text(ROWS)
    code, out, _ = replay_command(original.pk, "--json")
    summary = summary_of(out)
    assert code == 0 and summary["status"] == "queued"
    assert queue.count == 1
    django_rq.get_worker("imports").work(burst=True)
    replay = ImportRun.objects.get(pk=summary["run_id"])
    assert (replay.status, replay.skipped, replay.inserted) == ("partial", 4, 0)
    queue.empty()


@pytest.mark.django_db
def test_the_cli_records_what_a_deterministic_replay_needs(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(ROWS)
    call_command(
        "import_file",
        str(path),
        "--target",
        "organization",
        "--source",
        "crm",
        "--sync",
        "--json",
        "--encoding",
        "utf-8",
        "--delimiter",
        ",",
        "--format",
        "csv",
        stdout=io.StringIO(),
    )
    run = ImportRun.objects.get()
    params = run.ingest_params_json
    assert {
        key: params[key] for key in ("target", "source", "format", "encoding", "delimiter")
    } == {
        "target": "organization",
        "source": "crm",
        "format": "csv",
        "encoding": "utf-8",
        "delimiter": ",",
    }
    assert params["file_sha256"] == run.file_sha256 and len(run.file_sha256) == 64
    for key in ("ruleset_version", "survivorship_policy_version", "code_version"):
        assert params[key], key
