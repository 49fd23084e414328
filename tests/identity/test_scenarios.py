"""The identity scenarios (fixtures/identity): each is imported step by step
and must give its recorded counts and leave exactly its recorded core
tables (every column and every field's provenance) and id map, whatever the
chunk size. Replaying the last run onto that state changes nothing."""

import pytest
import time_machine
from django.test import override_settings

from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.identity import scenarios
from tests.identity.helpers import core_state

COUNTS = ("inserted", "updated", "unchanged", "skipped", "quarantined")


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 2000], ids=lambda size: f"chunk{size}")
@pytest.mark.parametrize("name", scenarios.scenario_names())
def test_scenario_leaves_exactly_its_expected_core_state(name, chunk_size):
    spec = scenarios.load(name)
    with override_settings(IMPORTER_CHUNK_SIZE=chunk_size):
        runs, state, labels = scenarios.run_scenario(name)
    for step, run in runs:
        assert run.error_message == "", step["name"]
        assert {key: getattr(run, key) for key in step["expect"]} == step["expect"], step["name"]
        assert run.rows_total == sum(getattr(run, key) for key in COUNTS), step["name"]
    assert state == spec["expected"]

    last = runs[-1][1]
    with time_machine.travel(scenarios.step_time(len(spec["steps"]) + 1), tick=False):
        replay = services.run_replay(run=last, enqueue=False)
        runner.run_execute(run_id=replay.pk)
    replay = ImportRun.objects.get(pk=replay.pk)
    assert (replay.inserted, replay.updated) == (0, 0)
    assert replay.skipped == last.rows_total - last.quarantined
    assert core_state(run_labels=labels, frozen_time=True) == state


def test_the_scenarios_cover_the_issue():
    assert scenarios.scenario_names() == [
        "01_repeat_run",
        "02_new_payload",
        "03_second_source",
        "04_older_timestamp_loses",
        "05_empty_does_not_erase",
        "06_manual_edit_survives",
        "07_manual_override_released",
    ]
