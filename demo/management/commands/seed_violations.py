"""manage.py seed_violations --count N: many realistic violations for
measuring the inbox (docs/dq-inbox.md). Not for production data."""

import random

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from dq import fingerprints
from dq.models import Violation, codes_of, fields_of
from ingest import fields as rules
from ingest.services import source_get_or_create
from runs.models import ImportRun

BAD = [
    ("email", rules.INVALID_FORMAT, rules.MSG_EMAIL, "not-an-email"),
    ("country", rules.INVALID_CHOICE, rules.MSG_COUNTRY, "XX"),
    ("employees", rules.OUT_OF_RANGE, rules.MSG_MIN.format(limit=0), "-5"),
    ("name", rules.REQUIRED, rules.MSG_REQUIRED, ""),
    ("website", rules.INVALID_FORMAT, rules.MSG_URL, "notaurl"),
]


class Command(BaseCommand):
    help = "Create N open violations (organization target) over 100 runs, for measurements."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--source", default="bench")

    def handle(self, *args, count: int, seed: int, source: str, **options) -> None:
        rng = random.Random(seed)
        source_obj = source_get_or_create(slug=source)
        runs = [
            ImportRun.objects.create(
                target="organization",
                source=source_obj,
                status="partial",
                dry_run=(n == 0),
                quarantined=count // 100,
            )
            for n in range(100)
        ]
        batch: list[Violation] = []
        for number in range(count):
            field, code, message, value = BAD[number % len(BAD)]
            payload = {
                "external_id": f"B-{number:08d}",
                "name": f"Company {rng.randrange(10**9)} GmbH",
                "country": "DE",
                "email": f"info{number}@example.org",
                "website": "",
                "employees": str(rng.randrange(1000)),
            }
            payload[field] = value
            errors = [{"field": field, "code": code, "message": message}]
            run = runs[number % 100]
            batch.append(
                Violation(
                    run=run,
                    target="organization",
                    source=source_obj,
                    row_number=number // 100 + 2,
                    external_id=payload["external_id"],
                    payload=payload,
                    errors=errors,
                    codes=codes_of(errors),
                    error_fields=fields_of(errors),
                    dry_run=run.dry_run,
                    first_seen_run=run,
                    last_seen_run=run,
                    fingerprint=fingerprints.of_external_id(
                        target="organization",
                        source_id=source_obj.pk,
                        external_id=payload["external_id"],
                    ),
                    status="open"
                    if number % 10
                    else rng.choice(["resolved", "ignored", "requeued"]),
                )
            )
            if len(batch) == 20_000:
                self._write(batch)
                batch = []
        self._write(batch)
        self.stdout.write(
            f"Created {count} violations in runs {runs[0].pk}..{runs[-1].pk} (run {runs[0].pk} is a dry run)."
        )

    def _write(self, batch: list[Violation]) -> None:
        with transaction.atomic():
            Violation.objects.bulk_create(batch, batch_size=5000)
