"""The column-wise checks (ingest/columns.py) against the row check, on a file.

Reads FILE (CSV) with csv.DictReader, cuts it into chunks and times, in
client CPU seconds (``time.process_time``): the row check of every row
(``fields.compile_row_check``, and with ``trimmed_hash``), and
``ColumnCheck.read`` + ``check`` of every row, with the share of the
national phone numbers' parse. Then compares the two row by row: every
vouched row's clean values (types and tzinfo included) and every hash.

    .venv/bin/python bench/column_checks.py FILE [--target organization] [--chunk 2000]
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "importer_project.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--target", default="organization")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    import django

    django.setup()
    from ingest import columns, registry
    from ingest import fields as rules

    target = registry.get(options.target)
    with open(options.file, encoding="utf-8", newline="") as file:
        payloads = list(csv.DictReader(file))
    size = options.chunk
    chunks = [payloads[start : start + size] for start in range(0, len(payloads), size)]
    check_row = rules.compile_row_check(target.fields)
    column_check = columns.ColumnCheck(target.fields)

    parse = rules._e164
    spent = [0.0]

    def timed_parse(raw: str, region: str | None) -> str:
        start = time.process_time()
        try:
            return parse(raw, region)
        finally:
            spent[0] += time.process_time() - start

    # The pipeline imports with fewer collections (runs.execution.collector).
    gc.set_threshold(20_000)
    for _ in range(options.rounds):
        start = time.process_time()
        for chunk in chunks:
            for payload in chunk:
                check_row(payload)
        rows = time.process_time() - start
        start = time.process_time()
        for chunk in chunks:
            for payload in chunk:
                _, errors, trimmed = check_row(payload)
                if trimmed is not None:
                    rules.trimmed_hash(trimmed)
        rows_hashed = time.process_time() - start
        spent[0] = 0.0
        rules._e164 = timed_parse
        start = time.process_time()
        for chunk in chunks:
            read = column_check.read(chunk)
            assert read is not None
            column_check.check(read, range(len(chunk)))
        cols = time.process_time() - start
        rules._e164 = parse
        print(
            f"row check {rows:.3f} s (with trimmed_hash {rows_hashed:.3f} s); "
            f"read + check {cols:.3f} s ({cols / rows:.0%}), "
            f"of which national phone numbers {spent[0]:.3f} s"
        )

    valid = vouched = wrong = 0
    for chunk in chunks:
        read = column_check.read(chunk)
        assert read is not None
        for payload, clean, hashed in zip(
            chunk, column_check.check(read, range(len(chunk))), read.hashes, strict=True
        ):
            expected, errors, trimmed = check_row(payload)
            assert trimmed is not None and hashed == rules.trimmed_hash(trimmed)
            valid += not errors
            if clean is not None:
                vouched += 1
                wrong += bool(
                    errors
                    or list(clean.items()) != list(expected.items())
                    or list(map(type, clean.values())) != list(map(type, expected.values()))
                )
    print(
        f"{len(payloads)} rows, {valid} valid, {vouched} vouched "
        f"({vouched / max(valid, 1):.2%} of the valid), {wrong} vouched wrongly"
    )


if __name__ == "__main__":
    main()
