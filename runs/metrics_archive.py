"""Keeps PROMETHEUS_MULTIPROC_DIR from growing with every process started.

prometheus_client writes one set of files per process (``counter_<pid>.db``,
``histogram_<pid>.db``, ...). It keeps the counter and histogram files of a
process that has ended on purpose: /metrics must go on counting what it
counted. Its ``mark_process_dead`` only drops live gauges. But RQ forks a
work horse per job and every `manage.py` call (cron, deploys) is a process:
the directory would grow by a set of files per job and per command, and
every scrape reads them all. prometheus_client has no way to merge them, so
this module does.

When a process has ended, its files are folded into one archive per type
(``counter_archive.db``, ...) and deleted: the sums /metrics shows are
unchanged, the file count stays flat. Who folds: runs.scrape.
Live-mode gauges are dropped as ``mark_process_dead`` documents; other gauge
modes keep their per-process files, as prometheus_client keeps them. A
directory lock makes each fold atomic for a scrape (which takes it shared),
so a scrape never sees a value both in the archive and in the process's file.

A process killed outright (SIGKILL, out of memory) whose parent does not
fold for it (an RQ worker does for its horses, gunicorn's master for its
workers) keeps its files, still counted, until `manage.py metrics_reset`."""

from __future__ import annotations

import fcntl
import glob
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import mark_process_dead

logger = logging.getLogger(__name__)

ARCHIVE = "archive"  # no "_": prometheus_client splits file names on it
LOCK_FILE = ".metrics.lock"
# Types (file name prefixes) whose samples add up across processes.
ADDITIVE = ("counter", "histogram", "summary", "gauge_sum")


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def fold_dead_process(pid: int) -> None:
    """Fold the metric files of process ``pid``, which has ended (or is
    ending), into the archive; nothing outside multiprocess mode. It also
    does what prometheus_client's ``mark_process_dead`` documents. Imports
    no Django: gunicorn's master calls it (importer_project/gunicorn_conf.py)."""
    directory = multiprocess_dir()
    if not directory:
        return
    try:
        fold_process_files(directory, (str(pid),))
    except OSError as exc:  # the directory is gone (metrics_reset, tmp cleanup): nothing to keep
        logger.warning("metrics: could not fold the metric files of %s (%s)", pid, exc)


@contextmanager
def directory_lock(directory: str, *, exclusive: bool) -> Iterator[None]:
    """flock on a file in the directory: exclusive to fold, shared to scrape."""
    with open(os.path.join(directory, LOCK_FILE), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fold_process_files(directory: str, identifiers: tuple[str, ...]) -> int:
    """Add the samples of these processes' counter, histogram and summary
    files to the archive files, delete them and the live gauges' files.
    Returns how many files went."""
    removed = 0
    with directory_lock(directory, exclusive=True):
        for identifier in identifiers:
            for prefix in ADDITIVE:
                path = os.path.join(directory, f"{prefix}_{identifier}.db")
                if not os.path.exists(path):
                    continue
                _add_to(os.path.join(directory, f"{prefix}_{ARCHIVE}.db"), path)
                os.remove(path)
                removed += 1
            before = len(glob.glob(os.path.join(directory, "*.db")))
            mark_process_dead(identifier, directory)
            removed += before - len(glob.glob(os.path.join(directory, "*.db")))
    return removed


def _add_to(archive_path: str, path: str) -> None:
    archive = MmapedDict(archive_path)
    try:
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(path):
            total, _ = archive.read_value(key)
            archive.write_value(key, total + value, timestamp)
    finally:
        archive.close()
