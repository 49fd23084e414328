"""A dry run's preview: what the import would do, page by page and by
outcome, updates as old → new, read from the results file as a stream."""

import csv
import io
import json
import tracemalloc

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse

from dq.selectors import MASK
from ingest.results import DRY_RUN_COLUMNS, HEADER
from runs import preview, services
from runs.execution import runner
from runs.models import ImportRun
from tests.factories import ImportRunFactory, UserFactory

pytestmark = pytest.mark.django_db

BEFORE = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,FR\n"
DRY = (
    b"external_id,name,country\nA-1,Acme GmbH,DE\nA-2,Beta,FR\nA-3,Gamma,IT\nA-4,,IT\nA-5,=cmd,IT\n"
)


def run_of(content: bytes, *, dry_run: bool) -> ImportRun:
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(content),
        filename="orgs.csv",
        dry_run=dry_run,
    )
    runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture(autouse=True)
def no_remembered_pages():
    cache.clear()  # where pages start is kept per run id and file name
    yield
    cache.clear()


@pytest.fixture
def dry() -> ImportRun:
    run_of(BEFORE, dry_run=False)
    return run_of(DRY, dry_run=True)


def preview_url(run, **params):
    base = reverse("admin:runs_importrun_preview", args=[run.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def lines_of(response):
    assert response.status_code == 200
    return response.context["page"].lines


def test_a_steward_sees_updates_as_old_to_new(client, steward, dry):
    client.force_login(steward)
    [line] = lines_of(client.get(preview_url(dry, outcome="update")))
    assert (line.external_id, line.outcome) == ("A-1", "updated")
    [change] = line.changes
    assert (change.field, change.old, change.new) == ("name", "Acme", "Acme GmbH")
    html = client.get(preview_url(dry, outcome="update")).content.decode()
    assert '<span class="run-old">Acme</span> → <span class="run-new">Acme GmbH</span>' in html


def test_new_records_show_their_values_and_a_formula_stays_text(client, steward, dry):
    client.force_login(steward)
    lines = lines_of(client.get(preview_url(dry, outcome="insert")))
    assert [(line.external_id, line.values) for line in lines] == [
        ("A-3", {"name": "Gamma", "country": "IT"}),
        ("A-5", {"name": "=cmd", "country": "IT"}),
    ]


def test_an_operator_sees_the_changes_with_values_masked(operator_client, dry):
    [line] = lines_of(operator_client.get(preview_url(dry, outcome="update")))
    [change] = line.changes
    assert (change.field, change.old, change.new) == ("name", MASK, MASK)
    html = operator_client.get(preview_url(dry)).content.decode()
    assert "Values are masked" in html and "Run for real…" in html


@pytest.mark.parametrize(
    ("outcome", "ids"),
    [
        (None, ["A-1", "A-2", "A-3", "A-4", "A-5"]),
        ("insert", ["A-3", "A-5"]),
        ("update", ["A-1"]),
        ("unchanged", []),
        ("skip", ["A-2"]),
        ("quarantine", ["A-4"]),
    ],
)
def test_each_outcome_filter(operator_client, dry, outcome, ids):
    params = {"outcome": outcome} if outcome else {}
    assert [
        line.external_id for line in lines_of(operator_client.get(preview_url(dry, **params)))
    ] == ids


def test_the_filter_links_count_each_outcome(operator_client, dry):
    html = operator_client.get(preview_url(dry)).content.decode()
    for label in (
        "all (5)",
        "insert (2)",
        "update (1)",
        "unchanged (0)",
        "skip (1)",
        "quarantine (1)",
    ):
        assert label in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"outcome": "explode"}, "Unknown outcome 'explode'"),
        ({"p": "7"}, "The page must be a number from 1 to 1."),
        ({"p": "x"}, "The page must be a number from 1 to 1."),
    ],
)
def test_bad_parameters_are_a_message_not_a_500(operator_client, dry, params, message):
    response = operator_client.get(preview_url(dry, **params), follow=True)
    assert response.status_code == 200
    assert any(message in str(m) for m in response.context["messages"])


def test_a_real_run_or_an_unfinished_dry_run_has_no_preview(operator_client):
    real = run_of(BEFORE, dry_run=False)
    response = operator_client.get(preview_url(real), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:runs_importrun_change", args=[real.pk])
    assert [str(m) for m in response.context["messages"]] == [
        preview.NOT_A_DRY_RUN.format(run_id=real.pk)
    ]
    running = ImportRunFactory(dry_run=True, status=ImportRun.Status.RUNNING)
    response = operator_client.get(preview_url(running), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        preview.NO_RESULTS_YET.format(run_id=running.pk)
    ]


def test_who_may_not_view_runs_gets_403(client, dry):
    client.force_login(UserFactory(viewer=True))
    assert client.get(preview_url(dry)).status_code == 403


def big_dry_run(rows: int) -> ImportRun:
    """A finished dry run whose results file has ``rows`` lines, every third an update."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER + DRY_RUN_COLUMNS)
    for number in range(2, rows + 2):
        if number % 3 == 0:
            writer.writerow(
                [
                    number,
                    f"E-{number}",
                    "updated",
                    "resolved",
                    "external_id",
                    "",
                    number,
                    "name",
                    "",
                    "",
                    json.dumps({"name": f"new {number}"}),
                    json.dumps({"name": f"old {number}"}),
                ]
            )
        else:
            writer.writerow(
                [
                    number,
                    f"E-{number}",
                    "unchanged",
                    "resolved",
                    "external_id",
                    "",
                    number,
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    updated = sum(1 for number in range(2, rows + 2) if number % 3 == 0)
    run = ImportRunFactory(
        dry_run=True,
        status=ImportRun.Status.SUCCEEDED,
        rows_total=rows,
        updated=updated,
        unchanged=rows - updated,
    )
    run.results_file.save("big.csv", ContentFile(buffer.getvalue().encode()), save=True)
    return run


def test_a_page_reads_the_results_file_only_as_far_as_it_needs(monkeypatch):
    run = big_dry_run(30_000)
    read = []
    next_line = preview._Stream.__next__

    def counted(stream):
        line = next_line(stream)
        read.append(line)
        return line

    monkeypatch.setattr(preview._Stream, "__next__", counted)
    page = preview.dry_run_preview(run=run, outcome="update", page=2, masked=False, per_page=50)
    assert [line.external_id for line in page.lines][:2] == ["E-153", "E-156"]
    assert page.lines[0].changes[0].old == "old 153" and page.pages == 200
    assert len(read) <= 1 + 3 * 100  # the header and up to page 2's last update, not 30,000

    # The next page starts where this one ended: only its own lines are read.
    read.clear()
    page = preview.dry_run_preview(run=run, outcome="update", page=3, masked=False, per_page=50)
    assert [line.external_id for line in page.lines][:1] == ["E-303"]
    assert len(read) <= 1 + 3 * 50


def test_a_jump_starts_from_the_nearest_page_seen_and_finds_the_same_lines(settings):
    run = big_dry_run(30_000)
    far = preview.dry_run_preview(run=run, outcome=None, page=550, masked=False, per_page=50)
    cache.clear()
    again = preview.dry_run_preview(run=run, outcome=None, page=550, masked=False, per_page=50)
    assert [line.row_number for line in far.lines] == [line.row_number for line in again.lines]
    assert far.lines[0].row_number == 2 + 549 * 50
    near = preview.dry_run_preview(run=run, outcome=None, page=210, masked=False, per_page=50)
    assert near.lines[0].row_number == 2 + 209 * 50  # from the checkpoint at page 200


def test_the_last_page_of_a_large_run_streams_in_little_memory():
    run = big_dry_run(60_000)
    size = run.results_file.size
    tracemalloc.start()
    try:
        page = preview.dry_run_preview(run=run, outcome="update", page=400, masked=False)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.number == page.pages == 400 and len(page.lines) == 50
    assert page.lines[-1].external_id == "E-60000"
    assert peak < size / 4, (peak, size)


def test_the_scan_stops_at_the_last_line_the_counters_promise(monkeypatch):
    run = big_dry_run(30_000)
    ImportRun.objects.filter(pk=run.pk).update(updated=2)  # as if only rows 3 and 6 were updates
    run.refresh_from_db()
    read = []
    next_line = preview._Stream.__next__
    monkeypatch.setattr(
        preview._Stream, "__next__", lambda stream: read.append(1) or next_line(stream)
    )
    page = preview.dry_run_preview(run=run, outcome="update", page=1, masked=False)
    assert [line.external_id for line in page.lines] == ["E-3", "E-6"]
    assert len(read) == 1 + 5  # the header and rows 2 to 6, not the 30,000 lines
