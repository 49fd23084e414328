"""The column-wise engine's lane (ingest/steps/lane.py): which chunks it
takes, and that a chunk it leaves to the steps is not checked twice.
What it writes is held to the per-row engine's by test_engine_parity.py."""

from unittest import mock

import pytest

from core.models import Contact
from dq.models import Violation
from ingest import columns
from ingest.steps.lane import NewRecordsLane
from ingest.steps.validate import Validator
from tests.importing import import_bytes

HEADER = "external_id,name,country,email\n"


def import_counting(content: str, **options):
    """Import under the columns engine; returns the run, how many chunks the
    lane took and declined, and how many rows the validate step checked."""
    lane, checked = {"taken": 0, "declined": 0}, []
    process, validate_row = NewRecordsLane.process, Validator.validate_row

    def counted(self, rows, **options):
        taken = process(self, rows, **options)
        lane["taken" if taken else "declined"] += 1
        return taken

    def counted_row(self, row, mapping):
        checked.append(row.number)
        return validate_row(self, row, mapping)

    with (
        mock.patch.object(NewRecordsLane, "process", counted),
        mock.patch.object(Validator, "validate_row", counted_row),
    ):
        run = import_bytes(content, **options)
    return run, lane, checked


@pytest.mark.django_db
def test_a_chunk_of_new_records_is_taken_whole():
    run, lane, checked = import_counting(
        HEADER + "A-1,Acme,DE,info@acme.example\nA-2,Beta,FR,\nA-3,,IT,\n"
    )
    assert (run.inserted, run.quarantined) == (2, 1)
    assert lane == {"taken": 1, "declined": 0}
    assert checked == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows",
    [
        "A-1,Acme,DE,\nA-1,Acme GmbH,DE,\n",  # an external id twice
        "A-1,Acme,DE,info@bäckerei.de\nA-2,Beta,FR,\n",  # valid, not vouched for
    ],
    ids=["repeat", "unvouched"],
)
def test_a_chunk_left_to_the_steps_is_not_checked_again(rows):
    run, lane, checked = import_counting(HEADER + rows)
    assert run.rows_total == 2
    assert lane == {"taken": 0, "declined": 1}
    assert checked == []


@pytest.mark.django_db
def test_a_chunk_with_an_external_id_known_to_the_id_map_never_reaches_the_lane():
    import_bytes(HEADER + "A-1,Acme,DE,\n")
    run, lane, checked = import_counting(HEADER + "A-1,Acme AG,DE,\nA-2,Beta,FR,\n")
    assert (run.updated, run.inserted) == (1, 1)
    assert lane == {"taken": 0, "declined": 0}
    assert checked == [2, 3]


@pytest.mark.django_db
def test_a_file_the_columns_cannot_vouch_for_is_looked_at_one_chunk_in_ten(settings):
    """Times to the hour: valid, but not a shape the columns vouch for.
    After the first chunk the lane rests nine, then looks again."""
    settings.IMPORTER_CHUNK_SIZE = 1
    rows = "".join(f"A-{n},Org {n},DE,2024-05-01T12\n" for n in range(12))
    looked = []
    check_frame = columns.ColumnCheck.check_frame

    def counted(self, chunk):
        looked.append(chunk.frame.height)
        return check_frame(self, chunk)

    with mock.patch.object(columns.ColumnCheck, "check_frame", counted):
        run = import_bytes("external_id,name,country,updated_at\n" + rows)
    assert run.inserted == 12
    assert len(looked) == 2  # chunks 1 and 11


@pytest.mark.django_db
def test_a_chunk_with_references_takes_the_lane():
    """A contact's organization resolves through the id map for the whole
    chunk: known ones become the organization's id, an unknown one
    quarantines its row with the references step's message."""
    import_bytes(HEADER + "ORG-1,Acme,DE,\n")
    run, lane, checked = import_counting(
        "external_id,organization_external_id,last_name\n"
        "C-1,ORG-1,Known\nC-2,ORG-9,Unknown\nC-3,,None\n",
        target="contact",
    )
    assert (run.inserted, run.quarantined, lane["taken"], checked) == (2, 1, 1, [])
    contacts = dict(Contact.objects.values_list("last_name", "organization__name"))
    assert contacts == {"Known": "Acme", "None": None}
    violation = Violation.objects.get(run=run)
    assert (violation.row_number, violation.errors) == (
        3,
        [
            {
                "field": "organization_external_id",
                "code": "unknown_reference",
                "message": "No organization with external id 'ORG-9' is known for this source.",
            }
        ],
    )


@pytest.mark.django_db
def test_each_chunk_is_checked_once_the_next_while_this_one_is_stored(settings):
    """The partition has the lane check a chunk's columns while the chunk
    before it is stored (``check_ahead``): every chunk is still checked
    once, the first in its turn and each later one ahead."""
    settings.IMPORTER_CHUNK_SIZE = 2
    calls = []
    check, check_ahead = NewRecordsLane._check, NewRecordsLane.check_ahead

    def counted_check(self, rows):
        calls.append(("check", [row.number for row in rows]))
        return check(self, rows)

    def counted_ahead(self, rows):
        calls.append(("ahead", [row.number for row in rows]))
        return check_ahead(self, rows)

    rows = "".join(f"A-{n},Org {n},DE,\n" for n in range(5))
    with (
        mock.patch.object(NewRecordsLane, "_check", counted_check),
        mock.patch.object(NewRecordsLane, "check_ahead", counted_ahead),
    ):
        run = import_bytes(HEADER + rows)
    assert run.inserted == 5
    assert calls == [
        ("check", [2, 3]),
        ("ahead", [4, 5]),
        ("check", [4, 5]),
        ("ahead", [6]),
        ("check", [6]),
    ]


@pytest.mark.django_db
def test_a_check_made_ahead_for_other_rows_is_not_used():
    """What was found ahead belongs to the chunk it was made for (a resumed
    partition, say, processes only the chunk's rows after its checkpoint)."""
    from django.utils import timezone

    from ingest import registry
    from ingest.pipeline import ChunkProcessor
    from ingest.readers import ReadRow
    from ingest.services import source_get_or_create
    from runs.models import ImportRun
    from tests.factories import ImportRunFactory

    source = source_get_or_create(slug="crm")
    run = ImportRunFactory(source=source, status=ImportRun.Status.RUNNING)
    processor = ChunkProcessor(
        target=registry.get("organization"),
        source=source,
        run_id=run.pk,
        imported_at=timezone.now(),
        engine="columns",
    )
    # The lane is made for the first chunk offered to it, as in a partition
    # (which checks ahead only once a chunk of new records was written).
    first = processor.read(
        [ReadRow(number=2, values={"external_id": "A-0", "name": "Acme", "country": "DE"})]
    )
    assert processor.process(first)[0].outcome == "inserted"
    assert processor.lane is not None
    ahead = processor.read([ReadRow(number=3, values={"external_id": "A-1", "country": "DE"})])
    processor.check_ahead(ahead)  # A-1 has no name: the check found it invalid
    assert processor.lane.ahead is not None
    rows = processor.read(
        [ReadRow(number=4, values={"external_id": "A-2", "name": "Beta", "country": "FR"})]
    )
    (result,) = processor.process(rows)
    assert (result.outcome, result.record is not None) == ("inserted", True)


@pytest.mark.django_db
def test_a_run_whose_every_row_is_in_the_id_map_never_makes_the_lane():
    """The lane (and polars, imported with it) is made for the first chunk
    offered to it: a re-import of known rows does not pay for it."""
    content = HEADER + "A-1,Acme,DE,\nA-2,Beta,FR,\n"
    import_bytes(content)
    made = []
    init = NewRecordsLane.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        init(self, *args, **kwargs)

    with mock.patch.object(NewRecordsLane, "__init__", counted):
        again = import_bytes(content.replace("Beta", "Beta GmbH"))
        assert (again.skipped, again.updated, made) == (1, 1, [])
        import_bytes(HEADER + "A-3,Gamma,NL,\n")
    assert len(made) == 1
