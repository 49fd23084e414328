"""Fewer garbage collections while rows are imported.

CPython's cyclic collector runs a young-generation pass every 700 container
objects allocated (net). An import allocates millions (a dict and a few
lists per row) and keeps a chunk's worth alive, so the collector ran
thousands of times per 100,000 rows, each pass traversing the chunk's live
objects: about 0.6 of the ~4.1 CPU-seconds a fresh 100,000-row import took
(``bench/cpu_split.py``, bench/PROFILE.md's sixth round). While a partition
imports, the young generation's threshold is raised to ``YOUNG_THRESHOLD``;
the older generations keep theirs. 20,000 saves nearly as much CPU as
50,000 or 200,000 (within 3%), without the 13 MB more peak memory 50,000
cost. Process-wide,
as the collector is: a counter restores the previous thresholds when the
last import of the process (thread mode may run several) ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

YOUNG_THRESHOLD = 20_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
