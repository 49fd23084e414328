"""Which database errors a chunk may simply be tried again after, from its
checkpoint, and how often."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connection

# SQLSTATEs after which a chunk can simply be tried again.
# Deadlock detected, serialization failure, and out of shared memory: the
# lock table is full (each chunk holds an advisory lock per natural key until
# it commits, see resolve.lock_natural_keys), which passes once the other
# partitions' chunks commit.
RETRYABLE_SQLSTATES = ("40P01", "40001", "53200")
# The connection was lost: the server shut down or restarted (57P01-57P03,
# a failover, an operator's pg_terminate_backend) or the network failed
# (class 08). The chunk rolled back with the connection; a new connection
# resumes from the checkpoint.
CONNECTION_LOST_SQLSTATES = ("57P01", "57P02", "57P03")

# Deadlocks PostgreSQL broke up, or lost connections, in one partition, each
# retried from its checkpoint.
CHUNK_RETRIES = 8
CHUNK_RETRY_PAUSE_S = 0.1  # doubled at each retry, at most CHUNK_RETRY_PAUSE_MAX_S: 16 s in all
CHUNK_RETRY_PAUSE_MAX_S = 5.0


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure PostgreSQL broke up, or a lost
    connection: the chunk rolled back and may be tried again."""
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES or is_connection_lost(exc)


def is_connection_lost(exc: BaseException) -> bool:
    """The database connection is gone (see CONNECTION_LOST_SQLSTATES); also
    a connection psycopg found closed, which carries no SQLSTATE."""
    if connection.vendor != "postgresql":
        return False
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in CONNECTION_LOST_SQLSTATES or sqlstate.startswith("08")
    raw = connection.connection  # None once Django closed it
    return isinstance(exc, (OperationalError, InterfaceError)) and (
        raw is None or raw.closed or raw.broken
    )
