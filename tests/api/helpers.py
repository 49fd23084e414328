"""What the API tests share besides fixtures: the file they upload and a
way to run what a request enqueued."""

import django_rq
from django.conf import settings

# One good row, one without a name (and a formula in its e-mail), one with
# an unknown country: a run of it is partial, with violations and results.
CSV = b"external_id,name,country,email\nA-1,Acme,DE,a@acme.example\nA-2,,FR,=cmd|' /C calc'!A0\nA-3,Gamma,XX,\n"


def work_queued_jobs() -> None:
    """With Redis, run what the request enqueued in a burst worker, as a
    `manage.py rqworker` would; without, the jobs already ran in-process."""
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_worker("imports").work(burst=True)
