"""The test settings: the project's own, plus an app that only the tests
install (tests/targetapp: a model of another app as an import target)."""

from importer_project.settings import *  # noqa: F401,F403
from importer_project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.targetapp"]
