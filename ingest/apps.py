from django.apps import AppConfig


class IngestConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingest"
    verbose_name = "Ingest"

    def ready(self) -> None:
        # Targets are declared in each app's targets.py, found the way the
        # admin finds admin.py modules.
        from ingest import registry

        registry.autodiscover()
