from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo and benchmark data: the generated datasets, the golden dataset
    loader, seeded runs and violations, and the demo users. Nothing else
    imports it."""

    name = "demo"
