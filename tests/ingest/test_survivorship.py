import datetime as dt

from ingest import survivorship
from ingest.survivorship import merge, release_manual

OLD = "2024-01-01T00:00:00.000000+00:00"
NEW = "2025-01-01T00:00:00.000000+00:00"


def origin(at, source="crm"):
    return {"source": source, "run": 1, "at": at, "manual": False}


def test_new_record_takes_every_non_empty_value():
    values, provenance = {"name": "", "email": ""}, {}
    changed, touched = merge(
        values, provenance, {"name": "Acme", "email": None}, origin=origin(OLD)
    )
    assert changed == ["name"] and touched
    assert values == {"name": "Acme", "email": ""}
    assert provenance["name"]["rule"] == "non_null" and "email" not in provenance


def test_most_recent_wins_and_older_loses():
    values, provenance = {"name": "Acme"}, {"name": origin(NEW)}
    assert merge(values, provenance, {"name": "Old Name"}, origin=origin(OLD)) == ([], False)
    assert values["name"] == "Acme"
    changed, _ = merge(
        values, provenance, {"name": "Newest"}, origin=origin("2026-01-01T00:00:00.000000+00:00")
    )
    assert changed == ["name"] and values["name"] == "Newest"
    assert provenance["name"]["rule"] == "most_recent"


def test_a_tie_goes_to_the_newcomer():
    values, provenance = {"name": "A"}, {"name": origin(OLD)}
    assert merge(values, provenance, {"name": "B"}, origin=origin(OLD, "erp"))[0] == ["name"]


def test_empty_never_erases():
    values, provenance = {"phone": "+4930123"}, {"phone": origin(OLD)}
    for empty in (None, ""):
        assert merge(values, provenance, {"phone": empty}, origin=origin(NEW)) == ([], False)
    assert values["phone"] == "+4930123"


def test_manual_beats_everything_until_released():
    values = {"name": "Hand Made"}
    provenance = {"name": {"manual": True, "at": OLD, "actor": "steward"}}
    assert merge(values, provenance, {"name": "Import"}, origin=origin(NEW)) == ([], False)
    assert release_manual(provenance) == ["name"]
    assert merge(values, provenance, {"name": "Import"}, origin=origin(NEW))[0] == ["name"]


def test_the_same_value_later_refreshes_provenance_without_a_change():
    values, provenance = {"name": "Acme"}, {"name": origin(OLD)}
    changed, touched = merge(values, provenance, {"name": "Acme"}, origin=origin(NEW, "erp"))
    assert changed == [] and touched
    assert provenance["name"]["at"] == NEW and provenance["name"]["source"] == "erp"
    # An older confirmation of the same value changes nothing.
    assert merge(values, provenance, {"name": "Acme"}, origin=origin(OLD)) == ([], False)


def test_a_time_is_written_in_utc_with_microseconds_whatever_its_zone():
    utc = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    paris = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert survivorship.timestamp(utc) == "2026-03-01T10:00:00.000000+00:00"
    assert survivorship.timestamp(paris) == survivorship.timestamp(utc)
