"""The hot path's shortcuts give exactly what the general code gives."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import provenance as stored
from ingest import registry, survivorship
from ingest.steps.layout import RecordLayout
from ingest.steps.merge import Merger
from ingest.steps.types import DECISION_INSERTED, INSERTED, Record, Row
from tests.identity.helpers import import_text

ORIGIN = {"source": "crm", "run": 7, "at": "2024-05-01T12:00:00.000000+00:00", "manual": False}
FIELDS = ["name", "country", "registration_number", "website", "employees", "founded"]
values = st.one_of(st.none(), st.just(""), st.text(max_size=5), st.integers(-3, 3))


IMPORTED_AT = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
stamps = st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC)))


@given(
    st.fixed_dictionaries(dict.fromkeys(FIELDS, values)), stamps, st.sampled_from(["crm", 'ä"b'])
)
def test_fill_new_gives_what_merge_gives_on_a_new_record(data, stamp, source):
    layout = RecordLayout(registry.get("organization"))
    merger = Merger(layout, source_slug=source, run_id=7, imported_at=IMPORTED_AT)
    clean = {name: data.get(name) for name, _ in layout.data_fields} | {"updated_at": stamp}
    row = Row(number=1, payload={}, clean=clean, decision=DECISION_INSERTED)
    row.record = Record(None, dict(layout.defaults), {})
    merger.fill_new(row)

    values, provenance = dict(layout.defaults), {}
    origin = {
        "source": source,
        "run": 7,
        "at": survivorship.timestamp(stamp or IMPORTED_AT),
        "manual": False,
    }
    incoming = {column: clean[name] for name, column in layout.data_fields}
    changed, _ = survivorship.merge(values, provenance, incoming, origin=origin)
    assert row.changed_fields == changed
    assert row.record.values == values
    assert row.record.provenance == provenance
    assert row.record.stored_provenance == stored.Dumps()(provenance)
    assert row.outcome == INSERTED


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=4),
        st.sampled_from(["shared", "other", "manual"]),
        max_size=6,
    )
)
def test_provenance_dumps_is_json_of_the_stored_form(layout):
    entries = {
        "shared": {**ORIGIN, "rule": "non_null"},
        "other": {**ORIGIN, "rule": "most_recent", "at": "2020-01-01T00:00:00.000000+00:00"},
        "manual": {"manual": True, "actor": 'ä"s', "at": ORIGIN["at"], "rule": "manual"},
    }
    provenance = {field: entries[kind] for field, kind in layout.items()}
    serialize = stored.Dumps()
    assert json.loads(serialize(provenance)) == stored.compact(provenance)
    assert json.loads(serialize(provenance)) == stored.compact(
        provenance
    )  # cached pieces and entries
    assert stored.loads(serialize(provenance)) == provenance


def test_provenance_entries_orjson_refuses_are_serialized_by_json():
    huge = {**ORIGIN, "run": 2**70, "rule": "non_null"}
    assert json.loads(stored.Dumps()({"name": huge})) == {"entries": [huge], "fields": {"name": 0}}


def test_merge_shares_one_entry_per_rule():
    provenance = {}
    survivorship.merge({"a": "", "b": ""}, provenance, {"a": "x", "b": "y"}, origin=ORIGIN)
    assert provenance["a"] is provenance["b"]


def test_stored_provenance_keeps_each_entry_once_and_shares_it_again():
    entry = {**ORIGIN, "rule": "non_null"}
    other = {**ORIGIN, "rule": "most_recent"}
    provenance = {"name": entry, "country": entry, "website": other, "email": dict(entry)}
    kept = stored.compact(provenance)
    assert kept == {
        "entries": [entry, other],
        "fields": {"name": 0, "country": 0, "website": 1, "email": 0},
    }
    expanded = stored.expand(json.loads(json.dumps(kept)))
    assert expanded == provenance
    assert expanded["name"] is expanded["country"] is expanded["email"]


def test_provenance_stored_per_field_is_read_as_it_is():
    legacy = {"name": {**ORIGIN, "rule": "non_null"}}
    assert stored.loads(json.dumps(legacy)) == legacy
    assert stored.loads(None) == {} and stored.loads("{}") == {}


@pytest.mark.django_db
def test_a_row_imported_before_with_the_same_values_is_skipped_without_being_checked_again(
    monkeypatch,
):
    from ingest import fields as rules

    header = "external_id,name,country,email,updated_at\n"
    first = import_text(header + "A,Acme,DE,a@acme.de,2024-01-01T00:00:00Z\nB,Beta,FR,,\n")
    assert first.inserted == 2
    checked = []
    compile_row_check = rules.compile_row_check

    def counting(fields):
        check = compile_row_check(fields)
        return lambda payload: checked.append(payload["external_id"]) or check(payload)

    monkeypatch.setattr(rules, "compile_row_check", counting)
    # A: other whitespace only (same trimmed values); B: a new value; C: new.
    again = import_text(
        header
        + " A , Acme ,DE,a@acme.de ,2024-01-01T00:00:00Z\nB,Beta,FR,b@beta.fr,\nC,Gamma,IT,,\n"
    )
    assert (again.skipped, again.updated, again.inserted) == (1, 1, 1)
    assert checked == ["B", "C"]


def test_dry_run_values_are_json_with_iso_dates_whatever_the_encoder():
    from ingest.results import _encode_values

    values = {
        "name": 'Núñez "AS"\n',
        "employees": 302,
        "website": None,
        "founded": dt.date(2010, 9, 11),
        "updated_at": dt.datetime(2020, 2, 17, 2, 31, 49, 5, tzinfo=dt.UTC),
    }
    expected = {
        **values,
        "founded": "2010-09-11",
        "updated_at": "2020-02-17T02:31:49.000005+00:00",
    }
    assert json.loads(_encode_values(values)) == expected
    assert "Núñez" in _encode_values(values)  # kept readable, not \\u-escaped
    huge = {"employees": 10**30}  # past orjson's 64 bits: json takes it
    assert json.loads(_encode_values(huge)) == huge


@pytest.mark.django_db
def test_a_new_record_a_later_row_merges_into_keeps_that_rows_provenance():
    """The second row finds the first one's new record by natural key: the
    record is filled from the first row, then merged with the second, and
    what is stored says so (not the first row's fill alone)."""
    from core.models import Organization

    run = import_text(
        "external_id,name,country,registration_number,updated_at\n"
        "A,Acme,DE,HRB 1,2024-01-01T00:00:00Z\n"
        "B,Acme GmbH,DE,HRB-1,2024-02-01T00:00:00Z\n"
    )
    assert (run.inserted, run.updated) == (1, 1)
    record = Organization.objects.get()
    assert record.name == "Acme GmbH"
    assert record.provenance["name"]["at"] == "2024-02-01T00:00:00.000000+00:00"
    assert record.registration_number == "HRB-1"
