"""A catalogue's products: golden records of an app other than core."""

from django.core.validators import MinValueValidator
from django.db import models

from core.models import GoldenRecord, Organization


class Product(GoldenRecord):
    class Category(models.TextChoices):
        HARDWARE = "hardware", "Hardware"
        SOFTWARE = "software", "Software"
        SERVICE = "service", "Service"

    sku = models.CharField("SKU", max_length=32, unique=True)
    name = models.CharField(max_length=120)
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    in_stock = models.BooleanField(default=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    launched = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    stock = models.PositiveSmallIntegerField(null=True, blank=True)
    weight_grams = models.IntegerField(null=True, blank=True)
    homepage = models.URLField(blank=True, default="")
    support_email = models.EmailField(blank=True, default="")
    origin_country = models.CharField(max_length=2, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    supplier = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    # Kept by hand, never imported: from_model has no rule for a float.
    rating = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["sku"]
        indexes = [models.Index(fields=["natural_key"], name="targetapp_product_natural_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"
