"""Runs an identity scenario (fixtures/identity/NN_name/scenario.json):
imports, hand edits and releases in order, each at its own frozen hour, and
returns the finished runs and the core state it leaves (run ids in
provenance replaced by step numbers, so the state is written down once)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import time_machine
from django.conf import settings

from ingest import identity, registry
from ingest.models import ExternalIdMap
from runs.models import ImportRun
from tests.identity.helpers import core_state
from tests.importing import import_bytes

SCENARIO_DIR = Path(settings.BASE_DIR) / "fixtures" / "identity"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def scenario_names() -> list[str]:
    return sorted(path.parent.name for path in SCENARIO_DIR.glob("*/scenario.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((SCENARIO_DIR / name / "scenario.json").read_text(encoding="utf-8"))


def step_time(number: int) -> dt.datetime:
    return START + dt.timedelta(hours=number)


def record_of(ref: dict[str, str]):
    mapping = ExternalIdMap.objects.get(
        source__slug=ref["source"], target=ref["target"], external_id=ref["external_id"]
    )
    return registry.get(ref["target"]).model.objects.get(pk=mapping.record_id)


def run_scenario(
    name: str,
) -> tuple[list[tuple[dict[str, Any], ImportRun]], dict[str, Any], dict[int, int]]:
    spec = load(name)
    labels: dict[int, int] = {}
    runs = []
    for number, step in enumerate(spec["steps"], 1):
        with time_machine.travel(step_time(number), tick=False):
            if "import" in step:
                path = SCENARIO_DIR / name / step["import"]
                run = import_bytes(
                    path.read_bytes(),
                    target=step["target"],
                    source=step["source"],
                    filename=path.name,
                )
                labels[run.pk] = number
                runs.append((step, run))
            elif "edit" in step:
                record = record_of(step["edit"])
                for field, value in step["fields"].items():
                    setattr(record, field, value)
                columns = [record._meta.get_field(field).attname for field in step["fields"]]
                identity.record_save_by_hand(record=record, fields=columns, actor=step["actor"])
            elif "release" in step:
                identity.record_release_manual(
                    record=record_of(step["release"]), fields=step.get("fields")
                )
            else:
                raise ValueError(f"{name}: unknown step {step}")
    return runs, core_state(run_labels=labels, frozen_time=True), labels
