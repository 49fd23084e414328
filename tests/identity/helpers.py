"""Import CSV text through the real pipeline and read the core state back in
a form two databases can compare exactly."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from core.models import Contact, Organization
from ingest import services
from ingest.models import ExternalIdMap
from ingest.survivorship import timestamp
from runs.models import ImportRun

MODELS = {"organization": Organization, "contact": Contact}
SKIP_COLUMNS = {"id", "created_at", "modified_at"}


def import_text(text: str, *, source: str = "crm", target: str = "organization", dry_run: bool = False) -> ImportRun:
    run = services.run_create(
        target=target, source=source, file=ContentFile(text.encode()), filename="rows.csv", dry_run=dry_run
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.error_message == "", run.error_message
    return run


def core_state(*, keep_provenance: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every core record (ids replaced by their rank in insertion order, so two
    runs of the same imports compare equal) and every id mapping.

    Provenance run ids become run ranks and import times the run they came
    from (the times of stamped rows stay as they are); with
    ``keep_provenance`` only those provenance keys are kept.
    """
    run_rank = {pk: rank for rank, pk in enumerate(ImportRun.objects.order_by("pk").values_list("pk", flat=True))}
    run_times = {
        timestamp(run.started_at): f"run{run_rank[run.pk]}" for run in ImportRun.objects.exclude(started_at=None)
    }
    state: dict[str, Any] = {}
    ranks: dict[str, dict[int, int]] = {}
    for name, model in MODELS.items():
        ranks[name] = {pk: rank for rank, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True))}
    for name, model in MODELS.items():
        records = []
        for row in model.objects.order_by("pk").values():
            record = {key: value for key, value in row.items() if key not in SKIP_COLUMNS}
            if "organization_id" in record and record["organization_id"] is not None:
                record["organization_id"] = ranks["organization"][record["organization_id"]]
            record["provenance"] = {
                field: _normal_origin(origin, run_rank, run_times, keep_provenance)
                for field, origin in sorted(record["provenance"].items())
            }
            records.append(record)
        state[name] = records
    state["id_map"] = sorted(
        (m.source.slug, m.target, m.external_id, ranks[m.target][m.record_id], m.payload_hash)
        for m in ExternalIdMap.objects.select_related("source")
    )
    return state


def _normal_origin(origin, run_rank, run_times, keep):
    origin = dict(origin)
    if "run" in origin:
        origin["run"] = run_rank.get(origin["run"], origin["run"])
    if origin.get("at") in run_times:
        origin["at"] = run_times[origin["at"]]
    if keep is not None:
        origin = {key: value for key, value in origin.items() if key in keep}
    return origin
