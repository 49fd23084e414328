"""What the reliability tests share: a checksum of everything an import
writes (to compare a crashed-and-resumed run with a clean one), and real
`manage.py rqworker` processes to kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from core.models import Contact, Organization
from dq.models import Violation
from ingest.models import ExternalIdMap
from runs.models import ImportRun

ORG_FIELDS = [
    "name",
    "country",
    "registration_number",
    "website",
    "email",
    "phone",
    "industry",
    "employees",
    "founded",
    "natural_key",
]


def core_checksum() -> str:
    """A digest of the core tables, the id map and the violations, without
    what legitimately differs between two runs of one file (database ids,
    run ids, wall-clock times): equal digests mean 0 rows lost and 0 rows
    duplicated."""
    digest = hashlib.sha256()
    records = {
        pk: repr(values)
        for pk, *values in Organization.objects.order_by().values_list("pk", *ORG_FIELDS)
    }
    for line in sorted(records.values()):
        digest.update(line.encode())
    digest.update(f"organizations={len(records)};contacts={Contact.objects.count()}".encode())
    id_map = ExternalIdMap.objects.order_by().values_list(
        "source__slug", "target", "external_id", "payload_hash", "record_id"
    )
    for slug, target, external_id, payload_hash, record_id in sorted(
        (slug, target, external_id, payload_hash, records.get(record_id, "missing"))
        for slug, target, external_id, payload_hash, record_id in id_map
    ):
        digest.update(f"{slug}|{target}|{external_id}|{payload_hash}|{record_id}".encode())
    violations = Violation.objects.order_by().values_list(
        "row_number", "external_id", "codes", "status"
    )
    for line in sorted(violations):
        digest.update(repr(line).encode())
    return digest.hexdigest()


def wipe_imports() -> None:
    """Forget every import (core records, id map, violations, runs)."""
    Violation.objects.all().delete()
    ExternalIdMap.objects.all().delete()
    Contact.objects.all().delete()
    Organization.objects.all().delete()
    ImportRun.objects.all().delete()


def counters(run: ImportRun) -> tuple[int, ...]:
    return (run.rows_total, run.inserted, run.updated, run.unchanged, run.skipped, run.quarantined)


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker process on the test database."""
    db = connection.settings_dict
    env = dict(os.environ, MEDIA_ROOT=str(settings.MEDIA_ROOT), LOG_LEVEL="WARNING")
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env.update(extra)
    return env


class WorkerProcess:
    """A `manage.py rqworker imports` process (and its work horses)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "rqworker", "imports"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def horse_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    def kill_horse(self, *, timeout: float = 30) -> int:
        """SIGKILL the work horse (the job's process); the worker survives."""
        pid = wait_for(
            lambda: (self.horse_pids() or [None])[0], timeout=timeout, what="a work horse"
        )
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill(self) -> None:
        """SIGKILL the worker and its horse at once, like a machine dying."""
        for pid in [*self.horse_pids(), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]
