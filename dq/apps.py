from django.apps import AppConfig


class DqConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dq"
