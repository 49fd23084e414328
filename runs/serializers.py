"""Input and output shapes of the runs API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ingest import readers, registry
from ingest.errors import ImporterError
from ingest.services import FORMATS
from runs.models import ImportRun


class ImportRunSerializer(serializers.ModelSerializer):
    """A run with its counters and progress, as integrations poll it."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)
    percent = serializers.SerializerMethodField(
        help_text="Share of rows processed, 0-100; null while the row count is not known yet."
    )
    has_results = serializers.SerializerMethodField(help_text="Whether `results/` has a file to download.")

    class Meta:
        model = ImportRun
        fields = [
            "id", "target", "source", "kind", "status", "dry_run", "original_filename", "file_size",
            "file_sha256", "ingest_params_json", "rows_total", "rows_processed", "percent", "inserted",
            "updated", "unchanged", "skipped", "quarantined", "resolved", "error_message",
            "cancel_requested", "parent_run", "created_by", "created_at", "started_at", "finished_at",
            "duration_s", "has_results",
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


def _reader_check(check: Any, value: str | None) -> Any:
    """Run one of the reader's own argument checks, so a bad value is a 400
    now, in the reader's words, instead of a failed run later."""
    try:
        return check(value)
    except ImporterError as exc:
        raise serializers.ValidationError(exc.message) from None


class RunCreateSerializer(serializers.Serializer):
    """The multipart form of an upload."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    target = serializers.CharField(max_length=64, help_text="A target name, see `targets/`.")
    source = serializers.CharField(max_length=64, help_text="The source system's slug; created on first use.")
    dry_run = serializers.BooleanField(default=False)
    format = serializers.ChoiceField(choices=FORMATS, required=False, help_text="Default: detected.")
    encoding = serializers.CharField(
        max_length=40, required=False, help_text="e.g. utf-8, cp1252, utf-16. Default: detected."
    )
    delimiter = serializers.CharField(
        max_length=3, required=False, trim_whitespace=False, help_text="One character, or 'tab'. Default: detected."
    )

    def validate_target(self, value: str) -> str:
        try:
            return registry.get(value).name
        except ImporterError as exc:
            raise serializers.ValidationError(exc.message) from None

    def validate_encoding(self, value: str) -> str:
        return _reader_check(readers._encoding_argument, value)

    def validate_delimiter(self, value: str) -> str:
        return _reader_check(readers._delimiter_argument, value)


class RunReplaySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Default: the same as the replayed run."
    )
