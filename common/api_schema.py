"""The OpenAPI schema class: every operation documents the errors the API
plumbing can give it, so views declare only their own successes and
domain errors, and endpoints added later are documented the same way."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The body of every error that is not about given fields."""

    detail = serializers.CharField()


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Messages per field name; `detail` for an error about the request as a whole.",
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object"},
        ]
    },
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: messages per field, or `detail`.",
    "401": "Not authenticated: send `Authorization: Token …` or a session cookie.",
    "403": "Authenticated, but without the permission this needs (or a missing CSRF token).",
    "404": "No such object (or, on a list, an invalid cursor).",
    "409": "The object's current state does not allow this (a finished run, a violation that is not open).",
    "413": "The request body is over the size limit.",
    "415": "The body is not in a media type this operation takes.",
    "429": "Too many requests in this scope; retry after `Retry-After` seconds.",
    "503": "The database cannot be reached; retry after `Retry-After` seconds (nothing was done).",
}


def error_response(code: str, description: str | None = None) -> OpenApiResponse:
    """An error response as views declare it in ``extend_schema``."""
    body = FIELD_ERRORS_SCHEMA if code == "400" else DetailSerializer
    return OpenApiResponse(response=body, description=description or ERROR_DESCRIPTIONS[code])


# Django's form fields refuse NUL characters (PostgreSQL cannot store them).
NO_NUL_PATTERN = "^[^\\x00]*$"
# DRF's text fields also trim surrounding whitespace before they check that
# a required value is not blank: some text, besides spaces, and no NUL.
TEXT_PATTERN = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"


class ImporterAutoSchema(AutoSchema):
    def _get_parameters(self) -> list[dict[str, Any]]:
        """Free-text query parameters say what the forms behind them refuse."""
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if (
                parameter["in"] == "query"
                and schema.get("type") == "string"
                and not ({"enum", "format", "pattern"} & set(schema))
            ):
                schema["pattern"] = NO_NUL_PATTERN
        return parameters

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """A text field of a request says what DRF refuses besides its length:
        NUL characters always, and a value of only spaces when blank is not
        allowed (DRF trims it to blank first)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"enum", "format", "pattern"} & set(schema)
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)
        ):
            blank_refused = not field.allow_blank and field.trim_whitespace
            schema["pattern"] = TEXT_PATTERN if blank_refused else NO_NUL_PATTERN
        return schema

    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """A form that refuses unknown fields (``reject_unknown_fields``) says so."""
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and getattr(serializer, "reject_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "403", "404"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        codes.append("503")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(code), code, direction=direction
                )
        return dict(sorted(responses.items()))
