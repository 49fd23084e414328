"""Recompute the stored natural key of every organization with today's
core.keys: a registration number that says there is none ('n/a', 'none',
'0') no longer gives a key, and letters outside A-Z are no longer dropped
('ÄÖÜ 1' is 'DE:ÄÖÜ1', not 'DE:1'). Without it, rows imported from now on
would still match the old keys (the look-up reads the stored column).

In batches of BATCH organizations by id, writing only the keys that change.
Backwards it does nothing: the older code derives a record's key again on
its next write, and a key that no longer merges placeholders is harmless to
it. Contacts' keys (the lower-cased e-mail) did not change."""

from django.db import migrations

from core.keys import organization_key

BATCH = 2000


def recompute(apps, schema_editor):
    Organization = apps.get_model("core", "Organization")
    last_id = 0
    while True:
        rows = list(
            Organization.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "country", "registration_number", "natural_key")[:BATCH]
        )
        if not rows:
            return
        changed = [
            Organization(pk=pk, natural_key=key)
            for pk, country, number, stored in rows
            if (key := organization_key(country, number)) != stored
        ]
        Organization.objects.bulk_update(changed, ["natural_key"])
        last_id = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_provenance_stored_once"),
    ]

    operations = [
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
