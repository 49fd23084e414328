"""Property tests of identity and survivorship over random sequences of
imports (organizations from two sources, small pools of ids and keys so that
rows collide on external ids, natural keys and fields):

- the final core state does not depend on the chunk size;
- it equals importing the rows one by one (each row its own run);
- re-importing any prefix of what was imported changes nothing.

Each example runs inside a transaction that is rolled back, so examples and
the executions compared within one example start from an empty database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.identity.helpers import core_state, import_text

COLUMNS = [
    "external_id",
    "name",
    "country",
    "registration_number",
    "email",
    "employees",
    "updated_at",
]
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

rows_strategy = st.fixed_dictionaries(
    {
        "external_id": st.sampled_from(["E1", "E2", "E3", "E4", "E5"]),
        "name": st.sampled_from(["Acme", "Beta", "Gamma"]),
        "country": st.sampled_from(["DE", "DE", "FR", "de", "XX"]),  # XX is quarantined
        "registration_number": st.sampled_from(["", "HRB 1", "hrb-1", "2", "3"]),
        "email": st.sampled_from(["", "a@x.example", "b@x.example"]),
        "employees": st.sampled_from(["", "5", "7"]),
        "updated_at": st.one_of(st.just(""), st.integers(0, 40)),
    }
)
# A file: new rows, or (an integer) an exact repeat of an earlier row of the file.
file_strategy = st.lists(st.one_of(rows_strategy, st.integers(0, 6)), min_size=1, max_size=8)
imports_strategy = st.lists(
    st.tuples(st.sampled_from(["crm", "erp"]), file_strategy), min_size=1, max_size=4
)

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class _Rollback(Exception):
    pass


def materialize(
    imports: list, *, stamp_every_row: bool = False
) -> list[tuple[str, list[dict[str, str]]]]:
    """Turn drawn imports into (source, rows) with repeats resolved and
    timestamps as text. With ``stamp_every_row`` every new row gets a
    distinct timestamp (ties would let a re-imported row win)."""
    result = []
    serial = 0
    for source, drawn in imports:
        rows: list[dict[str, str]] = []
        for item in drawn:
            if isinstance(item, int):
                if item < len(rows):
                    rows.append(dict(rows[item]))
                continue
            row = {key: value for key, value in item.items() if key != "updated_at"}
            serial += 1
            stamp = item["updated_at"]
            if stamp_every_row:
                stamp = (stamp or 0) * 1000 + serial
            row["updated_at"] = (
                (EPOCH + dt.timedelta(seconds=stamp)).isoformat() if stamp != "" else ""
            )
            rows.append(row)
        if rows:
            result.append((source, rows))
    return result


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def final_state(files, *, chunk_size: int = 2000, then=None, **state_options) -> Any:
    """Import the files in order with this chunk size, optionally call
    ``then(state)``, and return the core state; everything is rolled back."""
    result = None
    try:
        with override_settings(IMPORTER_CHUNK_SIZE=chunk_size), transaction.atomic():
            for source, rows in files:
                import_text(to_csv(rows), source=source)
            result = core_state(**state_options)
            if then is not None:
                then(result)
            raise _Rollback
    except _Rollback:
        pass
    return result


def without_conflicts(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of a file minus those quarantined as duplicate_in_file (same
    external id as an earlier row, other values): a file of single rows
    would import them."""
    first: dict[str, dict[str, str]] = {}
    kept = []
    for row in rows:
        earlier = first.setdefault(row["external_id"], row)
        if earlier is row or earlier == row:
            kept.append(row)
    return kept


@pytest.mark.django_db(transaction=False)
@PROPERTY_SETTINGS
@given(imports=imports_strategy, chunk_size=st.integers(1, 5))
def test_the_final_state_does_not_depend_on_chunk_size(imports, chunk_size):
    files = materialize(imports)
    whole = final_state(files, chunk_size=2000)
    assert final_state(files, chunk_size=chunk_size) == whole
    assert final_state(files, chunk_size=1) == whole


@pytest.mark.django_db(transaction=False)
@PROPERTY_SETTINGS
@given(imports=imports_strategy)
def test_the_final_state_equals_importing_the_rows_one_by_one(imports):
    """Each row its own run: the same values, the same winning source per
    field and the same id map. (Run ids, times and the rule name of a
    same-value confirmation legitimately differ between one run and many.)"""
    files = [(source, without_conflicts(rows)) for source, rows in materialize(imports)]
    one_by_one = [(source, [row]) for source, rows in files for row in rows]
    keep = ("source", "manual")
    assert final_state(one_by_one, keep_provenance=keep) == final_state(files, keep_provenance=keep)


@pytest.mark.django_db(transaction=False)
@PROPERTY_SETTINGS
@given(imports=imports_strategy, data=st.data())
def test_reimporting_any_prefix_changes_nothing(imports, data):
    """With every row stamped (distinct times), re-importing the first files
    and a prefix of the next one leaves the core records and the id map's
    record ids as they were."""
    files = materialize(imports, stamp_every_row=True)
    assume(files)
    cut = data.draw(st.integers(0, len(files) - 1), label="file")
    keep_rows = data.draw(st.integers(1, len(files[cut][1])), label="rows")
    prefix = files[:cut] + [(files[cut][0], files[cut][1][:keep_rows])]

    def reimport_prefix(before):
        for source, rows in prefix:
            import_text(to_csv(rows), source=source)
        after = core_state()
        for state in (before, after):
            state["id_map"] = [mapping[:4] for mapping in state["id_map"]]  # not the payload hash
        # Provenance names the run that set a value; a no-op run must not appear.
        assert after == before

    final_state(files, then=reimport_prefix)
