from django.apps import AppConfig


class IngestConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingest"
    verbose_name = "Ingest"

    def ready(self) -> None:
        from django.core.signals import request_started

        from importer_project import metrics
        from ingest import inprocess, registry

        registry.autodiscover()
        # A process that serves requests runs jobs on its background thread
        # when there is no Redis (ingest/inprocess.py).
        request_started.connect(
            inprocess.mark_serving, dispatch_uid="ingest.inprocess.mark_serving"
        )
        # Multiprocess metrics: a process that ends folds its metric files
        # into the archive (importer_project/metrics.py).
        metrics.fold_at_exit()
