"""`make bench-scaleout`: one large import through 1, 2 and 4 real
`manage.py rqworker` processes on PostgreSQL + Redis.

Generates the organization file (BENCH_SCALEOUT_ROWS, default 1,000,000
rows, 2% invalid) once, then for each worker count starts that many
workers, enqueues the file as a fresh import (core tables, id map,
violations and runs emptied first) split into IMPORTER_PARTITIONS
partitions (default 4, the same plan for every worker count), and times it
from enqueue to the run's finish. Also measures one worker with a single
partition (no partitioning: the baseline a partition's extra file read is
compared with). Peak RSS is the largest resident set seen of any work horse
(sampled every 0.2 s from /proc).

Needs DATABASE_URL (PostgreSQL; its tables are emptied) and REDIS_URL.
Environment: BENCH_SCALEOUT_ROWS, BENCH_SCALEOUT_WORKERS=1,2,4,
IMPORTER_PARTITIONS=4, BENCH_SCALEOUT_BASELINE=0 (skip the one-partition
line), BENCH_DIR (default /tmp/importer-bench).
Prints a table and writes bench/SCALEOUT.md.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import signal
import subprocess
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

from django.core.files.base import File  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from ingest import services  # noqa: E402
from runs.models import ImportRun  # noqa: E402

ROWS = int(os.environ.get("BENCH_SCALEOUT_ROWS", "1000000"))
WORKER_COUNTS = [int(n) for n in os.environ.get("BENCH_SCALEOUT_WORKERS", "1,2,4").split(",")]
PARTITIONS = int(os.environ.get("IMPORTER_PARTITIONS", "4"))
DATA_DIR = Path(os.environ.get("BENCH_DIR", "/tmp/importer-bench"))
RESULTS = ROOT / "bench" / "SCALEOUT.md"
# Also one worker on one partition (no partitioning); BENCH_SCALEOUT_BASELINE=0 skips it.
BASELINE = os.environ.get("BENCH_SCALEOUT_BASELINE", "1") != "0"


def dataset() -> Path:
    path = DATA_DIR / f"organizations-{ROWS}.csv"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "generate_dataset",
                "--target",
                "organization",
                "--rows",
                str(ROWS),
                "--seed",
                "1",
                "--invalid-rate",
                "0.02",
                "--out",
                str(path),
            ],
            check=True,
        )
    return path


def empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dq_remediationaudit, dq_violation, ingest_externalidmap, core_contact, "
            "core_organization, runs_runpartition, runs_importrun CASCADE"
        )


def horse_rss_kb(workers: list[subprocess.Popen]) -> int:
    """The largest resident set among the workers' work horses, now."""
    largest = 0
    for worker in workers:
        try:
            children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]))
    return largest


def measure(path: Path, *, workers: int, partitions: int) -> dict:
    empty_tables()
    env = dict(
        os.environ,
        IMPORTER_PARTITIONS=str(partitions),
        IMPORTER_PARTITION_MIN_BYTES="0",
        LOG_LEVEL="WARNING",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", "imports"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(3)  # let every worker start listening
        with path.open("rb") as handle:
            run = services.run_create(
                target="organization", source="bench", file=File(handle), filename=path.name
            )
        started = time.monotonic()
        services.run_enqueue(run=run)
        peak = 0
        loads = []
        while not ImportRun.objects.filter(pk=run.pk, status__in=ImportRun.FINISHED).exists():
            peak = max(peak, horse_rss_kb(processes))
            loads.append(os.getloadavg()[0])
            time.sleep(0.2)
        seconds = time.monotonic() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
    run.refresh_from_db()
    if run.status not in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL):
        raise SystemExit(f"run {run.pk} {run.status}: {run.error_message}")
    return {
        "workers": workers,
        "partitions": run.partitions,
        "seconds": seconds,
        "rows_per_s": run.rows_total / seconds,
        "rows": run.rows_total,
        "inserted": run.inserted,
        "quarantined": run.quarantined,
        "peak_rss_mb": peak / 1024,
        "load": sum(loads) / max(len(loads), 1),
    }


def main() -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        raise SystemExit("bench/scaleout.py needs DATABASE_URL=postgres://… and REDIS_URL")
    call_command("migrate", verbosity=0)
    path = dataset()
    plans = [(1, 1)] if BASELINE else []
    plans += [(workers, PARTITIONS) for workers in WORKER_COUNTS]
    results = []
    for workers, partitions in plans:
        result = measure(path, workers=workers, partitions=partitions)
        results.append(result)
        print(
            f"{workers} worker(s), {partitions} partition(s): {result['seconds']:.1f} s, "
            f"{result['rows_per_s']:,.0f} rows/s, peak RSS {result['peak_rss_mb']:.0f} MB, "
            f"load {result['load']:.1f}",
            flush=True,
        )
        write_results(results)


def write_results(results: list[dict]) -> None:
    base = results[0]
    lines = [
        f"# Scale-out: {ROWS:,} organization rows (2% invalid), fresh import",
        "",
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} CPU cores ({platform.machine()}), "
        f"PostgreSQL + Redis, real `manage.py rqworker` processes; `make bench-scaleout`.",
        "",
        "Speed-up is against the first line. Load is the",
        "machine's mean 1-minute load average during the measurement (other work included).",
        "",
        "| workers | partitions | seconds | rows/s | speed-up | peak RSS per horse | load |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['workers']} | {r['partitions']} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | "
            f"{base['seconds'] / r['seconds']:.2f}× | {r['peak_rss_mb']:.0f} MB | {r['load']:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
