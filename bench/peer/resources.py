"""django-import-export 4.x resource for the peer measurement, as a user of
that library would write it: a ModelResource matched on external_id, model
validation on (full_clean), default row-by-row import."""

from import_export import fields, resources, widgets

from bench.peer.models import BenchOrganization

COLUMNS = [
    "external_id",
    "name",
    "country",
    "registration_number",
    "website",
    "email",
    "phone",
    "industry",
    "employees",
    "founded",
]


class RowErrorIntegerWidget(widgets.IntegerWidget):
    """The stock widget lets ``12a`` escape as a decimal error that rolls
    the whole import back; this one reports it as an invalid row (ValueError
    becomes a field error), like the other tools do."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        text = str(value).strip()
        if not text.lstrip("+-").isdigit():
            raise ValueError("Enter a whole number.")
        return int(text)


class OrganizationResource(resources.ModelResource):
    employees = fields.Field(
        attribute="employees", column_name="employees", widget=RowErrorIntegerWidget()
    )

    class Meta:
        model = BenchOrganization
        fields = COLUMNS
        import_id_fields = ["external_id"]
        clean_model_instances = True
        skip_unchanged = False
