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
        "(0 = the first sheet). Default: the first visible sheet (or, when it lacks a required "
        "column, the one other sheet that has them all).",
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


NOT_IMPORTED = ""


class ColumnMatchForm(forms.Form):
    """The upload form's second step: the field each of the file's columns
    is read as. The file stays where the first step stored it (``token``,
    signed); runs.staging checks the choices as the reader will read them."""

    token = forms.CharField(widget=forms.HiddenInput)
    # The sheet whose columns the page shows: a new sheet chosen shows its
    # columns first, rather than importing with the other sheet's choices.
    shown_sheet = forms.CharField(required=False, widget=forms.HiddenInput)
    remember = forms.BooleanField(required=False)

    def __init__(
        self,
        *args,
        columns: list[str],
        fields: list[str],
        required: list[str],
        sheets: list[str],
        source: str,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if sheets:
            self.fields["sheet"] = forms.ChoiceField(
                choices=[(name, name) for name in sheets],
                help_text="The workbook's sheet to import; choose another and "
                "\u201cShow its columns\u201d to match them.",
            )
        choices = [(NOT_IMPORTED, "\u2014 not imported \u2014")] + [
            (name, f"{name} (required)" if name in required else name) for name in fields
        ]
        self.column_names = []
        for index, column in enumerate(columns):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                required=False,
                choices=choices,
                label=column or f"(column {index + 1} has no name)",
            )
            self.column_names.append(name)
        self.fields["remember"].label = f"Remember this column map for the source {source}"
        self.fields[
            "remember"
        ].help_text = "Save it on the source's profile: its next uploads are read with it."

    def column_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.column_names]

    def choices(self) -> list[str | None]:
        """The field chosen for each column (None: not imported)."""
        return [self.cleaned_data.get(name) or None for name in self.column_names]
