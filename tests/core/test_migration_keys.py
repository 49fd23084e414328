"""Migration 0003 recomputes the natural key stored on every organization
with core/keys.py (placeholders give none, letters outside A-Z stay), in
batches, writing only what changed. Run forward from 0002 on real rows."""

import importlib

import pytest

from tests.migrating import latest, migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("core", "0002_provenance_stored_once")]
AFTER = [("core", "0003_recompute_organization_keys")]
MIGRATION = importlib.import_module("core.migrations.0003_recompute_organization_keys")


@pytest.fixture
def at_0002():
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def test_stored_keys_are_recomputed_in_batches(at_0002, monkeypatch):
    monkeypatch.setattr(MIGRATION, "BATCH", 2)  # several batches, one partly full
    Organization = at_0002.get_model("core", "Organization")
    # The keys as the old rule (only 0-9 and A-Z kept) stored them.
    stored = [
        ("Alpha Bakery", "n/a", "DE:NA"),
        ("Gamma Tech", "none", "DE:NONE"),
        ("Eta Co", "ÄÖÜ 1", "DE:1"),
        ("Theta Co", "1", "DE:1"),
        ("Acme", "HRB 1", "DE:HRB1"),
        ("Zero", "000", "DE:000"),
        ("Nameless", "", None),
    ]
    ids = {
        name: Organization.objects.create(
            name=name, country="DE", registration_number=number, natural_key=key
        ).pk
        for name, number, key in stored
    }
    modified = dict(Organization.objects.values_list("name", "modified_at"))

    apps = migrate(AFTER)
    Organization = apps.get_model("core", "Organization")
    assert dict(Organization.objects.values_list("name", "natural_key")) == {
        "Alpha Bakery": None,
        "Gamma Tech": None,
        "Eta Co": "DE:ÄÖÜ1",
        "Theta Co": "DE:1",
        "Acme": "DE:HRB1",
        "Zero": None,
        "Nameless": None,
    }
    assert sorted(Organization.objects.values_list("pk", flat=True)) == sorted(ids.values())
    assert dict(Organization.objects.values_list("name", "modified_at")) == modified

    # Backwards it changes nothing, and forwards again is the same.
    migrate(BEFORE)
    apps = migrate(AFTER)
    Organization = apps.get_model("core", "Organization")
    assert Organization.objects.get(name="Eta Co").natural_key == "DE:ÄÖÜ1"
