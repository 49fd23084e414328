"""The RQ worker class for import jobs (settings.RQ["WORKER_CLASS"])."""

import os

from django.db import connections
from rq.worker import Worker

from importer_project.metrics import become_work_horse


class ImportWorker(Worker):
    """Closes the parent's database connections before forking a work horse:
    a forked child must never share the parent's database socket."""

    def fork_work_horse(self, job, queue):
        connections.close_all()
        return super().fork_work_horse(job, queue)

    def main_work_horse(self, job, queue):
        # Metrics of every horse of this worker go to one set of files
        # (importer_project.metrics), not a new set per job.
        become_work_horse(os.getppid())
        return super().main_work_horse(job, queue)
