"""PostgreSQL advisory locks, keyed by a stable 64-bit hash of names.

Transaction-level locks only: they are released at commit or rollback, and
by PostgreSQL itself when a worker dies with its connection, so a crash can
never leave one behind. On SQLite (one writer at a time already) they are
no-ops.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def advisory_key(*parts: object) -> int:
    """A signed 64-bit key (PostgreSQL's bigint) for the parts, the same in
    every process and on every machine (unlike ``hash()``)."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def xact_lock(*parts: object) -> None:
    """Wait for the advisory lock named by the parts, held until the end of
    the surrounding transaction (which must exist)."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("xact_lock needs a transaction: it would be released at once")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(*parts)])


def run_lease(source_id: int, target: str) -> None:
    """Serializes the claims of runs of one (source, target) pair."""
    xact_lock("run-lease", source_id, target)
