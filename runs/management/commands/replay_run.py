from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.errors import UsageError
from runs import services
from runs.execution import runner
from runs.management.commands.import_file import EXIT_USAGE, progress_for, report
from runs.models import ImportRun

NO_SUCH_RUN = "No import run with id {run_id}."


class Command(BaseCommand):
    help = (
        "Replay a run: a new run of the same stored file with the same recorded parameters "
        "(target, source, format, encoding, delimiter). Exit codes as import_file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument(
            "--dry-run", action="store_true", help="replay as a dry run (writes nothing)"
        )
        parser.add_argument(
            "--sync", action="store_true", help="run in this process, not on a worker"
        )
        parser.add_argument(
            "--json", action="store_true", help="print the run summary as JSON last"
        )

    def handle(self, *args, **options) -> None:
        run = ImportRun.objects.filter(pk=options["run_id"]).first()
        if run is None:
            raise CommandError(NO_SUCH_RUN.format(run_id=options["run_id"]), returncode=EXIT_USAGE)
        try:
            replay = services.run_replay(
                run=run, dry_run=True if options["dry_run"] else None, enqueue=not options["sync"]
            )
        except UsageError as exc:
            raise CommandError(exc.message, returncode=EXIT_USAGE) from None
        if options["sync"]:
            runner.run_execute(
                run_id=replay.pk, in_process=True, progress=progress_for(self, replay, options)
            )
        replay.refresh_from_db()
        report(self, replay, as_json=options["json"])
