"""`make bench`: this project, its peer and the floor, side by side, in one run.

For every size (BENCH_SIZES, default 10k, 100k, 1M organization rows, 2%
invalid) and database (PostgreSQL and SQLite), each measurement runs in its
own subprocess on a fresh database copied from a migrated template:

- this project, ``import_file --sync --json``: fresh, the same file again,
  a file with 10% of rows changed (after the first two), and a dry run on a
  fresh database;
- the peer, django-import-export 4.x (bench/peer), fresh and dry run, up to
  BENCH_PEER_MAX_ROWS rows (the peer needs about 44 minutes for 1M);
- the floor (PostgreSQL only): COPY + INSERT … SELECT … ON CONFLICT, fresh
  and the same file again;
- this project reading the same rows from an xlsx workbook (fresh), at the
  sizes in BENCH_XLSX_SIZES (default 100k): the base CSV written as one
  sheet of text cells (XlsxWriter, a dev dependency), so the rows validated
  are the CSV's and the difference is the reading.

Seconds are the timed section each tool reports (the import, not the
interpreter start-up); peak RSS is the subprocess's own ``ru_maxrss`` from
``os.wait4``. Prints the table, writes bench/RESULTS.md and refreshes the
table in README.md between the bench markers.

Environment: BENCH_SIZES=10000,100000 · BENCH_DATABASES=postgresql,sqlite ·
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/importer_bench; the
database and ``<name>_template`` are dropped and re-created) ·
BENCH_PEER_MAX_ROWS=100000 · BENCH_PEER_DATABASES (default: all) · BENCH_XLSX_SIZES=100000 (empty: none) ·
BENCH_ENGINE_SIZES=100000 (sizes also imported by the per-row engine; empty: none) ·
BENCH_DIR (data files, default /tmp/importer-bench).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = str(ROOT / "manage.py")
RESULTS = ROOT / "bench" / "RESULTS.md"
README = ROOT / "README.md"
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
# A throwaway key for this run and its subprocesses (settings refuse to start without one when DEBUG is off).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
PROJECT = "importer"
PEER = "django-import-export"
FLOOR = "floor (COPY + INSERT … ON CONFLICT)"
XLSX_MODE = "fresh, from xlsx"
# The per-row engine (IMPORTER_ENGINE=rows), measured next to the default
# one at BENCH_ENGINE_SIZES: what the column-wise engine changes, one run.
ROWS_ENGINE_MODE = "fresh, rows engine"


@dataclass
class Measurement:
    database: str
    rows: int
    tool: str
    mode: str
    seconds: float
    rss_mb: float
    cpu_s: float
    summary: dict

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def run_measured(args: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run a subprocess; return its last stdout line as JSON, its own peak
    RSS in MB and its CPU seconds (``os.wait4`` gives this child's rusage, not
    the maximum over all children that RUSAGE_CHILDREN would give)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{stderr[-3000:]}")
    return (
        json.loads(stdout.strip().splitlines()[-1]),
        usage.ru_maxrss / 1024,
        usage.ru_utime + usage.ru_stime,
    )


class Databases:
    """Fresh databases for each measurement, copied from a migrated template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pg_url = os.environ.get(
            "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/importer_bench"
        )
        parts = urlsplit(self.pg_url)
        self.pg_name = parts.path.lstrip("/")
        self.pg_admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.sqlite_template = workdir / "template.sqlite3"
        self.sqlite_path = workdir / "bench.sqlite3"
        self.media = workdir / "media"

    def env(self, database: str, *, bench_settings: bool = False) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        env["DATABASE_URL"] = (
            self.pg_url if database == POSTGRESQL else f"sqlite:///{self.sqlite_path}"
        )
        env["MEDIA_ROOT"] = str(self.media)
        env["LOG_LEVEL"] = "WARNING"
        env["DJANGO_SETTINGS_MODULE"] = (
            "bench.settings" if bench_settings else "importer_project.settings"
        )
        return env

    def _pg(self, *statements: str) -> None:
        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def prepare(self, database: str) -> None:
        """Migrate the template once (with the bench app's table too)."""
        env = self.env(database, bench_settings=True)
        if database == POSTGRESQL:
            template = f"{self.pg_name}_template"
            self._pg(
                f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
                f'CREATE DATABASE "{template}"',
            )
            env["DATABASE_URL"] = self.pg_url.rsplit("/", 1)[0] + "/" + template
        else:
            self.sqlite_template.unlink(missing_ok=True)
            env["DATABASE_URL"] = f"sqlite:///{self.sqlite_template}"
        subprocess.run(
            [PYTHON, MANAGE, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )

    def fresh(self, database: str) -> None:
        shutil.rmtree(self.media, ignore_errors=True)
        if database == POSTGRESQL:
            self._pg(
                f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)',
                f'CREATE DATABASE "{self.pg_name}" TEMPLATE "{self.pg_name}_template"',
            )
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.sqlite_template, self.sqlite_path)

    def drop(self) -> None:
        self._pg(
            f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{self.pg_name}_template" WITH (FORCE)',
        )


def data_files(directory: Path, rows: int) -> tuple[Path, Path]:
    """The base file and its 10%-changed version (generated once, deterministic)."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"org{rows}.csv"
    changed = directory / f"org{rows}-changed10.csv"
    for path, extra in ((base, []), (changed, ["--changed-rate", "0.1"])):
        if not path.exists():
            subprocess.run(
                [
                    PYTHON,
                    MANAGE,
                    "generate_dataset",
                    "--target",
                    "organization",
                    "--rows",
                    str(rows),
                    "--seed",
                    "1",
                    "--invalid-rate",
                    "0.02",
                    "--out",
                    str(path),
                    *extra,
                ],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    return base, changed


def xlsx_file(csv_path: Path) -> Path:
    """The CSV file's rows as one sheet of an xlsx workbook next to it (made
    once): every cell a text cell, as the CSV reader reads them, so both
    imports validate the same values. Written in constant memory."""
    path = csv_path.with_suffix(".xlsx")
    if not path.exists():
        partial = path.with_suffix(".xlsx.partial")
        workbook = xlsxwriter.Workbook(
            str(partial), {"constant_memory": True, "strings_to_urls": False}
        )
        sheet = workbook.add_worksheet("Organizations")
        with csv_path.open(newline="", encoding="utf-8") as handle:
            for row, cells in enumerate(csv.reader(handle)):
                for column, value in enumerate(cells):
                    if value:
                        sheet.write_string(row, column, value)
        workbook.close()
        partial.rename(path)
    return path


def measure_xlsx(dbs: Databases, database: str, rows: int, workbook: Path) -> list[Measurement]:
    dbs.fresh(database)
    summary, rss, cpu = run_measured(
        [
            PYTHON,
            MANAGE,
            "import_file",
            str(workbook),
            "--target",
            "organization",
            "--source",
            "bench",
            "--sync",
            "--json",
        ],
        dbs.env(database),
    )
    return [
        Measurement(database, rows, PROJECT, XLSX_MODE, summary["duration_s"], rss, cpu, summary)
    ]


def measure_project(
    dbs: Databases, database: str, rows: int, base: Path, changed: Path, *, engines: bool
) -> list[Measurement]:
    def one(mode: str, path: Path, *extra: str, engine: str | None = None) -> Measurement:
        env = dbs.env(database)
        if engine is not None:
            env["IMPORTER_ENGINE"] = engine
        summary, rss, cpu = run_measured(
            [
                PYTHON,
                MANAGE,
                "import_file",
                str(path),
                "--target",
                "organization",
                "--source",
                "bench",
                "--sync",
                "--json",
                *extra,
            ],
            env,
        )
        return Measurement(database, rows, PROJECT, mode, summary["duration_s"], rss, cpu, summary)

    dbs.fresh(database)
    results = [one("fresh", base), one("same file again", base), one("10% changed", changed)]
    dbs.fresh(database)
    results.append(one("dry run", base, "--dry-run"))
    if engines:
        dbs.fresh(database)
        results.append(one(ROWS_ENGINE_MODE, base, engine="rows"))
    return results


def measure_peer(dbs: Databases, database: str, rows: int, base: Path) -> list[Measurement]:
    results = []
    for mode, extra in (("fresh", []), ("dry run", ["--dry-run"])):
        dbs.fresh(database)
        summary, rss, cpu = run_measured(
            [PYTHON, MANAGE, "bench_peer", str(base), *extra],
            dbs.env(database, bench_settings=True),
        )
        results.append(
            Measurement(database, rows, PEER, mode, summary["duration_s"], rss, cpu, summary)
        )
    return results


def measure_floor(dbs: Databases, rows: int, base: Path) -> list[Measurement]:
    dbs.fresh(POSTGRESQL)
    results = []
    for mode in ("fresh", "same file again"):
        summary, rss, cpu = run_measured(
            [PYTHON, MANAGE, "bench_floor", str(base)], dbs.env(POSTGRESQL, bench_settings=True)
        )
        results.append(
            Measurement(POSTGRESQL, rows, FLOOR, mode, summary["duration_s"], rss, cpu, summary)
        )
    return results


def reference(results: list[Measurement], m: Measurement, tool: str) -> Measurement | None:
    """The peer or floor measurement to compare ``m`` with: same database,
    size and mode, else fresh. When the peer was not run at this size
    (BENCH_PEER_MAX_ROWS), its largest measured size on the same database
    stands in: its rows/s hardly depends on the size (every row costs the
    same round trips), which the table marks."""
    candidates = [r for r in results if r.tool == tool and r.database == m.database]
    sizes = sorted({r.rows for r in candidates if r.rows <= m.rows}, reverse=True)
    if not sizes or (tool != PEER and sizes[0] != m.rows):
        return None
    candidates = [r for r in candidates if r.rows == sizes[0]]
    return next((r for r in candidates if r.mode == m.mode), None) or next(
        (r for r in candidates if r.mode == "fresh"), None
    )


def table(results: list[Measurement]) -> str:
    lines = [
        "| database | rows | tool, mode | seconds | rows/s | peak RSS MB | process CPU s | rows/s vs peer | time vs floor |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        peer = reference(results, m, PEER) if m.tool == PROJECT else None
        floor = reference(results, m, FLOOR) if m.tool == PROJECT else None
        versus_peer = f"{m.rows_per_s / peer.rows_per_s:.0f}×" if peer else ""
        if peer and peer.rows != m.rows:
            versus_peer += f" (peer at {peer.rows:,})"
        lines.append(
            f"| {m.database} | {m.rows:,} | {m.tool}, {m.mode} | {m.seconds:.2f} | {m.rows_per_s:,.0f} "
            f"| {m.rss_mb:.0f} | {m.cpu_s:.1f} | {versus_peer} "
            f"| {f'{m.seconds / floor.seconds:.1f}×' if floor else ''} |"
        )
    return "\n".join(lines)


def find(
    results: list[Measurement], database: str, rows: int, tool: str, mode: str
) -> Measurement | None:
    return next(
        (
            r
            for r in results
            if (r.database, r.rows, r.tool, r.mode) == (database, rows, tool, mode)
        ),
        None,
    )


def target_checks(results: list[Measurement]) -> list[str]:
    """The issue's targets (PostgreSQL, one worker), as far as this run measured them."""
    lines = []

    def check(name: str, ok: bool, detail: str) -> None:
        lines.append(f"- {'PASS' if ok else 'FAIL'} {name}: {detail}")

    pg = POSTGRESQL
    fresh = find(results, pg, 100_000, PROJECT, "fresh")
    if fresh:
        peer = reference(results, fresh, PEER)
        floor = find(results, pg, 100_000, FLOOR, "fresh")
        again = find(results, pg, 100_000, PROJECT, "same file again")
        dry = find(results, pg, 100_000, PROJECT, "dry run")
        if peer:
            ratio = fresh.rows_per_s / peer.rows_per_s
            check(
                "100k fresh ≥ 50× the peer's rows/s",
                ratio >= 50,
                f"{ratio:.0f}×"
                + (f" (peer measured at {peer.rows:,} rows)" if peer.rows != fresh.rows else ""),
            )
        if floor:
            ratio = fresh.seconds / floor.seconds
            check("100k fresh within 3× of the floor", ratio <= 3, f"{ratio:.1f}× the floor's time")
        if again:
            ratio = fresh.seconds / again.seconds
            check(
                "100k unchanged re-import ≥ 2× faster than fresh",
                ratio >= 2,
                f"{ratio:.1f}× faster",
            )
        if dry:
            check(
                "100k dry run no slower than the import",
                dry.seconds <= fresh.seconds,
                f"{dry.seconds:.2f} s vs {fresh.seconds:.2f} s",
            )
    big = find(results, pg, 1_000_000, PROJECT, "fresh")
    if big:
        check("1M peak RSS < 200 MB", big.rss_mb < 200, f"{big.rss_mb:.0f} MB")
        if fresh:
            growth = big.rss_mb / fresh.rss_mb - 1
            check("1M needs ≤ 20% more memory than 100k", growth <= 0.2, f"{growth:+.0%}")
    return lines


def machine() -> str:
    with psycopg.connect(Databases(Path(".")).pg_admin_url) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    import django
    import import_export

    return (
        f"{os.cpu_count()} CPUs · Python {platform.python_version()} · Django {django.__version__} · "
        f"PostgreSQL {pg_version} · SQLite {sqlite3.sqlite_version} · "
        f"django-import-export {import_export.__version__} · psycopg {psycopg.__version__}"
    )


def write_outputs(results: list[Measurement], sizes: list[int], elapsed: float) -> str:
    text = table(results)
    checks = target_checks(results)
    sizes_text = ", ".join(f"{size:,}" for size in sizes)
    body = (
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `make bench` "
        f"(sizes {sizes_text}; {elapsed / 60:.0f} min): {machine()}.\n"
        'Organization CSV from `generate_dataset --seed 1` (2% invalid rows; "fresh, from xlsx": the\n'
        "same rows as one sheet of an xlsx workbook, text cells); a fresh database per\n"
        "measurement; seconds = the timed import section each tool reports; peak RSS = the\n"
        "subprocess's ru_maxrss (Django start-up included); process CPU s = its user + system\n"
        "time, start-up included (the machine is shared: wall time includes waiting for a core,\n"
        'CPU time does not). "rows/s vs peer" compares with the\n'
        "peer's same mode (else its fresh import); \"time vs floor\" divides by the floor's time.\n\n"
        f"{text}\n"
    )
    if checks:
        body += "\nTargets (PostgreSQL, one worker):\n\n" + "\n".join(checks) + "\n"
    RESULTS.write_text("# Benchmark results\n\n" + body)
    readme = README.read_text()
    if README_START in readme and README_END in readme:
        head, rest = readme.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        README.write_text(f"{head}{README_START}\n{body}{README_END}{tail}")
    return text + ("\n\n" + "\n".join(checks) if checks else "")


def main() -> None:
    sizes = [int(size) for size in env_list("BENCH_SIZES", "10000,100000,1000000")]
    databases = env_list("BENCH_DATABASES", f"{POSTGRESQL},{SQLITE}")
    unknown = set(databases) - {POSTGRESQL, SQLITE}
    if unknown:
        sys.exit(
            f"BENCH_DATABASES: unknown {', '.join(sorted(unknown))}; use postgresql and/or sqlite"
        )
    peer_max = int(os.environ.get("BENCH_PEER_MAX_ROWS", "100000"))
    peer_databases = env_list("BENCH_PEER_DATABASES", ",".join(databases))
    xlsx_sizes = {int(size) for size in env_list("BENCH_XLSX_SIZES", "100000")}
    engine_sizes = {int(size) for size in env_list("BENCH_ENGINE_SIZES", "100000")}
    data_dir = Path(os.environ.get("BENCH_DIR", Path(tempfile.gettempdir()) / "importer-bench"))
    started = dt.datetime.now()
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="importer-bench-") as workdir:
        dbs = Databases(Path(workdir))
        for database in databases:
            dbs.prepare(database)
        try:
            for rows in sizes:
                base, changed = data_files(data_dir, rows)
                for database in databases:
                    steps = [
                        lambda: measure_project(
                            dbs, database, rows, base, changed, engines=rows in engine_sizes
                        )
                    ]
                    if rows in xlsx_sizes:
                        steps.append(lambda: measure_xlsx(dbs, database, rows, xlsx_file(base)))
                    if rows <= peer_max and database in peer_databases:
                        steps.append(lambda: measure_peer(dbs, database, rows, base))
                    if database == POSTGRESQL:
                        steps.append(lambda: measure_floor(dbs, rows, base))
                    for step in steps:
                        for m in step():
                            results.append(m)
                            print(
                                f"{m.database:10} {m.rows:>9,} {m.tool}, {m.mode}: {m.seconds:.2f} s, "
                                f"{m.rows_per_s:,.0f} rows/s, {m.rss_mb:.0f} MB, {m.cpu_s:.1f} CPU s",
                                flush=True,
                            )
                        # Written as it goes: an interrupted run still leaves its figures.
                        write_outputs(results, sizes, (dt.datetime.now() - started).total_seconds())
        finally:
            if POSTGRESQL in databases:
                dbs.drop()
    elapsed = (dt.datetime.now() - started).total_seconds()
    print()
    print(write_outputs(results, sizes, elapsed))


if __name__ == "__main__":
    main()
