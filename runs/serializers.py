"""Input and output shapes of the runs API."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import StrictBooleanField
from ingest import errors, registry
from ingest.errors import ImporterError
from ingest.services import FORMATS, column_map_clean, encoding_clean
from runs.models import ImportRun

SOURCE_SLUG = r"^[-a-zA-Z0-9_]+$"
UNKNOWN_FIELDS = "Unknown field(s): {names}."
REPEATED_FIELD = "Send this field once."
EMPTY_FIELD = "Give a value, or leave the field out."
# curl -F reads ";" as the start of a part's attributes: -F "delimiter=;"
# (or ";;") sends the field empty, so the server never sees the value typed.
EMPTY_DELIMITER = (
    f"{EMPTY_FIELD} The delimiter arrived empty; curl -F cuts a value at ';' "
    "(-F 'delimiter=;' sends nothing): send it with --form-string 'delimiter=;'."
)


class ImportRunSerializer(serializers.ModelSerializer):
    """A run with its counters and progress, as integrations poll it."""

    source: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    duration_s = serializers.FloatField(read_only=True, allow_null=True)
    percent = serializers.SerializerMethodField(
        help_text="Share of rows processed, 0-100; null while the row count is not known yet."
    )
    has_results = serializers.SerializerMethodField(
        help_text="Whether `results/` has a file to download."
    )

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "target",
            "source",
            "kind",
            "status",
            "dry_run",
            "original_filename",
            "file_size",
            "file_sha256",
            "ingest_params_json",
            "rows_total",
            "rows_processed",
            "percent",
            "inserted",
            "updated",
            "unchanged",
            "skipped",
            "quarantined",
            "resolved",
            "values_mapped",
            "error_message",
            "cancel_requested",
            "parent_run",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_s",
            "has_results",
        ]
        read_only_fields = fields

    def get_percent(self, run: ImportRun) -> float | None:
        """The pipeline streams the file and learns the row count only at the
        end, so progress is known for finished runs (and trivially for queued)."""
        if run.is_finished:
            return 100.0
        if run.status == ImportRun.Status.QUEUED:
            return 0.0
        if run.rows_total:
            return round(min(100.0, 100.0 * run.rows_processed / run.rows_total), 1)
        return None

    def get_has_results(self, run: ImportRun) -> bool:
        return bool(run.results_file)


DELIMITERS = (",", ";", "|", ":", "\t", "tab")


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """An empty file is refused now rather than failing its run later."""


COLUMN_MAP_MAX_CHARS = 10_000
COLUMN_MAP_TOO_LONG = "The column map is longer than {max_length:,} characters."


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class ColumnMapField(serializers.Field):
    """A JSON object in the form's text (every multipart value is text); the
    schema says it is an object, so anything else, an empty value included,
    is a 400. Its entries are checked against the target in the form's
    ``validate``."""

    default_error_messages = {
        "not_object": errors.COLUMN_MAP_NOT_OBJECT,
        "max_length": COLUMN_MAP_TOO_LONG,
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, str):
            self.fail("not_object")
        if len(data) > COLUMN_MAP_MAX_CHARS:
            self.fail("max_length", max_length=COLUMN_MAP_MAX_CHARS)
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            value = None
        if not isinstance(value, dict):
            self.fail("not_object")
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class TargetField(serializers.ChoiceField):
    """A registered target's name; choices are read when the form is made,
    after every app's targets.py has registered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=registry.names(), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return registry.get(str(data)).name
        except ImporterError as exc:
            raise serializers.ValidationError(exc.message) from None


class FormSerializer(serializers.Serializer):
    """A form gives each field once and never empty: which of two values
    would win is not the sender's to guess, and DRF reads an optional field
    sent empty as left out (``dry_run=`` a real run, ``column_map=`` no
    map), where the schema allows no empty value (a field that allows blank
    says so in the schema, and reads empty as its default). A JSON body has
    neither."""

    reject_unknown_fields = True  # the schema says so (additionalProperties: false)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:  # a misspelt field (``dryrun``) is an error, not silently left out
            raise serializers.ValidationError(
                {"non_field_errors": [UNKNOWN_FIELDS.format(names=", ".join(map(repr, unknown)))]}
            )
        getlist = getattr(self.initial_data, "getlist", None)
        if getlist is None:
            return attrs
        # (a BindingDict iterates over its names; the stubs say fields)
        repeated = [name for name in self.fields.keys() if len(getlist(name)) > 1]
        if repeated:
            raise serializers.ValidationError({name: [REPEATED_FIELD] for name in repeated})
        empty = [
            name
            for name in self.fields.keys()
            if getlist(name) == [""] and not getattr(self.fields[name], "allow_blank", False)
        ]
        if empty:
            raise serializers.ValidationError(
                {name: [EMPTY_DELIMITER if name == "delimiter" else EMPTY_FIELD] for name in empty}
            )
        return attrs


class RunCreateSerializer(FormSerializer):
    """The multipart form of an upload. A misspelt field (``dryrun``) is an
    error, not silently a real run."""

    file = UploadField(
        use_url=False,
        help_text="The file (not empty): CSV or JSON Lines, either may be gzip-compressed, "
        "or a spreadsheet (xlsx, xlsm, xls, ods).",
    )
    target = TargetField(help_text="A target name, see `targets/`.")
    source = serializers.RegexField(  # type: ignore[assignment]
        SOURCE_SLUG,
        max_length=64,
        help_text="The source system's slug; created on first use.",
        error_messages={"invalid": "A source is a slug: letters, digits, - and _."},
    )
    dry_run = StrictBooleanField(default=False)
    format = serializers.ChoiceField(
        choices=FORMATS, required=False, help_text="Default: detected."
    )
    encoding = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=(
            "Empty or left out: detected (UTF-8 with or without a BOM, UTF-16 and UTF-32 by their BOM, "
            "else cp1252). Any Python text codec by any of its names, as for the CLI's "
            "`--encoding`: `utf-8`, `utf-16-le`, `cp1252` (also `windows-1252`), `latin-1`, "
            "`iso-8859-15`, `cp850`, `mac-roman`, … A file's byte-order mark wins over the "
            "encoding given."
        ),
    )
    delimiter = serializers.ChoiceField(
        choices=DELIMITERS, required=False, help_text="Default: detected from the header."
    )
    sheet = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=(
            "Spreadsheets only (ignored for text files): the sheet to read, by name, or by position "
            "counting from 0 (`0` = the first sheet; a sheet named like a number wins). Empty or left "
            "out: the first visible sheet (or, when it lacks a required column, the one other sheet "
            "that has them all). A sheet the workbook lacks fails the run, naming its sheets."
        ),
    )
    column_map = ColumnMapField(
        required=False,
        help_text=(
            "Columns not named as the target's fields: a JSON object of column name → field name, "
            'sent as the JSON text of this form field: {"Company Name": "name"}. Each column name '
            "holds a non-space character and no NUL, once (compared as headers are: case and "
            "surrounding spaces aside); each field name is one of the target's fields (see `targets/`)."
        ),
    )

    remember = StrictBooleanField(
        default=False,
        help_text="Save the `format`, `encoding`, `delimiter`, `sheet` and `column_map` given here on the "
        "source's profile; a later upload that leaves one out uses the saved value.",
    )

    def validate_encoding(self, value: str) -> str | None:
        try:
            return encoding_clean(encoding=value)
        except ImporterError as exc:
            raise serializers.ValidationError(exc.message) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "column_map" in attrs:
            try:
                attrs["column_map"] = column_map_clean(
                    target=registry.get(attrs["target"]), entries=attrs["column_map"]
                )
            except ImporterError as exc:
                raise serializers.ValidationError({"column_map": [exc.message]}) from None
        return attrs


class RunReplaySerializer(FormSerializer):
    dry_run = StrictBooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: the same as the replayed run.",
    )
