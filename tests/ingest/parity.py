"""Run an import scenario under one row engine (settings.IMPORTER_ENGINE)
from an empty database, and dump everything it wrote in a form that two
executions compare exactly (tests/ingest/test_engine_parity.py).

The dump is every row of every table of the apps an import writes (core,
ingest, runs, dq: every column, as stored, provenance included) and each
run's results ledger as its lines of text. Ids compare as they are: every
execution starts from empty tables with their id sequences reset, so the
same writes give the same ids. Only wall-clock times differ between two
executions: each step runs at a fixed instant (time ticking on from it),
and a time read inside a step becomes ``<run N start>`` when it is run N's
start (the import time survivorship and provenance use) or ``<step K>``
otherwise. A time from a file is outside every step and stays as written.
The few values drawn at random (an upload's stored name, a job id, a
steward action's token) become ``<random N>``, N counting the distinct
values in order, and a time to fix is kept in whole minutes. None of them is
the engine's: they are made around it (runs.services, runs.execution.queue,
dq.services).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import time_machine
from django.apps import apps
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Model
from django.test import override_settings
from django.utils import timezone

from runs.models import ImportRun
from tests.importing import import_bytes

# The apps whose tables an import writes (and a scenario's hand edits).
WRITTEN_APPS = ("core", "ingest", "runs", "dq")
START = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
# An ISO 8601 time as the code writes it in text: provenance, history.
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:?\d\d)?")
# The random part of a column's values: an upload's stored name
# (runs.services.stored_file_name), a job id (runs.execution.queue), a
# steward action's compare-and-set token (dq.services).
RANDOM = {
    "file": re.compile(r"[0-9a-f]{32}(?=(\.[a-z0-9]+)?$)"),
    "job_id": re.compile(r"[0-9a-f]{8}$"),
    "action_token": re.compile(r"^[0-9a-f]{32}$"),
}
# Seconds between two wall-clock times (a violation found, then resolved
# some steps later): steps are hours apart and last seconds.
DURATIONS = ("time_to_fix_s",)
# A provenance entry of a field a steward set by hand (SQLite's JSON text
# or PostgreSQL's).
MANUAL = re.compile(r'"manual": ?true')

Step = Callable[[], object]
Dump = dict[str, list[Any]]


@dataclass(frozen=True)
class Import:
    """One step: import a file through the real pipeline (tests/importing.py),
    under ``settings`` (IMPORTER_CHUNK_SIZE, …); ``params`` go to
    ``run_create`` (format, column_map, …)."""

    content: bytes
    target: str = "organization"
    source: str = "crm"
    filename: str = "rows.csv"
    dry_run: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self) -> ImportRun:
        with override_settings(**self.settings):
            return import_bytes(
                self.content,
                target=self.target,
                source=self.source,
                filename=self.filename,
                dry_run=self.dry_run,
                **self.params,
            )


def execute(
    steps: Sequence[Step], *, engine: str, media_root: Path, start: dt.datetime = START
) -> Dump:
    """Empty the database, run ``steps`` in order with ``engine``, step K at
    ``start`` + K hours, and dump what they wrote."""
    empty_database()
    windows = []
    with override_settings(IMPORTER_ENGINE=engine, MEDIA_ROOT=media_root):
        for number, step in enumerate(steps, 1):
            begin = start + dt.timedelta(hours=number)
            with time_machine.travel(begin, tick=True):
                step()
                windows.append((begin, timezone.now()))
        return dump(Clock(windows), Randoms())


def written_models() -> list[type[Model]]:
    return [model for app in WRITTEN_APPS for model in apps.get_app_config(app).get_models()]


def empty_database() -> None:
    """Every written table empty and its ids starting at 1 again, inside
    the test's transaction (PostgreSQL: TRUNCATE … RESTART IDENTITY rolls
    back with it; SQLite: DELETE and sqlite_sequence), and an empty cache."""
    tables = [model._meta.db_table for model in written_models()]
    flush = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:  # TRUNCATE refuses a table with foreign key checks still pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        connection.ops.execute_sql_flush(flush)
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cache.clear()


class Clock:
    """Names the times an execution read from the clock (see the module
    docstring); ``windows`` are the steps' (begin, end) times."""

    def __init__(self, windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> None:
        self.windows = windows
        self.run_starts = {
            started: f"<run {pk} start>"
            for pk, started in ImportRun.objects.exclude(started_at=None).values_list(
                "pk", "started_at"
            )
        }

    def name(self, moment: dt.datetime) -> str | None:
        if timezone.is_naive(moment):  # SQLite's raw values are UTC
            moment = moment.replace(tzinfo=dt.UTC)
        if moment in self.run_starts:
            return self.run_starts[moment]
        for number, (begin, end) in enumerate(self.windows, 1):
            if begin <= moment <= end:
                return f"<step {number}>"
        return None

    def value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return self.name(value) or value.isoformat()
        if isinstance(value, str):
            return TIME.sub(self._time_in_text, value)
        return value

    def _time_in_text(self, match: re.Match[str]) -> str:
        try:
            moment = dt.datetime.fromisoformat(match.group())
        except ValueError:
            return match.group()
        return self.name(moment) or match.group()


class Randoms:
    """Names each distinct random value by its rank: ``<random 3>``."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def sub(self, pattern: re.Pattern[str], value: str) -> str:
        return pattern.sub(self._name, value)

    def _name(self, match: re.Match[str]) -> str:
        return self.names.setdefault(match.group(), f"<random {len(self.names) + 1}>")


def dump(clock: Clock, randoms: Randoms) -> Dump:
    tables: Dump = {
        model._meta.label: table_rows(model, clock, randoms) for model in written_models()
    }
    for run in ImportRun.objects.order_by("pk"):
        if run.results_file:
            with run.results_file.open("rb") as results:
                text = results.read().decode("utf-8", "backslashreplace")
            tables[f"results ledger of run {run.pk}"] = clock.value(text).splitlines(keepends=True)
    return tables


def table_rows(model: type[Model], clock: Clock, randoms: Randoms) -> list[dict[str, Any]]:
    """Every row as stored (JSON columns as their text), in id order."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {quote(model._meta.db_table)} ORDER BY {quote(model._meta.pk.column)}"
        )
        names = [column[0] for column in cursor.description]
        rows = [
            {name: clock.value(value) for name, value in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]
    for row in rows:
        for name, pattern in RANDOM.items():
            if row.get(name):
                row[name] = randoms.sub(pattern, row[name])
        for name in DURATIONS:
            if row.get(name) is not None:
                row[name] = f"<{round(row[name] / 60)} minutes>"
    return rows


def differences(expected: Any, actual: Any, path: str = "") -> Iterator[str]:
    """Where two dumps differ, each as "path: expected != actual"."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(key for key in actual if key not in expected)]:
            if key not in actual or key not in expected:
                yield f"{path}[{key!r}]: only in {'rows' if key in expected else 'columns'}"
            else:
                yield from differences(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (left, right) in enumerate(zip(expected, actual)):
            yield from differences(left, right, f"{path}[{index}]")
        if len(expected) != len(actual):
            yield f"{path}: {len(expected)} items != {len(actual)} items"
    elif isinstance(expected, str) and isinstance(actual, str) and expected != actual:
        at = next(
            (i for i, (left, right) in enumerate(zip(expected, actual)) if left != right),
            min(len(expected), len(actual)),
        )
        start = max(at - 40, 0)
        yield (
            f"{path} from character {at}: "
            f"…{expected[start : at + 80]!r} != …{actual[start : at + 80]!r}"
        )
    elif expected != actual or type(expected) is not type(actual):
        yield f"{path}: {expected!r} != {actual!r}"


def assert_same(rows: Dump, columns: Dump, *, shown: int = 12) -> None:
    """Fail, naming the first differences, unless the dumps are equal."""
    found = []
    for difference in differences(rows, columns):
        found.append(difference[:400])
        if len(found) == shown:
            break
    assert not found, "the engines wrote differently (rows != columns):\n" + "\n".join(found)


def ledger_lines(tables: Dump) -> list[dict[str, str]]:
    """Every results-ledger line of a dump, as a dict."""
    return [
        line
        for name, lines in tables.items()
        if name.startswith("results ledger")
        for line in csv.DictReader(io.StringIO("".join(lines)))
    ]


def coverage(tables: Dump) -> set[str]:
    """What a dump shows happened: "outcome:…", "decision:…", "matched_by:…",
    "code:…" of its ledgers, and "manual" when a field is set by hand."""
    seen = set()
    for line in ledger_lines(tables):
        seen.add(f"outcome:{line['outcome']}")
        seen.update(f"code:{code}" for code in line["error_codes"].split())
        if line["decision"]:
            seen.add(f"decision:{line['decision']}")
        if line["matched_by"]:
            seen.add(f"matched_by:{line['matched_by']}")
    if any(MANUAL.search(row["provenance"]) for row in tables["core.Organization"]):
        seen.add("manual")
    return seen
