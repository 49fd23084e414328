from django.contrib import admin
from django.db import models

from core.admin import GoldenRecordAdmin
from tests.targetapp.models import Product


@admin.register(Product)
class ProductAdmin(GoldenRecordAdmin):
    """The lineage and the manual-override action come with GoldenRecordAdmin."""

    list_display = ["sku", "name", "price", "in_stock", "category", "supplier"]
    list_filter = ["category", "in_stock"]
    search_fields = ["sku", "name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
