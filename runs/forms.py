"""The upload form: the admin's "add import run" page. It only checks what a
person typed; creating and enqueueing the run is ingest.services' job."""

from __future__ import annotations

from typing import cast

from django import forms

from ingest import registry, services
from ingest.errors import UsageError

AUTO = ""
DELIMITER_CHOICES = [
    (AUTO, "Detect"),
    (",", "Comma ,"),
    (";", "Semicolon ;"),
    ("\t", "Tab"),
    ("|", "Pipe |"),
]
FORMAT_CHOICES = [
    (AUTO, "Detect from the file"),
    *((name, name.upper()) for name in services.FORMATS),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV or JSON Lines (either may be gzip-compressed), or a spreadsheet: xlsx, xlsm, xls or ods."
    )
    target = forms.ChoiceField(choices=(), help_text="The kind of record the file holds.")
    source = forms.SlugField(
        max_length=64,
        widget=forms.TextInput(attrs={"list": "run-sources"}),
        help_text="The source system's slug (letters, digits, - and _); created on first use.",
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Validate and count everything but write nothing; then choose \u201cRun for real\u201d.",
    )
    encoding = forms.CharField(
        required=False, max_length=32, help_text="Optional, e.g. cp1252; detected when empty."
    )
    delimiter = forms.ChoiceField(required=False, choices=DELIMITER_CHOICES, help_text="CSV only.")
    format = forms.ChoiceField(required=False, choices=FORMAT_CHOICES)
    sheet = forms.CharField(
        required=False,
        max_length=100,
        help_text="Spreadsheets only: the sheet's name, or its position counting from 0 "
        "(0 = the first sheet). Default: the first visible sheet.",
    )
    column_map = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: for columns not named as the target's fields, one per line, "
        "like Company Name=name.",
    )
    remember = forms.BooleanField(
        required=False,
        label="Remember these settings for this source",
        help_text="Save the format, encoding, delimiter, sheet and column map given here on the source's "
        "profile. A setting left empty is taken from the source's profile, if it has one.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read at form time, not import time: targets register on app load.
        cast(forms.ChoiceField, self.fields["target"]).choices = [
            (name, name) for name in registry.names()
        ]

    def clean_column_map(self) -> list[str]:
        """The lines of the column map (the service checks them)."""
        return [line for line in self.cleaned_data["column_map"].splitlines() if line.strip()]

    def clean_sheet(self) -> str:
        try:
            return services.sheet_clean(sheet=self.cleaned_data["sheet"]) or ""
        except UsageError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_encoding(self) -> str:
        encoding = self.cleaned_data["encoding"].strip()
        try:
            services.encoding_clean(encoding=encoding)
        except UsageError as exc:
            raise forms.ValidationError(exc.message) from None
        return encoding
