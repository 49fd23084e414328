"""How the golden records are imported (see ingest/registry.py)."""

import re
from typing import Any

from core.models import Contact, Organization
from ingest import fields, registry

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalize_registration_number(value: str | None) -> str:
    """Upper-case, with spaces, dots, dashes and slashes dropped: 'hrb 123-45' -> 'HRB12345'."""
    return _NOT_ALNUM.sub("", value.upper()) if value else ""


def normalize_email(value: str | None) -> str:
    return value.strip().lower() if value else ""


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
        number = normalize_registration_number(values.get("registration_number"))
        country = values.get("country")
        return f"{country}:{number}" if number and country else None


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
