"""manage.py purge_personal_data [--dry-run] [--json] [--uploads-days N]
[--results-days N] [--payloads-days N] [--audit-days N]

Removes personal data kept past its retention, for cron: runs' uploaded
files and results files (runs.retention), uploads staged for column
matching and never imported (runs.staging), the payload values of resolved,
ignored and dry-run violations and of remediation audit rows (dq.services).
Idempotent: a second run removes nothing more. Exit 0 when done, 1 when the
storage refused to delete a file (the rest was still done), 2 for usage errors.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from dq import services
from ingest.errors import UsageError
from runs import retention, staging

EXIT_FAILED, EXIT_USAGE = 1, 2
DELETE_FAILED = "The storage refused to delete {count} file(s); they are kept and listed in the log. Run again once fixed."


class Command(BaseCommand):
    help = (
        "Delete uploaded files and results files of runs finished longer ago than "
        "IMPORTER_RETAIN_UPLOADS_DAYS / IMPORTER_RETAIN_RESULTS_DAYS, and mask the payload values of "
        "violations resolved or ignored (or made by a dry run) longer ago than "
        "IMPORTER_RETAIN_RESOLVED_PAYLOADS_DAYS and of audit rows older than DQ_AUDIT_RETENTION_DAYS "
        "(all 90 days by default), and uploads staged for column matching older than "
        "IMPORTER_STAGED_UPLOAD_SECONDS. Runs and violations stay. Safe to run from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only report what would be removed."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON (the last stdout line)."
        )
        for name, setting in (
            ("uploads", "IMPORTER_RETAIN_UPLOADS_DAYS"),
            ("results", "IMPORTER_RETAIN_RESULTS_DAYS"),
            ("payloads", "IMPORTER_RETAIN_RESOLVED_PAYLOADS_DAYS"),
            ("audit", "DQ_AUDIT_RETENTION_DAYS"),
        ):
            parser.add_argument(
                f"--{name}-days",
                type=int,
                metavar="DAYS",
                default=None,
                help=f"Days to keep (default: {setting}).",
            )

    def handle(self, *args: Any, dry_run: bool, json: bool, **options: Any) -> None:
        days = {
            "uploads": _days(options["uploads_days"], settings.IMPORTER_RETAIN_UPLOADS_DAYS),
            "results": _days(options["results_days"], settings.IMPORTER_RETAIN_RESULTS_DAYS),
            "payloads": _days(
                options["payloads_days"], settings.IMPORTER_RETAIN_RESOLVED_PAYLOADS_DAYS
            ),
            "audit": _days(options["audit_days"], settings.DQ_AUDIT_RETENTION_DAYS),
        }
        now = timezone.now()
        try:
            for _kind, value in days.items():  # every usage error before anything is removed
                retention.retention_cutoff(days=value, now=now)
            files = [
                retention.run_files_purge(
                    kind=kind, older_than_days=days[kind], dry_run=dry_run, now=now
                )
                for kind in (retention.UPLOADS, retention.RESULTS)
            ]
            payloads = services.violations_purge_payloads(
                older_than_days=days["payloads"], dry_run=dry_run, now=now
            )
            audits = services.audit_purge_payloads(
                older_than_days=days["audit"], dry_run=dry_run, now=now
            )
            staged = staging.staged_uploads_purge(now=now, dry_run=dry_run)
        except UsageError as exc:
            raise CommandError(exc.message, returncode=EXIT_USAGE) from None
        report = {
            "dry_run": dry_run,
            **{
                purged.kind: {
                    "days": purged.days,
                    "files": purged.files,
                    "bytes": purged.bytes,
                    "runs": purged.runs,
                    "kept_shared": purged.kept,
                    "failed": purged.failed,
                }
                for purged in files
            },
            "payloads": {"days": days["payloads"], "violations": payloads},
            "audit": {"days": days["audit"], "rows": audits},
            "staged": {"seconds": settings.IMPORTER_STAGED_UPLOAD_SECONDS, "files": staged},
        }
        self.stdout.write(_dumps(report) if json else _text(report))
        failed = sum(purged.failed for purged in files)
        if failed:
            self.stderr.write(DELETE_FAILED.format(count=failed))
            raise SystemExit(EXIT_FAILED)


def _days(given: int | None, default: int) -> int:
    return default if given is None else given


def _dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True)


def _files_line(kind: str, numbers: dict[str, Any]) -> str:
    line = (
        f"  {kind} files (older than {numbers['days']} days): {numbers['files']} file(s), "
        f"{filesizeformat(numbers['bytes'])} ({numbers['bytes']:,} bytes), from {numbers['runs']} run(s)"
    )
    if numbers["kept_shared"]:
        line += f"; {numbers['kept_shared']} kept (shared with a queued, running or recent run)"
    if numbers["failed"]:
        line += f"; {numbers['failed']} could not be deleted"
    return line


def _text(report: dict[str, Any]) -> str:
    head = "Would remove (dry run, nothing changed):" if report["dry_run"] else "Removed:"
    payloads, audit, staged = report["payloads"], report["audit"], report["staged"]
    return "\n".join(
        [
            head,
            _files_line("upload", report["uploads"]),
            _files_line("results", report["results"]),
            f"  violation payloads (resolved, ignored or dry run, older than {payloads['days']} days): "
            f"{payloads['violations']} violation(s) masked",
            f"  audit payloads (older than {audit['days']} days): {audit['rows']} audit row(s) scrubbed",
            f"  staged uploads (columns never matched, older than {staged['seconds']} s): "
            f"{staged['files']} file(s)",
        ]
    )
