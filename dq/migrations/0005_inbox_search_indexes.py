"""PostgreSQL only: indexes for the inbox's search at a million rows.

- a trigram GIN index on UPPER(payload::text), the expression Django's
  ``icontains`` on the text cast produces, so payload search is an index scan;
- a pattern index on external_id for prefix search (LIKE 'x%').
pg_trgm needs CREATE privilege on the database; without it the index is
skipped (search still works, by a sequential scan) and a warning is printed.
"""

from django.db import migrations, transaction

TRGM = (
    "CREATE INDEX IF NOT EXISTS dq_violation_payload_trgm ON dq_violation "
    "USING gin ((UPPER((payload)::text)) gin_trgm_ops)"
)
LIKE = (
    "CREATE INDEX IF NOT EXISTS dq_violation_external_id_like ON dq_violation "
    "(external_id varchar_pattern_ops)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(LIKE)
    try:
        with transaction.atomic(), schema_editor.connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # no privilege: keep going without the index
        print(f"\n  dq: pg_trgm unavailable ({exc}); payload search will scan.")
        return
    schema_editor.execute(TRGM)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS dq_violation_payload_trgm")
    schema_editor.execute("DROP INDEX IF EXISTS dq_violation_external_id_like")


class Migration(migrations.Migration):
    dependencies = [("dq", "0004_remediation_fields")]

    operations = [migrations.RunPython(create, drop)]
