"""The API's exception handler."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.api import BodyTooLarge
from ingest.errors import ImporterError, StateConflict


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The object's state does not allow this."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors (unknown target, …) are the caller's: 400 with the
    message, never a 500; a request the object's state refuses (cancel a
    finished run, edit a violation that is not open) is a 409. Django's
    refusals of oversized or overfull forms become JSON too."""
    if isinstance(exc, StateConflict):
        exc = Conflict(exc.message)
    elif isinstance(exc, ImporterError):
        exc = exceptions.ValidationError({"detail": exc.message})
    elif isinstance(exc, RequestDataTooBig):
        # Django's own bound on form fields (DATA_UPLOAD_MAX_MEMORY_SIZE).
        exc = BodyTooLarge(str(exc))
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields or files in a form: the caller's fault, in JSON.
        exc = exceptions.ParseError(str(exc))
    return drf_exception_handler(exc, context)
