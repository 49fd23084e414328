from django.core.management.base import BaseCommand, CommandParser

from demo import golden
from ingest.services import source_get_or_create
from runs import selectors
from runs.models import ImportRun


class Command(BaseCommand):
    help = "Import the golden dataset (fixtures/golden) through the pipeline, in this process, in order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when runs exist already (make demo)"
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and ImportRun.objects.exists():
            self.stdout.write("Runs exist already; golden dataset not loaded again.")
            return
        manifest = golden.manifest()
        for slug, name in manifest.get("sources", {}).items():
            source_get_or_create(slug=slug, name=name)
        for step in manifest["steps"]:
            run = golden.golden_import_step(step)
            self.stdout.write(f"{step['name']}: {selectors.run_report_text(run=run)}")
