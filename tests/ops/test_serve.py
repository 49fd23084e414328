"""The production web setup of `make serve` (docs/deployment.md): gunicorn
with importer_project/gunicorn_conf.py, DEBUG off, static files collected
and served by whitenoise; metric files folded when gunicorn stops."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def serve_env(tmp_path) -> dict[str, str]:
    """What `make serve` sets, with this test's own folders and database."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    env.pop("REDIS_URL", None)  # the pages fetched here need no queue
    # collectstatic and migrate, side by side (each takes a few seconds).
    steps = [
        subprocess.Popen(
            [sys.executable, "manage.py", *command, "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in (["collectstatic"], ["migrate"])
    ]
    for step in steps:
        _, stderr = step.communicate(timeout=180)
        assert step.returncode == 0, stderr[-3000:]
    return env


def test_gunicorn_serves_the_admin_and_its_static_files(serve_env):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "importer_project/gunicorn_conf.py"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=serve_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = get(f"{base}/admin/login/")
                break
            except OSError:  # not listening yet
                assert server.poll() is None and time.monotonic() < deadline, (
                    "gunicorn did not start"
                )
                time.sleep(0.3)
        assert status == 200
        page = body.decode()
        # The manifest storage names the file by its content's hash.
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:2000]
        status, headers, body = get(base + css[1])
        assert status == 200 and b"body" in body
        assert headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"]  # whitenoise, for hashed names
        assert get(f"{base}/static/no-such-file.css")[0] == 404
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output[-3000:]
    # Every web worker's metric files went into the archive when it stopped.
    files = sorted(path.name for path in Path(serve_env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"))
    assert files and {name.rsplit("_", 1)[1] for name in files} == {"archive.db"}, files
