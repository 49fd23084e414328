from django.conf import settings
from django.db import models


class Source(models.Model):
    """A source system that sends files; created on first use of its slug."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # How its files look (its profile): used by a run whose caller gives no
    # value of its own (runs.services.run_create); blank is "detect". What
    # a run used is in its ingest_params_json, so a replay does not follow
    # later changes here.
    profile_format = models.CharField("format", max_length=16, blank=True, default="")
    profile_encoding = models.CharField("encoding", max_length=32, blank=True, default="")
    profile_delimiter = models.CharField("delimiter", max_length=8, blank=True, default="")
    profile_sheet = models.CharField("sheet", max_length=100, blank=True, default="")
    profile_column_map = models.JSONField("column map", blank=True, default=dict)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """What people call it: its name, or its slug while it has none."""
        return self.name or self.slug


class ExternalIdMap(models.Model):
    """Which core record a source's external id stands for, and the hash of
    the payload last imported for it (equal hash: the row is skipped)."""

    # No database constraints on the foreign keys: every chunk writes a few
    # thousand mappings, and each constrained key is a deferred trigger that
    # looks the referenced row up again at commit. Measured on a 2,000-row
    # chunk (PostgreSQL 15, COPY, synchronous_commit off): COMMIT 44 ms with
    # all three constraints, 15 ms with only ``source``'s, 0.4 ms with none;
    # that is ~0.75 s per 100k rows for ``source`` alone. ``on_delete`` still
    # works, in Django: deleting a source through the ORM is refused while it
    # has mappings (PROTECT; sources are not deleted in practice, and its runs
    # keep their own constrained key to it), and deleting a run through the
    # ORM (the admin) sets the run pointers, audit data only, to NULL. No
    # index of its own on ``source``: the unique key starts with it. No index
    # on the run pointers either: only deleting a run reads by them (a scan of
    # this table then), while every mapping written paid for them (a fifth of
    # the id map's COPY), and without them a re-import's updates can be HOT.
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="id_maps",
        db_constraint=False,
        db_index=False,
    )
    target = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    record_id = models.BigIntegerField()
    payload_hash = models.CharField(max_length=32)
    first_run = models.ForeignKey(
        "runs.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    last_run = models.ForeignKey(
        "runs.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = "external id map"
        permissions = [("repoint_externalidmap", "Can re-point an external id to another record")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "external_id"], name="ingest_externalidmap_unique_key"
            )
        ]
        indexes = [models.Index(fields=["target", "record_id"], name="ingest_idmap_record")]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.target}/{self.external_id} -> {self.record_id}"


class IdMapAudit(models.Model):
    """One steward re-pointing a mapping to another record: who, when, why,
    from which record to which. Kept when the mapping itself is deleted."""

    mapping = models.ForeignKey(
        ExternalIdMap, null=True, blank=True, on_delete=models.SET_NULL, related_name="audits"
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    old_record_id = models.BigIntegerField()
    new_record_id = models.BigIntegerField()
    reason = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "id map audit entry"
        verbose_name_plural = "id map audit"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.target}/{self.external_id}: {self.old_record_id} -> {self.new_record_id}"
