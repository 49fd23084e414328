"""The floor: what PostgreSQL itself needs to load the file, with no Python per
row. COPY the CSV into a temporary staging table, then one
INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM, with the
checks written in SQL (required name, known country, e-mail and integer
shapes). Prints the timed section as JSON."""

import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from ingest.fields import COUNTRY_CODES

FILE_COLUMNS = [
    "external_id",
    "name",
    "country",
    "registration_number",
    "website",
    "email",
    "phone",
    "industry",
    "employees",
    "founded",
    "updated_at",
]
DATA_COLUMNS = FILE_COLUMNS[1:-1]
TABLE = "bench_peer_benchorganization"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

UPSERT = f"""
INSERT INTO {TABLE} (external_id, {", ".join(DATA_COLUMNS)})
SELECT DISTINCT ON (external_id)
       external_id, name, upper(country), coalesce(registration_number, ''),
       coalesce(website, ''), coalesce(email, ''), coalesce(phone, ''),
       coalesce(industry, ''), employees::integer, founded::date
  FROM bench_staging
 WHERE name <> '' AND upper(country) = ANY(%s)
   AND (email IS NULL OR email ~ %s)
   AND (employees IS NULL OR employees ~ '^[0-9]+$')
 ORDER BY external_id
ON CONFLICT (external_id) DO UPDATE SET
  {", ".join(f"{c} = excluded.{c}" for c in DATA_COLUMNS)}
WHERE ({", ".join(f"{TABLE}.{c}" for c in DATA_COLUMNS)})
      IS DISTINCT FROM ({", ".join(f"excluded.{c}" for c in DATA_COLUMNS)})
"""


class Command(BaseCommand):
    help = "Benchmark only: load an organization CSV with COPY + INSERT … ON CONFLICT (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The floor is measured on PostgreSQL only.")
        started = time.perf_counter()
        with transaction.atomic():
            connection.ensure_connection()
            raw = connection.connection
            with raw.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE bench_staging ("
                    + ", ".join(f"{c} text" for c in FILE_COLUMNS)
                    + ") ON COMMIT DROP"
                )
                with (
                    open(options["path"], "rb") as handle,
                    cursor.copy(
                        "COPY bench_staging FROM STDIN WITH (FORMAT csv, HEADER true)"
                    ) as copy,
                ):
                    while block := handle.read(1 << 20):
                        copy.write(block)
                cursor.execute(UPSERT, [sorted(COUNTRY_CODES), EMAIL])
                written = cursor.rowcount
        duration = time.perf_counter() - started
        self.stdout.write(json.dumps({"duration_s": round(duration, 3), "written": written}))
