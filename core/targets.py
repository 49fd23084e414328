"""How the golden records are imported (see ingest/registry.py)."""

from collections.abc import Mapping, Sequence
from typing import Any

from core.keys import normalize_email, organization_key
from core.models import Contact, Organization
from ingest import fields, registry


@registry.register
class OrganizationTarget(registry.Target):
    name = "organization"
    model = Organization
    fields = [
        fields.ExternalId(),
        fields.Text("name", required=True, max_length=200),
        fields.Country("country", required=True),
        fields.Text("registration_number", max_length=64),
        fields.URL("website", max_length=200),
        fields.Email("email", max_length=254),
        fields.Phone("phone", region_field="country"),
        fields.Text("industry", max_length=100),
        fields.Integer("employees", min_value=0, max_value=2_147_483_647),
        fields.Date("founded", allow_future=False),
        fields.Timestamp("updated_at", column=None),
    ]

    def natural_key(self, values: dict[str, Any]) -> str | None:
        return organization_key(values.get("country"), values.get("registration_number"))

    def natural_keys(self, values: Mapping[str, Sequence[Any]]) -> list[str | None]:
        return list(map(organization_key, values["country"], values["registration_number"]))


@registry.register
class ContactTarget(registry.Target):
    name = "contact"
    model = Contact
    # A contact's file names its organization's id as an organization's
    # file names its own: those words mean the reference here.
    column_synonyms = {
        "organization_external_id": (
            "Org ID",
            "Organization ID",
            "Company ID",
            "Account ID",
            "Customer ID",
            "Employer ID",
        ),
    }
    fields = [
        fields.ExternalId(),
        fields.Reference(
            "organization_external_id", target="organization", column="organization_id"
        ),
        fields.Text("first_name", max_length=100),
        fields.Text("last_name", required=True, max_length=100),
        fields.Email("email", max_length=254),
        fields.Phone("phone"),
        fields.Text("title", max_length=100),
        fields.Timestamp("updated_at", column=None),
    ]

    def natural_key(self, values: dict[str, Any]) -> str | None:
        return normalize_email(values.get("email")) or None

    def natural_keys(self, values: Mapping[str, Sequence[Any]]) -> list[str | None]:
        return [normalize_email(email) or None for email in values["email"]]
