from django.apps import AppConfig


class DqConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dq"
    verbose_name = "Data quality"

    def ready(self) -> None:
        # Django's documented place to connect receivers (apps are loaded).
        from dq.services import release_after_remediation_run
        from runs.signals import run_finished

        run_finished.connect(release_after_remediation_run, dispatch_uid="dq.release_after_run")
