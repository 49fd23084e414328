from django.conf import settings
from django.db import models


class Violation(models.Model):
    """A quarantined row: the payload as read (after column mapping) and
    every error found in it, waiting for a steward."""

    class Status(models.TextChoices):
        OPEN = "open"
        REQUEUED = "requeued"
        RESOLVED = "resolved"
        IGNORED = "ignored"

    run = models.ForeignKey("runs.ImportRun", on_delete=models.CASCADE, related_name="violations")
    target = models.CharField(max_length=64)
    source = models.ForeignKey("ingest.Source", on_delete=models.PROTECT, related_name="violations")
    row_number = models.PositiveIntegerField()
    external_id = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField(default=dict)
    errors = models.JSONField(default=list, help_text="[{field, code, message}]")
    codes = models.CharField(
        max_length=255, blank=True, default="", help_text="Rule codes, comma separated, for filters."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ignore_reason = models.TextField(blank=True, default="")
    resolved_by_run = models.ForeignKey(
        "runs.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        ]

    def __str__(self) -> str:
        return f"Violation {self.pk} (run {self.run_id}, row {self.row_number})"


class RemediationAudit(models.Model):
    """Who did what to a violation, with the payload before and after."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="audits")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on violation {self.violation_id}"
