"""A dry run's preview: one page of what the import would do, read from the
dry run's results file (``ingest.results.Ledger``) as a stream, so a run of
a million rows never sits in memory: the page's lines are kept, the others
only counted past, and where pages start is remembered (CHECKPOINTS_KEY). How many lines each outcome has is on the run already
(its counters), so the page count costs no read of the file.

A line's ``values`` are the would-be record's values and ``previous`` the
changed fields' values before the dry run (files written before ``previous``
existed show the new values only). Callers without the payload permission
get every value masked, as in the results download.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache

from common.cache import CACHE_ERRORS
from dq.selectors import MASK
from runs.models import ImportRun

PER_PAGE = 50
# Where pages start in the results file (byte offsets), remembered in the
# cache as pages are read: the next page, and every CHECKPOINT_EVERY-th page
# a scan passed, so paging on or jumping back reads from there, not from
# the file's start. A results file never changes once written (its name is
# in the key).
CHECKPOINTS_KEY = "run-preview:{run_id}:{name}:{outcome}:{per_page}"
CHECKPOINT_EVERY = 100
CHECKPOINTS_TIMEOUT_S = 24 * 3600
# The outcome filter's words (as people say them) → the results file's outcomes.
OUTCOME_FILTERS = {
    "insert": "inserted",
    "update": "updated",
    "unchanged": "unchanged",
    "skip": "skipped",
    "quarantine": "quarantined",
}
BAD_OUTCOME = "Unknown outcome {outcome!r}; choose one of: {choices}."
BAD_PAGE = "The page must be a number from 1 to {pages}."
NOT_A_DRY_RUN = "Run {run_id} is not a dry run: it has nothing to preview."
NO_RESULTS_YET = "Run {run_id} has no results file yet: the preview is there once it finishes."


class PreviewError(ValueError):
    """A preview that cannot be shown: the message says why."""


@dataclass
class Change:
    field: str
    old: Any = None
    new: Any = None
    has_old: bool = False


@dataclass
class PreviewLine:
    row_number: int
    external_id: str
    outcome: str
    decision: str
    record_id: str
    error_codes: list[str]
    changes: list[Change] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class PreviewPage:
    outcome: str | None
    number: int
    pages: int
    count: int
    lines: list[PreviewLine]
    has_previous_values: bool


def outcome_count(run: ImportRun, outcome: str | None) -> int:
    if outcome is None:
        return run.inserted + run.updated + run.unchanged + run.skipped + run.quarantined
    return int(getattr(run, OUTCOME_FILTERS[outcome]))


def dry_run_preview(
    *, run: ImportRun, outcome: str | None, page: int, masked: bool, per_page: int = PER_PAGE
) -> PreviewPage:
    """Page ``page`` (from 1) of the dry run's lines of ``outcome`` (a key of
    OUTCOME_FILTERS, or None for every line), in row order."""
    if not run.dry_run:
        raise PreviewError(NOT_A_DRY_RUN.format(run_id=run.pk))
    if outcome is not None and outcome not in OUTCOME_FILTERS:
        raise PreviewError(BAD_OUTCOME.format(outcome=outcome, choices=", ".join(OUTCOME_FILTERS)))
    name = run.results_file.name if run.results_file else None
    if not name or not run.results_file.storage.exists(name):
        raise PreviewError(NO_RESULTS_YET.format(run_id=run.pk))
    count = outcome_count(run, outcome)
    pages = max(1, math.ceil(count / per_page))
    if not 1 <= page <= pages:
        raise PreviewError(BAD_PAGE.format(pages=pages))
    wanted = OUTCOME_FILTERS[outcome] if outcome else None
    key = CHECKPOINTS_KEY.format(
        run_id=run.pk, name=run.results_file.name, outcome=outcome or "all", per_page=per_page
    )
    checkpoints = _cache_get(key)
    start = max((number for number in checkpoints if number <= page), default=1)
    matched = (start - 1) * per_page  # matching lines before the scan's start
    first = (page - 1) * per_page
    lines: list[PreviewLine] = []
    found: dict[int, int] = {}
    with run.results_file.open("rb") as handle:
        stream = _Stream(handle)
        rows = csv.reader(stream)
        header = next(rows, None) or []
        if start > 1:
            stream.seek(checkpoints[start])
        at = {name: index for index, name in enumerate(header)}
        outcome_at = at.get("outcome", 2)
        before = stream.consumed
        for line in rows:
            if wanted is None or _cell(line, outcome_at) == wanted:
                if matched % per_page == 0 and (matched // per_page + 1) % CHECKPOINT_EVERY == 0:
                    found[matched // per_page + 1] = before  # a page a jump may start from
                if matched >= first:
                    if not lines:
                        found[page] = before  # this page, found again at once
                    lines.append(_preview_line(line, at, masked))
                matched += 1
                if len(lines) == per_page:
                    found[page + 1] = stream.consumed  # the next page starts after this line
                    break
                if matched >= count:
                    break  # the run's counters say there are no more (a rare outcome's last)
            before = stream.consumed
    if found.keys() - checkpoints.keys():
        _cache_set(key, {**checkpoints, **found})
    return PreviewPage(
        outcome=outcome,
        number=page,
        pages=pages,
        count=count,
        lines=lines,
        has_previous_values="previous" in header,
    )


class _Stream:
    """The results file's lines as text for csv.reader, counting the bytes
    handed over: after each record, ``consumed`` is the byte offset where
    the next one starts (csv.reader asks for exactly the lines a record
    needs), so a page can be found again by seeking there. Reads blocks
    with ``read`` (Django's File iteration would start over at 0)."""

    BLOCK = 1 << 16

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.consumed = 0
        self._buffer = b""
        self._eof = False

    def seek(self, offset: int) -> None:
        self.handle.seek(offset)
        self.consumed = offset
        self._buffer = b""
        self._eof = False

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> str:
        while b"\n" not in self._buffer and not self._eof:
            block = self.handle.read(self.BLOCK)
            if block:
                self._buffer += block
            else:
                self._eof = True
        if not self._buffer:
            raise StopIteration
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        self.consumed += len(line)
        return line.decode("utf-8")


def _cache_get(key: str) -> dict[int, int]:
    try:
        return cache.get(key) or {}
    except CACHE_ERRORS:
        return {}  # without the cache, a page is read from the file's start


def _cache_set(key: str, checkpoints: dict[int, int]) -> None:
    try:
        cache.set(key, checkpoints, CHECKPOINTS_TIMEOUT_S)
    except CACHE_ERRORS:
        pass


def _cell(line: list[str], at: int | None) -> str:
    return line[at] if at is not None and at < len(line) else ""


def _json(cell: str) -> dict[str, Any]:
    if not cell:
        return {}
    try:
        value = json.loads(cell)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _unquote(cell: str) -> str:
    """The results file quotes a cell a spreadsheet would run; the page shows the value."""
    return cell[1:] if cell.startswith("'") else cell


def _preview_line(line: list[str], at: dict[str, int], masked: bool) -> PreviewLine:
    values = _json(_cell(line, at.get("values")))
    previous = _json(_cell(line, at.get("previous")))
    changed = _cell(line, at.get("changed_fields")).split()
    outcome = _cell(line, at.get("outcome"))

    def shown(value: Any) -> Any:
        return MASK if masked and value not in (None, "") else value

    changes = []
    if outcome == "updated":
        changes = [
            Change(
                field=name,
                old=shown(previous.get(name)),
                new=shown(values.get(name)),
                has_old=name in previous,
            )
            for name in changed
        ]
    new_values = {}
    if outcome == "inserted":
        new_values = {
            name: shown(value) for name, value in values.items() if value not in (None, "")
        }
    return PreviewLine(
        row_number=int(_cell(line, at.get("row_number")) or 0),
        external_id=_unquote(_cell(line, at.get("external_id"))),
        outcome=outcome,
        decision=_cell(line, at.get("decision")),
        record_id=_cell(line, at.get("record_id")),
        error_codes=_cell(line, at.get("error_codes")).split(),
        changes=changes,
        values=new_values,
    )
