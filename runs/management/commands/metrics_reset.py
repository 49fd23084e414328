"""Empty PROMETHEUS_MULTIPROC_DIR before web and workers start (docs/telemetry.md)."""

from django.core.management.base import BaseCommand, CommandError

from runs.scrape import multiprocess_dir, reset_multiprocess_dir


class Command(BaseCommand):
    help = (
        "Delete the metric files in PROMETHEUS_MULTIPROC_DIR. Run it before starting web and worker "
        "processes, never while they run (they keep writing to the files they opened)."
    )

    def handle(self, *args, **options) -> None:
        directory = multiprocess_dir()
        if not directory:
            raise CommandError("PROMETHEUS_MULTIPROC_DIR is not set; there is nothing to reset.")
        removed = reset_multiprocess_dir(directory)
        self.stdout.write(f"Removed {removed} metric files from {directory}.")
