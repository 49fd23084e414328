import json
import shlex
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import pluralize

from ingest import registry
from ingest import services as ingest_services
from ingest.errors import UsageError
from runs import selectors, services, staging
from runs.execution import runner
from runs.models import ImportRun

EXIT_FAILED = 1
EXIT_USAGE = 2
PROGRESS_EVERY_S = 5.0
RUN_FAILED = "Run {run_id} failed: {error}"
COLUMNS_NOT_IMPORTED = "Columns not imported: {columns}"
MORE_COLUMNS = " and {count} more"


class Command(BaseCommand):
    help = (
        "Import a CSV, JSON Lines or spreadsheet (xlsx, xls, ods) file into a target "
        "(enqueued, or in-process with --sync). An option left out is taken from the "
        "source's profile (see --remember), else detected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument(
            "--target", required=True, help=f"one of: {', '.join(registry.names())}"
        )
        parser.add_argument("--source", required=True, help="the source system's slug, e.g. crm")
        parser.add_argument("--dry-run", action="store_true", help="do everything except writing")
        parser.add_argument(
            "--format", choices=ingest_services.FORMATS, help="default: detected from the file"
        )
        parser.add_argument(
            "--sheet",
            metavar="NAME|INDEX",
            help="spreadsheets: the sheet to read, by name or by position counting from 0 "
            "(0 = the first sheet; a sheet named like a number wins); default: the first visible sheet "
            "(or, when it lacks a required column, the one other sheet that has them all)",
        )
        parser.add_argument("--encoding", help="e.g. utf-8, cp1252, utf-16 (default: detected)")
        parser.add_argument("--delimiter", help="one character, or 'tab' (default: detected)")
        parser.add_argument(
            "--column",
            action="append",
            metavar="COLUMN=FIELD",
            dest="column_map",
            help="read the file's column COLUMN as the target's FIELD (repeat for more columns)",
        )
        parser.add_argument(
            "--remember",
            action="store_true",
            help="save the --format, --encoding, --delimiter, --sheet and --column given here on the "
            "source's profile; a later import that leaves one out uses the source's saved value",
        )
        parser.add_argument(
            "--sync", action="store_true", help="run in this process, not on a worker"
        )
        parser.add_argument(
            "--json", action="store_true", help="print the run summary as JSON last"
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}", returncode=EXIT_USAGE)
        try:
            with path.open("rb") as handle:
                run = services.run_create(
                    target=options["target"],
                    source=options["source"],
                    file=handle,
                    filename=path.name,
                    dry_run=options["dry_run"],
                    format=options["format"],
                    encoding=options["encoding"],
                    delimiter=options["delimiter"],
                    sheet=options["sheet"],
                    column_map=options["column_map"],
                    remember=options["remember"],
                )
        except UsageError as exc:
            raise CommandError(exc.message, returncode=EXIT_USAGE) from None
        if run.status == ImportRun.Status.QUEUED:
            if options["sync"]:
                runner.run_execute(
                    run_id=run.pk, in_process=True, progress=progress_for(self, run, options)
                )
            else:
                services.run_enqueue(run=run)
        run.refresh_from_db()
        if run.status == ImportRun.Status.FAILED:
            suggest_columns(self, path, options)
        if options["verbosity"] >= 1:
            note_unknown_columns(self, run)
        report(self, run, as_json=options["json"])


def column_flag(column: str, field: str) -> str:
    """The --column flag that reads ``column`` as ``field``, quoted for a shell."""
    return f"--column {shlex.quote(f'{column}={field}')}"


def suggest_columns(command: BaseCommand, path: Path, options: dict) -> None:
    """When the file's header does not name the target's required fields,
    the --column flags that would read it (as the upload form suggests
    them), on stderr."""
    try:
        shown = staging.matching_for_file(
            path=str(path),
            upload=staging.Upload(
                target=options["target"],
                source=options["source"],
                format=options["format"] or "",
                encoding=options["encoding"] or "",
                delimiter=options["delimiter"] or "",
                sheet=options["sheet"] or "",
                column_map=options["column_map"] or {},
            ),
        )
    except UsageError:
        return
    if shown is None:
        return
    flags = " ".join(
        column_flag(column, field) for column, field in shown.matching.column_map.items()
    )
    if flags:
        command.stderr.write(f"Suggested columns: {flags}")
    if shown.matching.unmatched_required:
        unmatched = ", ".join(shown.matching.unmatched_required)
        command.stderr.write(f"No column found for: {unmatched}")


def note_unknown_columns(command: BaseCommand, run: ImportRun) -> None:
    """The columns the run did not import, on stderr: an unknown column is
    not an error, but a column meant for a field (a synonym the reader
    does not take as it) would leave that field empty unnoticed. Each one
    the column matching gives a field comes with the flag that reads it."""
    suggestions, more = staging.run_unknown_columns(run=run)
    if not suggestions:
        return
    columns = ", ".join(
        f"{s.column} ({column_flag(s.column, s.field)})" if s.field else s.column
        for s in suggestions
    )
    if more:
        columns += MORE_COLUMNS.format(count=more)
    command.stderr.write(COLUMNS_NOT_IMPORTED.format(columns=columns))


class ProgressLines:
    """A long ``--sync`` import's progress: every ``every_s`` seconds, the
    rows done so far and the rate, as a line on stderr."""

    def __init__(self, command: BaseCommand, run: ImportRun, *, every_s: float) -> None:
        self.stderr = command.stderr
        self.run_id = run.pk
        self.every_s = every_s
        self.rows = 0
        self.started = self.shown_at = time.monotonic()

    def __call__(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.shown_at >= self.every_s:
            self.shown_at = now
            elapsed = max(now - self.started, 1e-6)
            self.stderr.write(
                f"Run {self.run_id}: {self.rows:,} row{pluralize(self.rows)} done in {elapsed:.0f} s "
                f"({self.rows / elapsed:,.0f} rows/s)"
            )


def progress_for(command: BaseCommand, run: ImportRun, options: dict) -> ProgressLines | None:
    """Progress lines unless ``-v 0`` asked for quiet."""
    return (
        ProgressLines(command, run, every_s=PROGRESS_EVERY_S) if options["verbosity"] >= 1 else None
    )


def report(command: BaseCommand, run: ImportRun, *, as_json: bool) -> None:
    """Print the run's summary (as the last stdout line with ``--json``);
    a failed run says why on stderr (with ``--json`` too: the summary's keys
    are fixed by DESIGN.md) and exits with EXIT_FAILED. Shared with
    replay_run."""
    if as_json:
        command.stdout.write(json.dumps(selectors.run_report(run=run)))
    else:
        command.stdout.write(selectors.run_report_text(run=run))
    if run.status == ImportRun.Status.FAILED:
        command.stderr.write(RUN_FAILED.format(run_id=run.pk, error=run.error_message))
        raise SystemExit(EXIT_FAILED)
