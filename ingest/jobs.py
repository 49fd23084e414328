"""RQ jobs: take ids, call one service."""

from ingest import services


def execute_run(run_id: int) -> str | None:
    run = services.run_execute(run_id=run_id)
    return run.status if run is not None else None
