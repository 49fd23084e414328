from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    """One import of one file (or of requeued rows, or a replay) into one target.

    Invariant once finished: rows_total = inserted + updated + unchanged +
    skipped + quarantined.
    """

    class Kind(models.TextChoices):
        UPLOAD = "upload"
        REMEDIATION = "remediation"
        REPLAY = "replay"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    target = models.CharField(max_length=64)
    source = models.ForeignKey("ingest.Source", on_delete=models.PROTECT, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UPLOAD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    dry_run = models.BooleanField(default=False)

    file = models.FileField(upload_to="imports/%Y/%m/%d/", blank=True, max_length=255)
    original_filename = models.CharField(max_length=255, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    ingest_params_json = models.JSONField(default=dict, blank=True)
    results_file = models.FileField(upload_to="results/%Y/%m/%d/", blank=True, max_length=255)

    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    values_mapped = models.PositiveIntegerField(
        default=0, help_text="Values replaced by the source's value mappings before validation."
    )
    resolved = models.PositiveIntegerField(
        default=0, help_text="Rows matched to an existing record (dedupe decision 'resolved')."
    )

    error_message = models.TextField(blank=True, default="")
    parent_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_runs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job_id = models.CharField(max_length=64, blank=True, default="")
    cancel_requested = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # Crash safety and scale-out (runs/execution/partitions.py, runs/execution/reconcile.py).
    partitions = models.PositiveSmallIntegerField(
        default=0, help_text="Partition jobs the run was split into (0 until planned)."
    )
    partitions_done = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times the run was claimed; a re-queue after a lost worker adds one."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("cancel_importrun", "Can cancel import runs"),
            ("replay_importrun", "Can replay import runs"),
        ]
        # The dashboard list: newest first (created_at, id), alone and behind
        # each of its equality filters, so a filtered page is an index range.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="runs_created_id"),
            models.Index(fields=["status", "-created_at", "-id"], name="runs_status_created"),
            models.Index(fields=["target", "-created_at", "-id"], name="runs_target_created"),
            models.Index(fields=["source", "-created_at", "-id"], name="runs_source_created"),
            models.Index(fields=["kind", "-created_at", "-id"], name="runs_kind_created"),
            models.Index(fields=["dry_run", "-created_at", "-id"], name="runs_dry_run_created"),
            models.Index(
                fields=["created_by", "-created_at", "-id"], name="runs_created_by_created"
            ),
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(quarantined__gt=0),
                name="runs_quarantined_created",
            ),
            models.Index(fields=["file_sha256"], name="runs_sha256"),
        ]

    def __str__(self) -> str:
        """ "Run 3208 · organization from CRM · partial": read where Django
        names a run (breadcrumbs, raw-id fields, the history); it reads the
        source, so lists that show runs select_related("source")."""
        dry = " · dry run" if self.dry_run else ""
        return f"Run {self.pk} · {self.target} from {self.source.display_name} · {self.status}{dry}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RunPartition(models.Model):
    """One partition job of a run: the rows whose external id hashes to
    ``index``, in file order. Its checkpoint (the last committed row number
    and the results-ledger length) commits with each chunk, and ``attempt``
    fences a worker that was given up for dead: its next chunk rolls back."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)
    last_row_number = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    ledger_bytes = models.BigIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="runs_partition_unique")
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="runs_partition_status")]

    def __str__(self) -> str:
        return f"Run {self.run_id} partition {self.index} ({self.status})"
