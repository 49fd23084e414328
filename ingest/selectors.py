"""Reads about import runs, shared by CLI, admin and API."""

from typing import Any

from runs.models import ImportRun

SUMMARY_FIELDS = ("rows_total", "inserted", "updated", "unchanged", "skipped", "quarantined")


def run_summary(*, run: ImportRun) -> dict[str, Any]:
    duration = run.duration_s
    return {
        "run_id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        **{name: getattr(run, name) for name in SUMMARY_FIELDS},
        "duration_s": round(duration, 3) if duration is not None else None,
    }


def run_summary_text(*, run: ImportRun) -> str:
    summary = run_summary(run=run)
    label = "Dry run" if run.dry_run else "Run"
    counts = ", ".join(f"{summary[name]} {name}" for name in SUMMARY_FIELDS[1:])
    text = f"{label} {run.pk} ({run.target} from {run.source.slug}): {run.status}"
    if run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
        return text
    text += f"; {summary['rows_total']} rows: {counts}"
    if summary["duration_s"] is not None:
        text += f" in {summary['duration_s']:.2f}s"
    return text
