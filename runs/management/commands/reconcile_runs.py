"""manage.py reconcile_runs: resume runs whose worker died, fail those that
cannot be resumed, re-enqueue runs whose job Redis lost (runs/execution/reconcile.py)."""

import json

from django.core.management.base import BaseCommand

from runs.execution import reconcile


class Command(BaseCommand):
    help = "Resume or fail runs whose worker died; re-enqueue runs whose job was lost."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print what was done as JSON")

    def handle(self, *args, **options):
        report = reconcile.reconcile_runs()
        summary = {
            "resumed_partitions": [list(item) for item in report.resumed_partitions],
            "requeued_runs": report.requeued_runs,
            "reenqueued_jobs": report.reenqueued_jobs,
            "failed_runs": report.failed_runs,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            for key, value in summary.items():
                self.stdout.write(f"{key.replace('_', ' ')}: {value or 'none'}")
