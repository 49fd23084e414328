"""How products are imported: derived from the model (docs/targets.md)."""

from ingest import fields, registry
from tests.targetapp.models import Product

registry.from_model(
    Product,
    external_id="sku",
    exclude=["rating"],
    overrides={"origin_country": fields.Country("origin_country")},
    natural_key=["sku"],
)
