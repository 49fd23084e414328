"""How a run reads on the dashboard and its page: its title, status badge,
age, progress and outcome bars. Plain functions of a run (no request), shared
by the list's columns and the run's page, so both say the same thing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ingest import registry
from ingest.errors import UsageError
from runs.models import ImportRun

DRY_RUN_BADGE = mark_safe('<span class="run-badge run-badge--dry">DRY RUN</span>')
# The outcome bar's segments, in the order a person reads them.
OUTCOMES = [
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("skipped", "skipped"),
    ("quarantined", "quarantined"),
]


def format_duration(value: timedelta | float | None) -> str:
    """40 ms, 1.2 s, 3 min 05 s, 2 h 04 min: a person reads it at a glance."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_time_left(seconds: float | None) -> str:
    """ "about 4 min left": rounded as a person says it (the page's script
    shows this text as the server sends it)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def format_age(created_at: datetime, now: datetime | None = None) -> str:
    """3 min, 5 h, 2 d: how long ago, short enough for a narrow column."""
    seconds = max(((now or timezone.now()) - created_at).total_seconds(), 0)
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def target_label(target: str) -> str:
    try:
        return str(registry.get(target).spec()["verbose_name"])
    except UsageError:
        return target  # a target no longer registered keeps its stored name


def source_name(run: ImportRun) -> str:
    return run.source.display_name


def run_title(run: ImportRun) -> str:
    """ "Run 12: CRM system → organization": the source by its name, not its id."""
    return f"Run {run.pk}: {source_name(run)} → {target_label(run.target)}"


def status_badge(run: ImportRun) -> SafeString:
    """The status as a coloured badge that also says its word (colour is
    never the only signal); the live-progress script finds runs by it."""
    return format_html(
        '<span class="run-badge run-badge--{}" data-run-id="{}" data-finished="{}">{}</span>',
        run.status,
        run.pk,
        "1" if run.is_finished else "0",
        run.get_status_display(),
    )


def outcome_counts(run: ImportRun) -> list[tuple[str, str, int]]:
    return [(name, label, getattr(run, name)) for name, label in OUTCOMES]


def outcome_bar(run: ImportRun) -> SafeString:
    """A stacked bar of the run's outcomes, each segment as wide as its
    share, with its words for who cannot see the colours (title and a
    screen-reader text)."""
    counts = outcome_counts(run)
    total = sum(count for _name, _label, count in counts)
    if not total:
        return mark_safe('<span class="run-outcome run-outcome--empty">no rows</span>')
    words = ", ".join(f"{count:,} {label}" for _name, label, count in counts if count)
    segments = format_html_join(
        "",
        '<span class="run-outcome__part run-outcome__part--{}" style="width:{}%"></span>',
        ((name, f"{100 * count / total:.2f}") for name, _label, count in counts if count),
    )
    return format_html(
        '<span class="run-outcome" title="{}"><span class="run-outcome__bar" aria-hidden="true">{}'
        '</span><span class="run-outcome__rows">{} rows</span>'
        '<span class="visually-hidden"> ({})</span></span>',
        words,
        segments,
        f"{total:,}",
        words,
    )


def progress_cell(run: ImportRun) -> SafeString:
    """A queued run waits, a running one shows its bar (the script fills it),
    a finished one its outcome bar."""
    if run.status == ImportRun.Status.QUEUED:
        return format_html('<span class="run-progress" data-run-id="{}">waiting</span>', run.pk)
    if run.status == ImportRun.Status.RUNNING:
        return format_html(
            '<span class="run-progress" data-run-id="{}">'
            '<progress aria-label="run {} progress"></progress> '
            '<span class="run-rows">{} rows</span></span>',
            run.pk,
            run.pk,
            f"{run.rows_processed:,}",
        )
    return outcome_bar(run)


CRASH_PREFIX = "The import stopped on an unexpected error"
FILE_GONE_PREFIX = "The stored file"


def failure_advice(run: ImportRun) -> str:
    """What an operator can do about a failed or cancelled run, under its reason."""
    kept = run.inserted + run.updated
    stays = (
        f" The {kept:,} row(s) written before it stopped stay." if kept and not run.dry_run else ""
    )
    if run.status == ImportRun.Status.CANCELLED:
        return "Cancelled on request." + stays + " Replay the run to import the whole file again."
    message = run.error_message
    if message.startswith(CRASH_PREFIX):
        return (
            "A fault in the importer or its database, not in the file." + stays + " Replay the "
            "run once the cause in the worker log is fixed; rows already written are not "
            "written twice."
        )
    if message.startswith(FILE_GONE_PREFIX) or (not run.file and run.file_sha256):
        return "The stored file is gone." + stays + " Upload the file again to import it."
    return (
        "The file cannot be imported as it is." + stays + " Correct the file, or the upload's "
        "options (format, encoding, delimiter, sheet, column map), and upload it again."
    )
