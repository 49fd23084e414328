from django.apps import AppConfig


class CommonConfig(AppConfig):
    """The shared kit every app's web layer uses: the DRF parts
    (permissions, parsers, filters, schema helpers, error handler), the
    roles, and the cache helper. It imports nothing of the other apps."""

    name = "common"
