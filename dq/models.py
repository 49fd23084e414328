from collections.abc import Iterable

from django.conf import settings
from django.db import models


def codes_of(errors: Iterable[dict[str, str]]) -> str:
    """The rule codes of a row's errors, for the inbox's code filter."""
    return ",".join(sorted({error["code"] for error in errors}))[:255]


def fields_of(errors: Iterable[dict[str, str]]) -> str:
    """',email,phone,': comma wrapped so a filter matches a whole name."""
    names = sorted({error["field"] for error in errors if error["field"]})
    return ("," + ",".join(names) + ",")[:512] if names else ""


class Violation(models.Model):
    """A quarantined row: the payload as read (after column mapping) and
    every error found in it, waiting for a steward."""

    class Status(models.TextChoices):
        OPEN = "open"
        REQUEUED = "requeued"
        RESOLVED = "resolved"
        IGNORED = "ignored"

    class Resolution(models.TextChoices):
        STEWARD = "steward"
        SOURCE = "source"

    class RequeueOutcome(models.TextChoices):
        RESOLVED = "resolved"
        FAILED_AGAIN = "failed_again"

    # The statuses the one-per-fingerprint constraint covers.
    LIVE = (Status.OPEN, Status.REQUEUED)

    # The foreign keys without an index of their own are served by one in
    # Meta.indexes: a composite that starts with them, or for the columns
    # mostly empty, a partial one over the rows that have a value. Every
    # index costs each violation an import writes or updates (a nightly feed
    # that repeats its mistakes updates thousands per run).
    run = models.ForeignKey(
        "runs.ImportRun", on_delete=models.CASCADE, related_name="violations", db_index=False
    )
    target = models.CharField(max_length=64)
    source = models.ForeignKey(
        "ingest.Source", on_delete=models.PROTECT, related_name="violations", db_index=False
    )
    row_number = models.PositiveIntegerField()
    external_id = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField(default=dict)
    errors = models.JSONField(default=list, help_text="[{field, code, message}]")
    codes = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Rule codes, comma separated, for filters.",
    )
    error_fields = models.CharField(
        max_length=512,
        blank=True,
        default="",
        help_text="Fields with errors, comma separated and comma wrapped (',email,phone,'), for filters.",
    )
    dry_run = models.BooleanField(
        default=False,
        help_text="Found by a dry run: read-only, shown only when filtering by its run.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    ignore_reason = models.TextField(blank=True, default="")
    resolved_by_run = models.ForeignKey(
        "runs.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    remediation_run = models.ForeignKey(
        "runs.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="remediated_violations",
        help_text="The remediation run that last took this row (requeue).",
        db_index=False,
    )
    action_token = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Set by the compare-and-set of a steward action, so the action finds exactly the rows it changed.",
    )
    payload_purged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the payload's values were masked after the retention (purge_personal_data).",
    )
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="sha256 of target|source|external id (or of the raw row without a usable id): "
        "one open or requeued violation per fingerprint.",
    )
    read_payload_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="sha256 of the payload as an import last read it (dq.fingerprints.raw_hash); "
        "a steward's edit leaves it, so a row fixed by a steward and sent again unchanged "
        "stays resolved.",
    )
    occurrences = models.PositiveIntegerField(
        default=1, help_text="How many times runs quarantined this row."
    )
    first_seen_run = models.ForeignKey(
        "runs.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seen_run = models.ForeignKey(
        "runs.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=16, choices=Resolution.choices, null=True, blank=True)
    regressions = models.PositiveIntegerField(
        default=0, help_text="Times it broke again after being resolved."
    )
    requeue_outcome = models.CharField(
        max_length=16, choices=RequeueOutcome.choices, null=True, blank=True
    )
    history = models.JSONField(
        default=list,
        blank=True,
        help_text="Earlier occurrences, oldest first, at most 20: [{run, at, payload, errors}].",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("remediate_violation", "Can fix, requeue and ignore violations"),
            ("view_payload", "Can see payload values (may hold personal data)"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="dq_violation_status_created"),
            models.Index(fields=["run", "row_number"], name="dq_violation_run_row"),
            models.Index(fields=["target", "status"], name="dq_violation_target_status"),
            models.Index(fields=["source", "status"], name="dq_violation_source_status"),
            models.Index(fields=["external_id"], name="dq_violation_external_id"),
            models.Index(fields=["dry_run", "status", "-id"], name="dq_violation_inbox"),
            models.Index(fields=["run", "status", "-id"], name="dq_violation_run_status"),
            models.Index(fields=["action_token"], name="dq_violation_action_token"),
            models.Index(fields=["fingerprint", "-id"], name="dq_violation_fingerprint"),
            models.Index(
                fields=["requeue_outcome", "status", "-id"],
                name="dq_violation_requeue_outcome",
                condition=models.Q(requeue_outcome__isnull=False),
            ),
            *(
                models.Index(
                    fields=[name],
                    name=f"dq_violation_{name}",
                    condition=models.Q(**{f"{name}__isnull": False}),
                )
                for name in ("assignee", "resolved_by_run", "remediation_run")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(status__in=["open", "requeued"], dry_run=False)
                & ~models.Q(fingerprint=""),
                name="dq_violation_one_live_per_fingerprint",
            ),
        ]

    def __str__(self) -> str:
        return f"Violation {self.pk} (run {self.run_id}, row {self.row_number})"


class RemediationAudit(models.Model):
    """Who did what to a violation, with the payload before and after."""

    class Action(models.TextChoices):
        EDIT = "edit"
        REQUEUE = "requeue"
        IGNORE = "ignore"
        REOPEN = "reopen"
        BULK_EDIT = "bulk_edit"
        ASSIGN = "assign"
        RESULT = "result", "remediation result"  # what a remediation run did to the row

    class Outcome(models.TextChoices):
        SAVED = "saved"
        REQUEUED = "requeued"
        IGNORED = "ignored"
        REOPENED = "reopened"
        RESOLVED = "resolved"
        FAILED = "failed"
        REGRESSED = "regressed"  # resolved, then broken again by a later import
        CHANGED_WHILE_IGNORED = "changed_while_ignored", "changed while ignored"

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="audits")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True, default="", choices=Outcome.choices)
    run = models.ForeignKey(
        "runs.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The remediation run of a requeue or of its result.",
    )
    reason = models.TextField(blank=True, default="")
    time_to_fix_s = models.FloatField(
        null=True,
        blank=True,
        help_text="On a 'resolved' result: seconds from the violation found to resolved.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "created_at"], name="dq_audit_action_created")]

    def __str__(self) -> str:
        return f"{self.action} on violation {self.violation_id}"


class ValueMapping(models.Model):
    """A replacement a steward made once ("Replace value … remember"), e.g.
    country ``Germany`` → ``DE``: applied to this source's later imports of
    the target before validation, and recorded in each run's parameters so
    a replay applies the same ones."""

    source = models.ForeignKey(
        "ingest.Source", on_delete=models.CASCADE, related_name="value_mappings"
    )
    target = models.CharField(max_length=64)
    field = models.CharField(max_length=64)
    from_value = models.CharField(max_length=1000)
    to_value = models.CharField(max_length=1000, blank=True)
    active = models.BooleanField(default=True, help_text="Applied to new imports of the source.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "target", "field", "from_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "field", "from_value"], name="dq_value_mapping_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target}.{self.field}: {self.from_value!r} → {self.to_value!r} ({self.source_id})"
