"""The hot path's shortcuts give exactly what the general code gives."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import provenance as stored
from ingest import survivorship
from tests.identity.helpers import import_text

ORIGIN = {"source": "crm", "run": 7, "at": "2024-05-01T12:00:00.000000+00:00", "manual": False}
FIELDS = ["name", "country", "registration_number", "website", "employees", "founded"]
values = st.one_of(st.none(), st.just(""), st.text(max_size=5), st.integers(-3, 3))


@given(st.fixed_dictionaries(dict.fromkeys(FIELDS, values)))
def test_fill_new_matches_merge_on_an_empty_record(incoming):
    defaults = {
        "name": "",
        "country": "",
        "registration_number": "",
        "website": "",
        "employees": None,
        "founded": None,
    }
    merged_values, merged_provenance = dict(defaults), {}
    changed, _ = survivorship.merge(merged_values, merged_provenance, incoming, origin=ORIGIN)
    filled_values, filled_provenance = dict(defaults), {}
    assert (
        survivorship.fill_new(filled_values, filled_provenance, incoming, origin=ORIGIN) == changed
    )
    assert filled_values == merged_values
    assert filled_provenance == merged_provenance


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
