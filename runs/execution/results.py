"""A run's results file: each partition appends its rows' outcomes to a
ledger as its chunks commit; at the end the ledgers are merged, in row
order, into the run's results file (a dry run's would-be records)."""

from __future__ import annotations

import csv
import heapq
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File

from runs.models import ImportRun


def ledger_path(run_id: int, index: int) -> Path:
    """A partition's results ledger, on MEDIA_ROOT (shared by every worker)."""
    return Path(settings.MEDIA_ROOT) / "results" / "parts" / f"run-{run_id}" / f"part-{index}.csv"


def finished_status(run: ImportRun) -> str:
    if run.cancel_requested:
        return ImportRun.Status.CANCELLED
    if run.quarantined:
        return ImportRun.Status.PARTIAL
    return ImportRun.Status.SUCCEEDED


def save_results(run: ImportRun) -> None:
    """Merge the partitions' ledgers, each in row order, into the run's
    results file, then remove them."""
    paths = [ledger_path(run.pk, index) for index in range(run.partitions)]
    paths = [path for path in paths if path.exists()]
    if not paths:
        return
    if len(paths) == 1:  # already in row order
        _store_results(run, paths[0])
    else:
        merged = _merge_ledgers(paths)
        try:
            _store_results(run, merged)
        finally:
            os.unlink(merged)
    for path in paths:
        path.unlink()
    try:
        paths[0].parent.rmdir()
    except OSError:
        pass


def _merge_ledgers(paths: list[Path]) -> Path:
    """One temporary file with the ledgers' lines merged in row order."""
    handles = [open(path, encoding="utf-8", newline="") for path in paths]
    try:
        readers = [csv.reader(handle) for handle in handles]
        headers = [next(reader, None) for reader in readers]
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", suffix=".csv", delete=False
        ) as out:
            writer = csv.writer(out)
            writer.writerow(next(header for header in headers if header))
            merged = heapq.merge(*readers, key=lambda line: int(line[0]))
            writer.writerows(merged)
    finally:
        for handle in handles:
            handle.close()
    return Path(out.name)


def _store_results(run: ImportRun, path: Path) -> None:
    with open(path, "rb") as results:
        run.results_file.save(f"run-{run.pk}-results.csv", File(results), save=False)
    ImportRun.objects.filter(pk=run.pk).update(results_file=run.results_file.name)
