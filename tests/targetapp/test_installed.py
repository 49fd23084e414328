"""The test app is the tests' own: its migrations match its model, and the
project's settings (what runs in production) never install it."""

import pytest
from django.core.management import call_command

from importer_project import settings as project_settings


@pytest.mark.django_db
def test_the_test_apps_migrations_match_its_models():
    call_command("makemigrations", "targetapp", "--check", "--dry-run", verbosity=0)


def test_production_settings_do_not_install_the_test_app(settings):
    assert "tests.targetapp" in settings.INSTALLED_APPS
    assert "tests.targetapp" not in project_settings.INSTALLED_APPS
