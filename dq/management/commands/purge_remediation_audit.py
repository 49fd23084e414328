"""manage.py purge_remediation_audit [--older-than DAYS] [--dry-run]"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dq import services
from ingest.errors import UsageError


class Command(BaseCommand):
    help = (
        "Scrub payload values (before/after) from remediation audit rows older than the retention "
        "(DQ_AUDIT_RETENTION_DAYS, default 90); who, when, action and outcome are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Days to keep payloads (default: DQ_AUDIT_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the rows that would be scrubbed."
        )

    def handle(self, *args, older_than: int | None, dry_run: bool, **options) -> None:
        days = settings.DQ_AUDIT_RETENTION_DAYS if older_than is None else older_than
        try:
            count = services.audit_purge_payloads(older_than_days=days, dry_run=dry_run)
        except UsageError as exc:
            raise CommandError(exc.message, returncode=2) from None
        verb = "Would scrub" if dry_run else "Scrubbed"
        self.stdout.write(f"{verb} payloads from {count} audit row(s) older than {days} days.")
