"""What a run's live progress needs beyond its counters.

A dry run counts its rows inside one transaction that is rolled back at the
end, so its ``rows_processed`` stays 0 until it finishes: the runner also
puts the count in the cache after each chunk, where the progress endpoint
reads it. With Redis every process sees it; without Redis the jobs run in
the web process (a background thread) and the local-memory cache is shared
with it. The cache is an optimisation only: when it is down, a dry run's
bar just waits for the end.

A run's total is known only at its end; while it runs, the page shows an
estimate: a replay's or run-for-real's parent total when the file is the
same, else the CSV file's line count taken when the run starts
(``rows_estimate``).
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.files.storage import Storage

from common.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

PROGRESS_KEY = "run-progress:{run_id}"
PROGRESS_TIMEOUT_S = 24 * 3600
COUNT_BLOCK_BYTES = 1 << 20


def dry_run_progress_note(*, run_id: int, rows: int) -> None:
    """Rows a running dry run has processed so far (per chunk)."""
    try:
        cache.set(PROGRESS_KEY.format(run_id=run_id), rows, PROGRESS_TIMEOUT_S)
    except CACHE_ERRORS as exc:
        logger.warning("dry run %s progress not kept: %s", run_id, exc)


def dry_run_progress(*, run_ids: list[int]) -> dict[int, int]:
    """The noted counts of these running dry runs ({} when the cache is down)."""
    if not run_ids:
        return {}
    keys = {PROGRESS_KEY.format(run_id=run_id): run_id for run_id in run_ids}
    try:
        found = cache.get_many(list(keys))
    except CACHE_ERRORS as exc:
        logger.warning("dry run progress unreadable: %s", exc)
        return {}
    return {keys[key]: int(value) for key, value in found.items()}


def rows_estimate(*, storage: Storage, name: str, header_rows: int = 1) -> int | None:
    """About how many data rows a CSV file has: its line breaks less the
    header (a quoted value with a line break counts twice, so the page says
    "about"). Read in 1 MiB blocks: about a second a gigabyte."""
    lines = 0
    last = b""
    try:
        with storage.open(name, "rb") as handle:
            while block := handle.read(COUNT_BLOCK_BYTES):
                lines += block.count(b"\n")
                last = block
    except OSError:
        return None
    if last and not last.endswith(b"\n"):
        lines += 1  # the last line has no line break
    return max(lines - header_rows, 0)
