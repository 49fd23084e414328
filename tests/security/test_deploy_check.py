"""``manage.py check --deploy --fail-level WARNING`` passes with production
environment variables (what ``make check-deploy`` and CI run), and fails
without them: the check has teeth."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "HTTPS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DEBUG="0",
        HTTPS="1",
        ALLOWED_HOSTS="importer.example.com",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="importer_project.settings",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_fails_without_them():
    result = check_deploy(production_env(HTTPS="0", SECRET_KEY="", DEBUG="1"))
    assert result.returncode != 0
    for warning in (
        "security.W004",
        "security.W008",
        "security.W009",
        "security.W012",
        "security.W018",
    ):
        assert warning in result.stderr + result.stdout


def settings_of(env: dict[str, str], *names: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings; "
    code += "; ".join(f"print(repr(settings.{name}))" for name in names)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.split()


NAMES = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
)


def test_https_settings_follow_the_switch_and_stay_off_in_debug():
    assert settings_of(production_env(), *NAMES) == ["True", "True", "True", "31536000"]
    assert settings_of(production_env(DEBUG="1"), *NAMES) == ["False", "False", "False", "0"]
