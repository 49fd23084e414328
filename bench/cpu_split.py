"""Where a PostgreSQL import's CPU goes: this process or the database server.

Runs ``import_file --sync --json`` in-process on DATABASE_URL and prints the
wall time, this process's CPU seconds and the CPU seconds of the PostgreSQL
backend serving its connection (read from /proc: run it on the database's
machine). On a shared machine the CPU figures are steadier than the wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb \\
        .venv/bin/python bench/cpu_split.py FILE [import_file options, e.g. --dry-run]

Target ``organization`` and source ``bench`` unless the options say otherwise.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "importer_project.settings")
# A throwaway key for this run (settings refuse to start without one when DEBUG is off).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(path: str, *options: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    if "--target" not in options:
        options += ("--target", "organization")
    if "--source" not in options:
        options += ("--source", "bench")
    server_start, client_start, wall_start = (
        backend_cpu(pid),
        time.process_time(),
        time.perf_counter(),
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            call_command("import_file", path, "--sync", "--json", *options)
        except SystemExit:
            pass
    wall, client = time.perf_counter() - wall_start, time.process_time() - client_start
    server = backend_cpu(pid) - server_start
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"wall {wall:.2f} s · client CPU {client:.2f} s · server CPU {server:.2f} s · "
        f"peak RSS {rss:.0f} MB · "
        f"{summary['status']}: inserted {summary['inserted']}, updated {summary['updated']}, "
        f"unchanged {summary['unchanged']}, skipped {summary['skipped']}, quarantined {summary['quarantined']}"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
