from django.apps import AppConfig


class RunsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "runs"

    def ready(self) -> None:
        # Django's documented place to connect receivers (apps are loaded).
        from django.core.signals import request_started

        from runs import scrape
        from runs.execution import inprocess

        # A process that serves requests runs jobs on its background thread
        # when there is no Redis (runs/execution/inprocess.py).
        request_started.connect(inprocess.mark_serving, dispatch_uid="runs.inprocess.serving")
        # Multiprocess metrics: a process that ends folds its metric files
        # into the archive (runs/scrape.py).
        scrape.fold_at_exit()
