"""RQ jobs: take ids (the database holds everything else), call one service."""

from ingest import services


def execute_run(run_id: int) -> str | None:
    run = services.run_execute(run_id=run_id)
    return run.status if run is not None else None


def execute_partition(run_id: int, index: int) -> str | None:
    run = services.run_execute_partition(run_id=run_id, index=index)
    return run.status if run is not None else None
