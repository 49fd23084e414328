"""Settings for the benchmark only: the production settings plus the bench
app that holds the peer's model. Never used by the service itself, so the
peer model and django-import-export stay out of production INSTALLED_APPS."""

from importer_project.settings import *  # noqa: F401,F403
from importer_project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "import_export", "bench.peer"]
