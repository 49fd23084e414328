"""A job for the worker tests: counts one dry run, touches no database."""

from runs.metrics import DRY_RUNS


def count_a_dry_run() -> None:
    DRY_RUNS.inc()
