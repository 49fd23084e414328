"""Give every violation its fingerprint, then merge today's duplicate open
(or requeued) violations into one per fingerprint before 0010 makes that a
constraint.

Per fingerprint with more than one open or requeued violation, the newest
(highest id) one stays: its payload and errors are the latest. It gets the
sum of the occurrences and the earliest run as ``first_seen_run``; the audit
rows of the others move to it, and the others are deleted.

Reverse: a no-op. The merged rows are gone and there is nothing to split
back; the fields themselves are removed by reversing 0008. The forward step
is tested on a copy with 100k violations (tests/dq/test_migration_merge.py).

The fingerprint of a row with an external id is worked out in SQL on
PostgreSQL (sha256 of ``target|source id|external id``, as
dq.fingerprints.of_external_id), in Python elsewhere; rows without a usable
external id (a row-level read error, a missing id) always in Python, as
dq.fingerprints.of_row. The key is
spelled here again on purpose: a migration must not change when app code does.
"""

import hashlib
import json

from django.db import migrations

LIVE = "('open', 'requeued')"


def _fingerprint(target, source_id, external_id, payload, errors, row_number):
    unreadable = any(not error.get("field") for error in errors or ())
    if not external_id or unreadable:
        text = json.dumps(payload or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        external_id = "raw:" + hashlib.sha256(text.encode()).hexdigest() + (f"#row{row_number}" if unreadable else "")
    return hashlib.sha256(f"{target}|{source_id}|{external_id}".encode()).hexdigest()


def fill(apps, schema_editor):
    Violation = apps.get_model("dq", "Violation")
    execute = schema_editor.execute
    execute("UPDATE dq_violation SET first_seen_run_id = run_id, last_seen_run_id = run_id WHERE first_seen_run_id IS NULL")
    execute("UPDATE dq_violation SET resolution = 'steward' WHERE status = 'resolved' AND resolution IS NULL")
    if schema_editor.connection.vendor == "postgresql":
        execute(
            "UPDATE dq_violation SET fingerprint = encode(sha256(convert_to("
            "target || '|' || source_id::text || '|' || external_id, 'UTF8')), 'hex') "
            "WHERE NOT dry_run AND fingerprint = '' AND external_id <> '' "
            "AND NOT errors @> '[{\"field\": \"\"}]'::jsonb"
        )
    rest = Violation.objects.filter(dry_run=False, fingerprint="").only(
        "id", "target", "source_id", "external_id", "payload", "errors", "row_number"
    )
    batch = []
    for violation in rest.iterator(chunk_size=2000):
        violation.fingerprint = _fingerprint(
            violation.target, violation.source_id, violation.external_id, violation.payload, violation.errors,
            violation.row_number,
        )
        batch.append(violation)
        if len(batch) == 2000:
            Violation.objects.bulk_update(batch, ["fingerprint"])
            batch = []
    Violation.objects.bulk_update(batch, ["fingerprint"])


MERGE = [
    # Each duplicate → the violation it merges into (the newest of its fingerprint).
    "CREATE TEMPORARY TABLE dq_merge AS SELECT d.id AS id, g.keep AS keep FROM dq_violation d JOIN ("
    f"  SELECT fingerprint, MAX(id) AS keep FROM dq_violation WHERE status IN {LIVE} AND dry_run = false"
    "   AND fingerprint <> '' GROUP BY fingerprint HAVING COUNT(*) > 1"
    f") g ON g.fingerprint = d.fingerprint WHERE d.status IN {LIVE} AND d.dry_run = false AND d.id <> g.keep",
    "CREATE INDEX dq_merge_id ON dq_merge (id)",
    "CREATE TEMPORARY TABLE dq_merge_sum AS SELECT m.keep AS keep, SUM(d.occurrences) AS occurrences,"
    " MIN(d.first_seen_run_id) AS first_run FROM dq_merge m JOIN dq_violation d ON d.id = m.id GROUP BY m.keep",
    "CREATE INDEX dq_merge_sum_keep ON dq_merge_sum (keep)",
    "UPDATE dq_violation SET"
    " occurrences = occurrences + (SELECT s.occurrences FROM dq_merge_sum s WHERE s.keep = dq_violation.id),"
    " first_seen_run_id = (SELECT CASE WHEN s.first_run < dq_violation.first_seen_run_id THEN s.first_run"
    "   ELSE dq_violation.first_seen_run_id END FROM dq_merge_sum s WHERE s.keep = dq_violation.id)"
    " WHERE id IN (SELECT keep FROM dq_merge_sum)",
    "UPDATE dq_remediationaudit SET violation_id = (SELECT m.keep FROM dq_merge m WHERE m.id = dq_remediationaudit.violation_id)"
    " WHERE violation_id IN (SELECT id FROM dq_merge)",
    "DELETE FROM dq_violation WHERE id IN (SELECT id FROM dq_merge)",
    "DROP TABLE dq_merge",
    "DROP TABLE dq_merge_sum",
]


def merge(apps, schema_editor):
    for statement in MERGE:
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    fill(apps, schema_editor)
    merge(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("dq", "0008_occurrences")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
