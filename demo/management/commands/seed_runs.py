"""Bulk-create realistic historical runs (and a few violations of the partial
ones) for demos and for measuring the dashboard at scale."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from dq.models import Violation
from ingest import registry
from ingest.models import Source
from runs.models import ImportRun

SOURCES = ["crm", "erp", "web-forms", "partner-feed", "legacy"]
STATUS_WEIGHTS = {
    ImportRun.Status.SUCCEEDED: 62,
    ImportRun.Status.PARTIAL: 22,
    ImportRun.Status.FAILED: 9,
    ImportRun.Status.CANCELLED: 4,
    ImportRun.Status.RUNNING: 2,
    ImportRun.Status.QUEUED: 1,
}
KIND_WEIGHTS = {ImportRun.Kind.UPLOAD: 85, ImportRun.Kind.REPLAY: 8, ImportRun.Kind.REMEDIATION: 7}
FAILURES = [
    "The file is missing required column(s): name.",
    "The file is empty.",
    "The file is not readable text: byte 0xff at byte offset 1032 cannot be decoded as utf-8.",
]
SAMPLE_ERRORS = [
    {
        "field": "country",
        "code": "invalid_choice",
        "message": "Not an ISO 3166-1 alpha-2 country code.",
    },
    {"field": "name", "code": "required", "message": "This field is required."},
    {"field": "email", "code": "invalid_format", "message": "Enter a valid e-mail address."},
    {"field": "employees", "code": "out_of_range", "message": "Must be 0 or more."},
    {
        "field": "organization_external_id",
        "code": "unknown_reference",
        "message": "No such organization.",
    },
]


@contextlib.contextmanager
def given_created_at() -> Iterator[None]:
    """bulk_create would stamp every run with now() (auto_now_add); history
    needs the dates we give, so switch that off for the duration."""
    field = ImportRun._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


class Command(BaseCommand):
    help = "Bulk-create N realistic historical import runs (mixed statuses, targets, sources, dry runs, durations)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="how many runs to create")
        parser.add_argument(
            "--days", type=int, default=90, help="spread the runs over this many past days"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same runs)"
        )
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--violations-per-run",
            type=int,
            default=3,
            help="violations created for each partial run (at most its quarantined rows)",
        )

    def handle(
        self,
        *args,
        count: int,
        days: int,
        seed: int,
        batch_size: int,
        violations_per_run: int,
        **options,
    ) -> None:
        if count < 0 or days < 1 or batch_size < 1 or violations_per_run < 0:
            raise CommandError(
                "--count and --violations-per-run must be ≥ 0, --days and --batch-size ≥ 1."
            )
        rng = random.Random(seed)
        sources = [
            Source.objects.get_or_create(slug=slug, defaults={"name": slug})[0] for slug in SOURCES
        ]
        targets = registry.names()
        users: list[AbstractBaseUser | None] = [*get_user_model().objects.filter(is_staff=True)]
        users = users or [None]
        now = timezone.now()
        # Oldest first, so ids grow with time as they would in real life.
        offsets = sorted((rng.random() * days * 86400 for _ in range(count)), reverse=True)
        earlier: list[int] = []
        created = 0
        for start in range(0, count, batch_size):
            runs = [
                self._run(rng, now - timedelta(seconds=offset), sources, targets, users, earlier)
                for offset in offsets[start : start + batch_size]
            ]
            with transaction.atomic(), given_created_at():
                ImportRun.objects.bulk_create(runs)
                Violation.objects.bulk_create(self._violations(rng, runs, violations_per_run))
            earlier.extend(run.pk for run in runs)
            created += len(runs)
            self.stdout.write(f"{created:,} / {count:,} runs", ending="\r")
        self.stdout.write(f"Created {created:,} runs.")

    def _run(
        self, rng: random.Random, created_at, sources, targets, users, earlier: list[int]
    ) -> ImportRun:
        recent = (timezone.now() - created_at) < timedelta(hours=1)
        statuses = [
            s
            for s in STATUS_WEIGHTS
            if recent or s not in (ImportRun.Status.RUNNING, ImportRun.Status.QUEUED)
        ]
        status = rng.choices(statuses, weights=[STATUS_WEIGHTS[s] for s in statuses])[0]
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        source = rng.choice(sources)
        target = rng.choice(targets)
        dry_run = kind == ImportRun.Kind.UPLOAD and rng.random() < 0.25
        rows = int(rng.lognormvariate(7, 1.6)) + 1  # median ~1,100 rows, long tail
        run = ImportRun(
            target=target,
            source=source,
            kind=kind,
            status=status,
            dry_run=dry_run,
            original_filename=f"{source.slug}_{target}_{created_at:%Y%m%d_%H%M}.csv",
            file_size=rows * rng.randint(90, 220),
            file_sha256=f"{rng.getrandbits(256):064x}",
            ingest_params_json={
                "target": target,
                "source": source.slug,
                "format": "csv",
                "seeded": True,
            },
            created_by=rng.choice(users) if kind == ImportRun.Kind.UPLOAD else None,
            parent_run_id=rng.choice(earlier[-5000:])
            if kind != ImportRun.Kind.UPLOAD and earlier
            else None,
            created_at=created_at,
        )
        if status == ImportRun.Status.QUEUED:
            return run
        run.started_at = created_at + timedelta(seconds=rng.uniform(0.2, 30))
        if status == ImportRun.Status.FAILED:
            run.error_message = rng.choice(FAILURES)
            run.finished_at = run.started_at + timedelta(seconds=rng.uniform(0.05, 2))
            return run
        done = (
            rows
            if status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)
            else rng.randint(0, rows)
        )
        quarantined = (
            max(1, int(done * rng.uniform(0.001, 0.08)))
            if status == ImportRun.Status.PARTIAL
            else 0
        )
        rest = done - quarantined
        run.inserted = int(rest * rng.uniform(0.1, 0.7))
        run.updated = int((rest - run.inserted) * rng.uniform(0.2, 0.6))
        run.unchanged = int((rest - run.inserted - run.updated) * rng.uniform(0, 0.3))
        run.skipped = rest - run.inserted - run.updated - run.unchanged
        run.quarantined = quarantined
        run.rows_processed = done
        if status == ImportRun.Status.RUNNING:
            run.heartbeat_at = run.started_at
            return run
        run.rows_total = done
        run.finished_at = run.started_at + timedelta(seconds=0.3 + done / rng.uniform(2000, 6000))
        return run

    def _violations(
        self, rng: random.Random, runs: list[ImportRun], per_run: int
    ) -> list[Violation]:
        violations = []
        for run in runs:
            if run.status != ImportRun.Status.PARTIAL:
                continue
            for row_number in sorted(
                rng.sample(range(2, run.rows_total + 2), min(per_run, run.quarantined))
            ):
                error = rng.choice(SAMPLE_ERRORS)
                violations.append(
                    Violation(
                        run=run,
                        target=run.target,
                        source=run.source,
                        row_number=row_number,
                        external_id=f"{run.source.slug.upper()}-{rng.randint(1, 10**6)}",
                        payload={"external_id": "…", error["field"]: ""},
                        errors=[error],
                        codes=error["code"],
                        status=rng.choices(list(Violation.Status.values), weights=[70, 5, 15, 10])[
                            0
                        ],
                    )
                )
        return violations
