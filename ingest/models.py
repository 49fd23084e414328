from django.db import models


class Source(models.Model):
    """A source system that sends files; created on first use of its slug."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ExternalIdMap(models.Model):
    """Which core record a source's external id stands for, and the hash of
    the payload last imported for it (equal hash: the row is skipped)."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="id_maps")
    target = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    record_id = models.BigIntegerField()
    payload_hash = models.CharField(max_length=32)
    first_run = models.ForeignKey(
        "runs.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.ForeignKey(
        "runs.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "external id map"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "external_id"], name="ingest_externalidmap_unique_key"
            )
        ]
        indexes = [models.Index(fields=["target", "record_id"], name="ingest_idmap_record")]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.target}/{self.external_id} -> {self.record_id}"
