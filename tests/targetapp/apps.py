from django.apps import AppConfig


class TargetAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tests.targetapp"
    label = "targetapp"
    verbose_name = "Catalogue (test app)"
