"""Import a file with django-import-export (the peer) and print, as JSON, the
timed section (loading the file and importing it) and the row totals."""

import json
import time

import tablib
from django.core.management.base import BaseCommand, CommandParser

from bench.peer.resources import OrganizationResource


class Command(BaseCommand):
    help = "Benchmark only: import an organization CSV with django-import-export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        with open(options["path"], encoding="utf-8-sig", newline="") as handle:
            dataset = tablib.Dataset().load(handle.read(), format="csv")
        result = OrganizationResource().import_data(
            dataset, dry_run=options["dry_run"], raise_errors=False, use_transactions=True
        )
        duration = time.perf_counter() - started
        totals = dict(result.totals)
        self.stdout.write(
            json.dumps(
                {
                    "duration_s": round(duration, 3),
                    "rows_total": len(dataset),
                    "totals": totals,
                    "invalid_rows": len(result.invalid_rows),
                    "errors": len(result.row_errors()),
                }
            )
        )
