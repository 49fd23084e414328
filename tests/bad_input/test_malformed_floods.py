"""Catalogue: a file whose rows are mostly malformed fails with one message
naming where the damage starts, instead of a violation per line
(IMPORTER_MAX_MALFORMED_ROWS). Each file goes through the real pipeline."""

import pytest
from django.core.files.base import ContentFile

from core.models import Organization
from dq.models import Violation
from ingest import errors
from ingest.errors import FileError
from runs import services
from runs.execution import files as run_files
from runs.execution import partitions as runner
from runs.execution import runner as run_runner
from runs.models import ImportRun
from tests.importing import HEADER

GOOD = "".join(f"{i},Org {i},DE\n" for i in range(1, 10))
# An exporter that does not double the quotes inside quoted values.
UNPAIRED = "".join(f'{i},"Screen 27" Monitor",DE\n' for i in range(10, 5010))
UNPAIRED_ERROR = errors.BAD_CSV_ROW.format(
    detail="there is text after the closing quote of a quoted value"
)


def mostly_malformed(
    *, malformed: int, rows: int, limit: int, row: int, hint: str, error: str
) -> str:
    return errors.MOSTLY_MALFORMED.format(
        malformed=malformed,
        rows=rows,
        limit=limit,
        where=errors.DAMAGE_AT_ROW.format(row=row),
        hint=hint,
        error=error,
    )


def test_a_file_of_mostly_malformed_rows_fails_and_writes_nothing(run_bytes, settings):
    settings.IMPORTER_MAX_MALFORMED_ROWS = 50
    ended = run_bytes((HEADER + GOOD + UNPAIRED).encode())
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == mostly_malformed(
        malformed=51, rows=60, limit=50, row=11, hint=errors.HINT_QUOTES, error=UNPAIRED_ERROR
    )
    # The damage started in the first chunk: it was read whole before any write.
    assert ended.counts == (0, 0, 0)
    assert Organization.objects.count() == Violation.objects.count() == 0


def test_an_unclosed_quote_with_5000_lines_after_it_imports_as_partial(run_bytes, settings):
    # Reading starts again on the line after the quote's: one malformed row.
    settings.IMPORTER_MAX_MALFORMED_ROWS = 10
    text = (
        HEADER
        + GOOD
        + '10,"Acme unclosed,DE\n'
        + "".join(f"{i},Org {i},DE\n" for i in range(11, 5011))
    )
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("partial", (5010, 5009, 1))
    assert ended.messages() == [
        errors.BAD_CSV_ROW.format(
            detail="a quoted value is not closed before the end of the file (a stray quote?)"
        )
    ]


def test_a_few_malformed_rows_still_import_as_partial(run_bytes, settings):
    settings.IMPORTER_MAX_MALFORMED_ROWS = 10
    # 30 ragged rows in 1,500: over the limit, but far from half the file.
    text = HEADER + "".join(
        f"{i},Org {i},DE\n" if i % 50 else f"{i},Org {i}\n" for i in range(1, 1501)
    )
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("partial", (1500, 1470, 30))


def test_damage_after_the_first_chunk_fails_the_run_and_keeps_the_chunks_committed(
    run_bytes, settings
):
    # As for any failure in mid-file: committed chunks stay, counted.
    settings.IMPORTER_MAX_MALFORMED_ROWS = 50
    settings.IMPORTER_CHUNK_SIZE = 100
    text = HEADER + "".join(f"{i},Org {i},DE\n" for i in range(1, 301))
    text += "".join(f"{i};Org {i};DE\n" for i in range(301, 2000))
    ended = run_bytes(text.encode())
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == mostly_malformed(
        malformed=301,
        rows=601,
        limit=50,
        row=302,
        hint=errors.HINT_FIELD_COUNT,
        error=errors.WRONG_FIELD_COUNT.format(expected=3, found=1),
    )
    assert ended.counts == (600, 300, 300)  # six chunks committed; the seventh stopped
    assert Organization.objects.count() == 300


def test_a_dry_run_of_a_mostly_malformed_file_fails_and_keeps_no_violations(run_bytes, settings):
    settings.IMPORTER_MAX_MALFORMED_ROWS = 50
    settings.IMPORTER_CHUNK_SIZE = 100
    text = HEADER + "".join(f"{i},Org {i},DE\n" for i in range(1, 301))
    text += "".join(f"{i};Org {i};DE\n" for i in range(301, 2000))
    ended = run_bytes(text.encode(), dry_run=True)
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message.startswith(
        errors.MOSTLY_MALFORMED.split("{malformed")[0] + "301 of its first 601"
    )
    assert ended.counts == (0, 0, 0)
    assert Organization.objects.count() == Violation.objects.count() == 0


@pytest.mark.django_db
def test_every_partition_stops_at_the_same_row_with_the_same_message(settings):
    # Each partition job reads the whole file and keeps the rows whose
    # external id hashes to it; the malformed rows are counted before that,
    # over the whole file, so each partition fails the run the same way.
    settings.IMPORTER_MAX_MALFORMED_ROWS = 50
    settings.IMPORTER_PARTITIONS = 3
    settings.IMPORTER_PARTITION_MIN_BYTES = 0
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile((HEADER + GOOD + UNPAIRED).encode()),
        filename="orgs.csv",
    )
    expected = mostly_malformed(
        malformed=51, rows=60, limit=50, row=11, hint=errors.HINT_QUOTES, error=UNPAIRED_ERROR
    )
    for index in range(3):
        with pytest.raises(FileError) as info:
            list(
                runner.partition_rows(
                    run_files.run_reader(run), field="external_id", partitions=3, index=index
                )
            )
        assert str(info.value) == expected
    run_runner.run_execute(run_id=run.pk, in_process=True)
    run.refresh_from_db()
    assert (run.status, run.partitions, run.error_message) == (ImportRun.Status.FAILED, 3, expected)
    assert Organization.objects.count() == Violation.objects.count() == 0


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("empty_imports_queue")
def test_partition_jobs_on_the_queue_fail_the_run_once_with_the_message(settings):
    import django_rq

    settings.IMPORTER_MAX_MALFORMED_ROWS = 50
    settings.IMPORTER_PARTITIONS = 3
    settings.IMPORTER_PARTITION_MIN_BYTES = 0
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile((HEADER + GOOD + UNPAIRED).encode()),
        filename="orgs.csv",
    )
    services.run_enqueue(run=run)
    django_rq.get_worker("imports").work(burst=True)  # the run's job, then its three partition jobs
    run.refresh_from_db()
    assert (run.status, run.partitions) == (ImportRun.Status.FAILED, 3)
    assert run.error_message == mostly_malformed(
        malformed=51, rows=60, limit=50, row=11, hint=errors.HINT_QUOTES, error=UNPAIRED_ERROR
    )
    assert Organization.objects.count() == Violation.objects.count() == 0
