"""The API's exception handler."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ingest.errors import ImporterError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors (unknown target, cannot cancel a finished run, …) are
    the caller's: 400 with the message, never a 500."""
    if isinstance(exc, ImporterError):
        exc = exceptions.ValidationError({"detail": exc.message})
    return drf_exception_handler(exc, context)
