"""Import CSV text through the real pipeline and read the core state back in
a form two databases can compare exactly."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.models import Contact, Organization
from ingest.models import ExternalIdMap
from ingest.survivorship import timestamp
from runs.models import ImportRun
from tests.importing import import_bytes

MODELS = {"organization": Organization, "contact": Contact}
SKIP_COLUMNS = {"id", "created_at", "modified_at"}


def import_text(text: str, **options: Any) -> ImportRun:
    """Import CSV text (tests/importing.py); the run must not fail."""
    run = import_bytes(text, filename="rows.csv", **options)
    assert run.error_message == "", run.error_message
    return run


def decisions(run):
    """The ledger without record ids (a dry run has none for new records)."""
    run.refresh_from_db()
    ledger = csv.DictReader(io.StringIO(run.results_file.read().decode()))
    return [
        (
            r["row_number"],
            r["external_id"],
            r["outcome"],
            r["decision"],
            r["matched_by"],
            r["matched_key"],
            r["changed_fields"],
            r["error_codes"],
        )
        for r in ledger
    ]


def core_state(
    *,
    keep_provenance: tuple[str, ...] | None = None,
    run_labels: dict[int, Any] | None = None,
    frozen_time: bool = False,
) -> dict[str, Any]:
    """Every core record (ids replaced by their rank in insertion order, so two
    runs of the same imports compare equal) and every id mapping.

    Provenance run ids become ``run_labels[id]`` (default: the run's rank).
    Unless ``frozen_time``, import times become the run they came from
    ("run<rank>"; the times of stamped rows stay as they are) and the
    records' created/modified times are left out. With ``keep_provenance``
    only those provenance keys are kept.
    """
    run_ids = list(ImportRun.objects.order_by("pk").values_list("pk", flat=True))
    labels = run_labels if run_labels is not None else {pk: rank for rank, pk in enumerate(run_ids)}
    run_times = {}
    if not frozen_time:
        run_times = {
            timestamp(run.started_at): f"run{run_ids.index(run.pk)}"
            for run in ImportRun.objects.exclude(started_at=None)
        }
    skip = {"id"} if frozen_time else SKIP_COLUMNS
    ranks = {
        name: {
            pk: rank
            for rank, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True))
        }
        for name, model in MODELS.items()
    }
    state: dict[str, Any] = {}
    for name, model in MODELS.items():
        records = []
        for row in model.objects.order_by("pk").values():
            record = {key: _plain(value) for key, value in row.items() if key not in skip}
            if record.get("organization_id") is not None:
                record["organization_id"] = ranks["organization"][record["organization_id"]]
            record["provenance"] = {
                field: _normal_origin(origin, labels, run_times, keep_provenance)
                for field, origin in sorted(record["provenance"].items())
            }
            records.append(record)
        state[name] = records
    state["id_map"] = sorted(
        [m.source.slug, m.target, m.external_id, ranks[m.target][m.record_id], m.payload_hash]
        for m in ExternalIdMap.objects.select_related("source")
    )
    return state


def _plain(value: Any) -> Any:
    """Dates as ISO text, so a state compares equal to its JSON form."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _normal_origin(origin, labels, run_times, keep):
    origin = dict(origin)
    if "run" in origin:
        origin["run"] = labels.get(origin["run"], origin["run"])
    if origin.get("at") in run_times:
        origin["at"] = run_times[origin["at"]]
    if keep is not None:
        origin = {key: value for key, value in origin.items() if key in keep}
    return origin
