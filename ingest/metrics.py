"""The importer's Prometheus metrics (names fixed by DESIGN.md). Labels are
small, bounded sets: target, source, dry_run, status, outcome, decision."""

from prometheus_client import Counter, Histogram

RUNS_ENQUEUED = Counter("importer_runs_enqueued", "Runs put on the imports queue.", ["dry_run"])
DRY_RUNS = Counter("importer_dry_run", "Dry runs finished.")
DRY_RUN_REQUEST_SECONDS = Histogram(
    "importer_dry_run_request_seconds", "A dry run end to end, from upload to finished."
)
RUN_DURATION = Histogram(
    "importer_run_duration_seconds", "Run duration, started to finished.", ["target", "status"]
)
RUNS_FINISHED = Counter("importer_runs_finished", "Runs finished, by status.", ["status"])
ROWS = Counter("importer_rows", "Rows by outcome.", ["target", "outcome"])
DEDUPE_DECISIONS = Counter("importer_dedupe_decisions", "Dedupe decisions on valid rows.", ["target", "decision"])
REMEDIATION = Counter(
    "importer_remediation", "Remediation outcomes of steward actions (requeued, resolved, failed, ignored).",
    ["outcome"],
)
