"""The RQ worker class for import jobs (settings.RQ["WORKER_CLASS"])."""

from django.db import connections
from rq.worker import Worker


class ImportWorker(Worker):
    """Closes the parent's database connections before forking a work horse:
    a forked child must never share the parent's database socket."""

    def fork_work_horse(self, job, queue):
        connections.close_all()
        return super().fork_work_horse(job, queue)
