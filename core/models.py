"""The golden records. Imported by nothing of ours; filled through
core/targets.py by the ingest pipeline, or edited by hand in the admin."""

from django.db import models

from core.provenance import ProvenanceField


class GoldenRecord(models.Model):
    """Fields every golden record shares.

    ``provenance`` keeps, per field, who set the current value:
    ``{field: {"source": slug, "run": id, "at": iso-timestamp, "manual": bool, "rule": …}}``.
    Survivorship (ingest/survivorship.py) reads and writes it; it is stored
    with each distinct entry once (core/provenance.py).
    ``natural_key`` is the normalized dedupe key, derived on every write.
    """

    natural_key = models.CharField(max_length=300, null=True, blank=True, editable=False)
    provenance = ProvenanceField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organization(GoldenRecord):
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, upper case")
    registration_number = models.CharField(max_length=64, blank=True, default="")
    website = models.URLField(max_length=200, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    industry = models.CharField(max_length=100, blank=True, default="")
    employees = models.PositiveIntegerField(null=True, blank=True)
    founded = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["natural_key"], name="core_organization_natural_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


class Contact(GoldenRecord):
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    title = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["natural_key"], name="core_contact_natural_key")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
