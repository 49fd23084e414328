"""The golden dataset (fixtures/golden): named scenario files and the
outcomes each must give, imported in order through the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from runs import services
from runs.execution import runner
from runs.models import ImportRun

GOLDEN_DIR = Path(settings.BASE_DIR) / "fixtures" / "golden"


def manifest(directory: Path = GOLDEN_DIR) -> dict[str, Any]:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def golden_run_create(step: dict[str, Any], directory: Path = GOLDEN_DIR) -> ImportRun:
    """A queued run of one step's file."""
    path = directory / step["file"]
    with path.open("rb") as handle:
        return services.run_create(
            target=step["target"],
            source=step["source"],
            file=handle,
            filename=path.name,
            dry_run=step.get("dry_run", False),
        )


def golden_import_step(step: dict[str, Any], directory: Path = GOLDEN_DIR) -> ImportRun:
    """Import one step's file in this process and return the finished run."""
    run = golden_run_create(step, directory)
    runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run
