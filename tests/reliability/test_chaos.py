"""Chaos: real `manage.py rqworker` processes on PostgreSQL + Redis are
SIGKILLed at several points of a generated import (100k rows by default;
IMPORTER_CHAOS_ROWS sets it), and the core tables, the id map and the
violations must end exactly as after a clean run: 0 rows lost, 0 duplicated.

Kills alternate between the work horse (its worker lives on and its
reconciler resumes the run) and the whole worker with its horse (a machine
dying: a new worker's reconciler resumes it). The workers run with short
heartbeat and staleness settings so the test takes a few minutes; each
detection must still take under the 2 minutes promised."""

import io
import os
import time

import pytest

from demo import datagen
from runs import services
from runs.models import ImportRun, RunPartition
from tests.importing import create_run
from tests.reliability.helpers import (
    WorkerProcess,
    core_checksum,
    counters,
    wait_for,
    wipe_imports,
    worker_env,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

ROWS = int(os.environ.get("IMPORTER_CHAOS_ROWS", "100000"))
KILL_AT = (0.15, 0.45, 0.75)  # shares of the rows committed when a worker is killed
DETECTION_LIMIT_S = 120
FAST_RECOVERY = {
    "IMPORTER_HEARTBEAT_SECONDS": "1",
    "IMPORTER_STALE_SECONDS": "5",
    "IMPORTER_RECONCILE_SECONDS": "1",
    "IMPORTER_MAX_ATTEMPTS": str(len(KILL_AT) + 1),
}


def dataset(rows: int) -> bytes:
    out = io.StringIO()
    datagen.generate_organizations(out, rows=rows, seed=11, invalid_rate=0.02)
    return out.getvalue().encode()


def finished(run_id: int, timeout: float = 900) -> ImportRun:
    return wait_for(
        lambda: ImportRun.objects.filter(pk=run_id, status__in=ImportRun.FINISHED).first(),
        timeout=timeout,
        interval=0.5,
        what=f"run {run_id} to finish",
    )


def enqueue(content: bytes) -> ImportRun:
    run = create_run(content, filename="chaos.csv")
    services.run_enqueue(run=run)
    return run


def attempts(run_id: int) -> int:
    return sum(RunPartition.objects.filter(run_id=run_id).values_list("attempt", flat=True))


@pytest.mark.parametrize(
    "partitions, workers, rows",
    [(1, 1, ROWS), (2, 2, ROWS // 2)],  # the second at half size: CI time
    ids=["one partition, one worker", "two partitions, two workers"],
)
def test_killed_workers_lose_and_duplicate_nothing(tmp_path, partitions, workers, rows):
    content = dataset(rows)
    env = worker_env(
        **FAST_RECOVERY,
        IMPORTER_PARTITIONS=str(partitions),
        IMPORTER_PARTITION_MIN_BYTES="0" if partitions > 1 else str(1 << 40),
    )
    logs = iter(tmp_path / f"worker-{n}.log" for n in range(100))
    pool = [WorkerProcess(env, next(logs)) for _ in range(workers)]
    try:
        clean = finished(enqueue(content).pk)
        assert clean.status == ImportRun.Status.PARTIAL, clean.error_message
        expected = core_checksum(), counters(clean)
        assert clean.inserted > 0.9 * rows
        wipe_imports()

        run = enqueue(content)
        detections = []
        for number, share in enumerate(KILL_AT):
            wait_for(
                lambda: ImportRun.objects.get(pk=run.pk).rows_processed >= share * rows,
                timeout=600,
                interval=0.05,
                what=f"{share:.0%} of the rows",
            )
            before = attempts(run.pk)
            # A worker busy with the run (with two partitions, one may be done).
            victim = wait_for(
                lambda: next(
                    (w for w in pool[number % len(pool) :] + pool if w.horse_pids()), None
                ),
                timeout=30,
                interval=0.05,
                what="a busy worker",
            )
            if number % 2 == 0:
                victim.kill_horse()
            else:
                victim.kill()
                pool[pool.index(victim)] = WorkerProcess(env, next(logs))
            killed_at = time.monotonic()
            wait_for(
                lambda: attempts(run.pk) > before or ImportRun.objects.get(pk=run.pk).is_finished,
                timeout=DETECTION_LIMIT_S,
                interval=0.1,
                what="the reconciler to resume the run",
            )
            detections.append(time.monotonic() - killed_at)

        run = finished(run.pk)
        assert run.status == ImportRun.Status.PARTIAL, (run.error_message, [w.tail() for w in pool])
        assert counters(run) == expected[1]
        assert core_checksum() == expected[0]
        assert run.rows_processed == run.rows_total == rows
        assert max(detections) < DETECTION_LIMIT_S
        print(
            f"\nchaos {rows} rows, {partitions} partitions: {len(KILL_AT)} kills, "
            f"resumed after {', '.join(f'{d:.1f}' for d in detections)} s; 0 lost, 0 duplicated"
        )
    finally:
        for worker in pool:
            worker.stop()
