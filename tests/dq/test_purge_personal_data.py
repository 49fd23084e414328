"""manage.py purge_personal_data: one cron line for every kind of personal
data past its retention; reports counts per kind and bytes, changes nothing
with --dry-run, removes nothing more the second time."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from dq import services
from dq.models import RemediationAudit, Violation
from runs.models import ImportRun
from runs.retention import BAD_RETENTION, RETENTION_TOO_LONG
from runs.staging import STAGED_DIR
from tests.importing import ORGS_CSV, import_bytes

pytestmark = pytest.mark.django_db


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def old_data(steward):
    """A dry run and a standard run finished 100 days ago; one of its rows
    ignored 100 days ago (with its audit row)."""
    dry, real = import_bytes(dry_run=True), import_bytes()
    ImportRun.objects.filter(pk__in=[dry.pk, real.pk]).update(
        created_at=ago(100), finished_at=ago(100)
    )
    row = Violation.objects.filter(run=real, dry_run=False).order_by("row_number").first()
    services.violations_ignore(
        violations=Violation.objects.filter(pk=row.pk), reason="test", actor=steward
    )
    Violation.objects.filter(pk=row.pk).update(updated_at=ago(100))
    Violation.objects.filter(run=dry).update(created_at=ago(100))
    RemediationAudit.objects.create(
        violation=row, action="edit", before={"name": "x"}, after={"name": "y"}
    )
    RemediationAudit.objects.update(created_at=ago(100))
    dry.refresh_from_db()
    real.refresh_from_db()
    return dry, real


def purge(*args, capsys) -> str:
    call_command("purge_personal_data", *args)
    return capsys.readouterr().out


def test_a_dry_run_reports_without_removing(old_data, capsys):
    dry, real = old_data
    uploads, results = 2 * len(ORGS_CSV), dry.results_file.size + real.results_file.size
    out = purge("--dry-run", capsys=capsys)
    assert out.splitlines() == [
        "Would remove (dry run, nothing changed):",
        f"  upload files (older than 90 days): 2 file(s), {uploads}\xa0bytes ({uploads:,} bytes), from 2 run(s)",
        f"  results files (older than 90 days): 2 file(s), {results}\xa0bytes ({results:,} bytes), from 2 run(s)",
        "  violation payloads (resolved, ignored or dry run, older than 90 days): 3 violation(s) masked",
        "  audit payloads (older than 90 days): 1 audit row(s) scrubbed",
        "  staged uploads (columns never matched, older than 3600 s): 0 file(s)",
    ]
    for run in (dry, real):
        run.refresh_from_db()
        assert run.file.storage.exists(run.file.name) and run.results_file.storage.exists(
            run.results_file.name
        )
    assert not Violation.objects.filter(payload_purged_at__isnull=False).exists()
    assert RemediationAudit.objects.filter(after__isnull=False).exists()


def test_the_purge_removes_each_kind_once(old_data, capsys):
    dry, real = old_data
    names = [dry.file.name, real.file.name, dry.results_file.name, real.results_file.name]
    report = json.loads(purge("--json", capsys=capsys).splitlines()[-1])
    assert report["dry_run"] is False
    assert {k: report["uploads"][k] for k in ("files", "runs", "bytes", "days")} == {
        "files": 2,
        "runs": 2,
        "bytes": 2 * len(ORGS_CSV),
        "days": 90,
    }
    assert (report["results"]["files"], report["payloads"], report["audit"]) == (
        2,
        {"days": 90, "violations": 3},
        {"days": 90, "rows": 1},
    )
    storage = dry.file.storage
    assert not any(storage.exists(name) for name in names)
    assert Violation.objects.filter(payload_purged_at__isnull=False).count() == 3
    assert not RemediationAudit.objects.filter(after__isnull=False).exists()

    out = purge(capsys=capsys)  # cron, the next night
    assert out.splitlines()[0] == "Removed:"
    assert "0 file(s), 0\xa0bytes (0 bytes), from 0 run(s)" in out.splitlines()[1]
    assert "0 violation(s) masked" in out and "0 audit row(s) scrubbed" in out


def test_the_retention_comes_from_settings_and_options(old_data, capsys, settings):
    settings.IMPORTER_RETAIN_UPLOADS_DAYS = 200
    report = json.loads(
        purge(
            "--json",
            "--results-days",
            "365",
            "--payloads-days",
            "365",
            "--audit-days",
            "365",
            capsys=capsys,
        )
    )
    assert (report["uploads"]["days"], report["uploads"]["files"], report["results"]["files"]) == (
        200,
        0,
        0,
    )
    assert (report["payloads"]["violations"], report["audit"]["rows"]) == (0, 0)


def test_recent_data_is_left_alone(capsys):
    run = import_bytes(dry_run=True)
    report = json.loads(purge("--json", capsys=capsys))
    assert sum(report[kind]["files"] for kind in ("uploads", "results")) == 0
    run.refresh_from_db()
    assert run.file and run.results_file


def staged(name: str, *, seconds_ago: float) -> str:
    """A file staged for column matching (runs.staging), last written
    ``seconds_ago``."""
    name = default_storage.save(f"{STAGED_DIR}/{name}", ContentFile(ORGS_CSV))
    then = (timezone.now() - dt.timedelta(seconds=seconds_ago)).timestamp()
    os.utime(default_storage.path(name), (then, then))
    return name


def test_uploads_staged_for_matching_and_never_imported_are_purged(capsys):
    old, recent = staged("old.csv", seconds_ago=7200), staged("recent.csv", seconds_ago=60)
    out = purge("--dry-run", capsys=capsys)
    assert "  staged uploads (columns never matched, older than 3600 s): 1 file(s)" in out
    assert default_storage.exists(old) and default_storage.exists(recent)

    report = json.loads(purge("--json", capsys=capsys))
    assert report["staged"] == {"seconds": 3600, "files": 1}
    assert not default_storage.exists(old) and default_storage.exists(recent)
    assert json.loads(purge("--json", capsys=capsys))["staged"]["files"] == 0


def test_a_negative_retention_is_a_usage_error_and_removes_nothing(old_data):
    with pytest.raises(CommandError) as error:
        call_command("purge_personal_data", "--payloads-days", "-5")
    assert error.value.returncode == 2
    assert str(error.value) == BAD_RETENTION.format(days=-5)
    dry, _real = old_data
    dry.refresh_from_db()
    assert dry.file


@pytest.mark.parametrize(
    "option", ["--uploads-days", "--results-days", "--payloads-days", "--audit-days"]
)
def test_a_retention_past_the_year_1_is_a_usage_error_and_removes_nothing(old_data, option):
    """As for purge_remediation_audit: 99999999 days is a usage error, not an OverflowError."""
    with pytest.raises(CommandError) as error:
        call_command("purge_personal_data", option, "99999999")
    assert error.value.returncode == 2
    assert str(error.value).startswith(
        RETENTION_TOO_LONG.format(days=99999999, limit=0).split("; ")[0] + "; "
    )
    dry, _real = old_data
    dry.refresh_from_db()
    assert dry.file


def test_from_the_command_line_usage_errors_exit_2_and_a_purge_exits_0(tmp_path):
    """As cron runs it: a new process (on a database of its own, with nothing to remove)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "MEDIA_ROOT": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SECRET_KEY": os.environ["SECRET_KEY"],  # settings refuse to start without one (DEBUG off)
    }
    manage = [sys.executable, str(django_settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    for args in (["--uploads-days", "-1"], ["--uploads-days", "soon"], ["--nope"]):
        done = subprocess.run(
            [*manage, "purge_personal_data", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
    ok = subprocess.run([*manage, "purge_personal_data"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("Removed:\n"), ok.stderr
