"""Where quarantined rows go: ``dq.Violation`` rows, written per chunk."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from dq.models import Violation
from ingest.pipeline import QUARANTINED, Row

# PostgreSQL cannot store NUL in text or JSON; the payload keeps a visible mark.
NUL_MARK = "\u2400"


def storable(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: storable_text(value) if isinstance(value, str) else value for key, value in payload.items()}


def storable_text(value: str) -> str:
    """The text with NUL made visible: PostgreSQL rejects NUL in text and JSON."""
    return value.replace("\x00", NUL_MARK) if "\x00" in value else value


class Sink(Protocol):
    def chunk_done(self, rows: Sequence[Row]) -> None: ...

    def finish(self) -> None: ...


class ViolationSink:
    """Each quarantined row of an upload becomes an open Violation."""

    def __init__(self, *, run_id: int, target: str, source_id: int) -> None:
        self.run_id = run_id
        self.target = target
        self.source_id = source_id

    def chunk_done(self, rows: Sequence[Row]) -> None:
        self.write((row.number, row.external_id, row.payload, row.errors) for row in rows if row.outcome == QUARANTINED)

    def write(self, items: Iterable[tuple[int, str, dict[str, Any], list[dict[str, str]]]]) -> None:
        Violation.objects.bulk_create(
            [
                Violation(
                    run_id=self.run_id,
                    target=self.target,
                    source_id=self.source_id,
                    row_number=number,
                    external_id=storable_text(external_id),
                    payload=storable(payload),
                    errors=errors,
                    codes=",".join(sorted({error["code"] for error in errors}))[:255],
                )
                for number, external_id, payload, errors in items
            ],
            batch_size=500,
        )

    def finish(self) -> None:
        pass


class SpooledSink:
    """For dry runs, whose chunks are rolled back: keeps quarantined rows in a
    temporary file and writes them to the inner sink after the rollback."""

    def __init__(self, inner: ViolationSink) -> None:
        self.inner = inner
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")

    def chunk_done(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if row.outcome == QUARANTINED:
                self.spool.write(json.dumps([row.number, row.external_id, row.payload, row.errors]) + "\n")

    def finish(self) -> None:
        self.spool.seek(0)
        batch = []
        for line in self.spool:
            batch.append(json.loads(line))
            if len(batch) == 1000:
                self.inner.write(batch)
                batch = []
        self.inner.write(batch)
        self.spool.close()
