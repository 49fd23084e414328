"""gunicorn's settings for the web processes (`make serve`, docs/deployment.md).

Command-line flags and GUNICORN_CMD_ARGS override each of them, e.g.
``--bind 0.0.0.0:8000`` or ``GUNICORN_CMD_ARGS="--timeout 300"``.
"""

import os

from runs.metrics_archive import fold_dead_process

wsgi_app = "importer_project.wsgi:application"
# Behind a reverse proxy on the same machine; --bind to listen elsewhere.
bind = ["127.0.0.1:8000"]
# Processes (WEB_CONCURRENCY, as gunicorn reads it) times threads: the
# requests served at once. Threads keep a process answering its heartbeat
# while one request streams a large upload, so `timeout` stays a hang detector.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# A worker silent for this long is killed and replaced; a request that is
# still going after graceful_timeout when a worker stops is cut.
timeout = 60
graceful_timeout = 30
keepalive = 5
# No access log: the request line carries the admin's search terms
# (personal data). Django's own JSON lines redact them (docs/security.md).
accesslog = None
# gunicorn's runtime control socket is not used; two instances on one
# machine would share its default path (~/.gunicorn/gunicorn.ctl).
control_socket_disable = True


def child_exit(server, worker) -> None:
    """The master reaped a worker (it ended, or was killed on timeout): fold
    its metric files into the archive (prometheus_client's documented
    mark_process_dead, plus the fold of runs/metrics_archive.py)."""
    fold_dead_process(worker.pid)
