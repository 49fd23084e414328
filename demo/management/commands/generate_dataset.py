import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import datagen


class Command(BaseCommand):
    help = "Write a deterministic, realistic file of records (for benchmarks, load tests, demos)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target", choices=["organization", "contact"], default="organization")
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--invalid-rate", type=float, default=0.02)
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--out", required=True, help="file path, or - for standard output")
        parser.add_argument(
            "--changed-rate",
            type=float,
            default=0.0,
            help="organization: change this fraction of rows (same seed: the rest stay identical)",
        )
        parser.add_argument("--change-seed", type=int, default=1)
        parser.add_argument(
            "--organizations",
            type=int,
            default=None,
            help="contact: how many organizations (ORG-0000001…) the contacts may reference",
        )

    def handle(self, *args, **options) -> None:
        if options["rows"] < 0 or not 0 <= options["invalid_rate"] <= 1:
            raise CommandError(
                "--rows must be >= 0 and --invalid-rate between 0 and 1", returncode=2
            )
        started = time.perf_counter()
        out = (
            sys.stdout
            if options["out"] == "-"
            else open(options["out"], "w", encoding="utf-8", newline="")
        )
        try:
            if options["target"] == "organization":
                summary = datagen.generate_organizations(
                    out,
                    rows=options["rows"],
                    seed=options["seed"],
                    invalid_rate=options["invalid_rate"],
                    format=options["format"],
                    changed_rate=options["changed_rate"],
                    change_seed=options["change_seed"],
                )
            else:
                summary = datagen.generate_contacts(
                    out,
                    rows=options["rows"],
                    seed=options["seed"],
                    organizations=options["organizations"] or max(1, options["rows"] // 5),
                    invalid_rate=options["invalid_rate"],
                    format=options["format"],
                )
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(
            f"Wrote {summary.rows} {options['target']} rows ({summary.invalid_rows} invalid) "
            f"to {options['out']} in {time.perf_counter() - started:.1f}s"
        )
