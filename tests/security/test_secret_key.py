"""With DEBUG off the service refuses to start on the built-in (public)
development SECRET_KEY, naming the variable to set; DEBUG=1 keeps it."""

import subprocess
import sys

from django.conf import settings

from tests.security.test_deploy_check import ROOT, production_env


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_debug_and_without_a_key_manage_py_refuses_to_start():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage_check(env)
    assert result.returncode != 0
    # One line naming what to set, not the traceback of the settings' load.
    assert result.stderr == f"manage.py: {settings.SECRET_KEY_MISSING}\n"


def test_an_empty_key_or_the_built_in_one_is_refused_too():
    for key in ("", settings.DEVELOPMENT_SECRET_KEY):
        result = manage_check(production_env(SECRET_KEY=key))
        assert result.returncode != 0, key
        assert settings.SECRET_KEY_MISSING in result.stderr


def test_with_debug_the_development_key_is_used_and_with_a_key_it_starts():
    env = production_env(DEBUG="1")
    del env["SECRET_KEY"]
    assert manage_check(env).returncode == 0
    assert manage_check(production_env()).returncode == 0
