"""The peer's table: the same ten columns as the organization file, with a
unique external_id so django-import-export can match rows on it (the
project keeps external ids in ExternalIdMap instead, which the peer has no
notion of). Country and employees carry the same checks as the project's
rules, so every tool keeps the same valid rows."""

from django.core.exceptions import ValidationError
from django.db import models

from ingest.fields import COUNTRY_CODES


def validate_country(value: str) -> None:
    if value.upper() not in COUNTRY_CODES:
        raise ValidationError("Enter a valid ISO 3166-1 alpha-2 country code.")


class BenchOrganization(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, validators=[validate_country])
    registration_number = models.CharField(max_length=64, blank=True, default="")
    website = models.URLField(max_length=200, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    industry = models.CharField(max_length=100, blank=True, default="")
    employees = models.PositiveIntegerField(null=True, blank=True)
    founded = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return self.external_id
