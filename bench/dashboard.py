"""Median response time of the runs dashboard's list at 1,000 and at 100,000
runs, in one process on one fresh database (``make bench-dashboard``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/importer_bench .venv/bin/python bench/dashboard.py

It creates the test database ``test_<name>`` (dropped at the end), seeds
runs with ``seed_runs``, runs VACUUM ANALYZE (as autovacuum would after a
bulk load), then times logged-in superuser GETs of each list view through
Django's test Client (the whole Django stack, no network). The goal is a
ratio of at most 1.5× between the two sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "importer_project.settings")
# A throwaway key for this run (settings refuse to start without one when DEBUG is off).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from runs.models import ImportRun  # noqa: E402

SIZES = (1_000, 100_000)


def scenarios() -> dict[str, dict[str, str]]:
    """The list as operators open it: plain, and with the common filters."""
    sha = ImportRun.objects.order_by("pk").values_list("file_sha256", flat=True).first()
    return {
        "all runs": {},
        "status=failed": {"status__exact": "failed"},
        "target + past 7 days": {"target": "organization", "created": "7d"},
        "has quarantined rows": {"has_quarantined": "yes"},
        "dry runs of one source": {"dry_run__exact": "1", "source__id__exact": "1"},
        "search by sha256": {"q": sha},
    }


def median_ms(client: Client, url: str, params: dict[str, str], repeat: int) -> float:
    for _ in range(2):  # warm-up: templates, connection, caches
        assert client.get(url, params).status_code == 200
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings)


def measure(client: Client, repeat: int) -> dict[str, float]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE runs_importrun")
            cursor.execute("VACUUM ANALYZE dq_violation")
    url = reverse("admin:runs_importrun_changelist")
    figures = {name: median_ms(client, url, params, repeat) for name, params in scenarios().items()}
    # The summary cards the list page loads beside it (aggregates over every matching run).
    summary = reverse("admin:runs_importrun_summary")
    figures.update(
        {
            f"summary cards: {name}": median_ms(client, summary, params, repeat)
            for name, params in scenarios().items()
            if name in ("all runs", "status=failed")
        }
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=21, help="timed requests per view and size")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print(
            "bench/dashboard.py measures PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr
        )
        return 2
    # Not setup_test_environment(): its template instrumentation (copying
    # every context for the test client) would cost more than the page.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass")
        client = Client()
        client.force_login(user)
        results: dict[int, dict[str, float]] = {}
        seeded = 0
        for size in SIZES:
            call_command("seed_runs", count=size - seeded, seed=size, stdout=open(os.devnull, "w"))
            seeded = size
            results[size] = measure(client, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    small, large = SIZES
    report = {
        "repeat": args.repeat,
        "median_ms": {str(size): figures for size, figures in results.items()},
        "ratio": {name: results[large][name] / results[small][name] for name in results[small]},
    }
    print(f"{'view':<40}{small:>10,} runs{large:>12,} runs{'ratio':>8}")
    for name in results[small]:
        print(
            f"{name:<40}{results[small][name]:>12.1f} ms{results[large][name]:>12.1f} ms"
            f"{report['ratio'][name]:>8.2f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
