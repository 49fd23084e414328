"""Plumbing shared by every API module: permissions, pagination, bounded
request bodies and strict booleans (errors are in api_errors: DRF's views
module must not be imported from here; filters are in api_filters)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework import exceptions, pagination, parsers, permissions, serializers, throttling
from rest_framework.utils import html

from common.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with ``view`` required for reads (DRF's own
    class lets any authenticated user read)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class HasAnyPermission(permissions.BasePermission):
    """For views without a model: ``required_any_permissions`` on the view
    lists permissions of which the user needs one."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return any(user.has_perm(perm) for perm in getattr(view, "required_any_permissions", ()))


BAD_PAGE_SIZE = "A page size is a whole number from 1 to {limit}."


class CursorPagination(pagination.CursorPagination):
    """Keyset pages: as fast on page 1,000 as on page 1, and no COUNT(*)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def get_page_size(self, request: Any) -> int:
        """A bad ``page_size`` is the caller's mistake to hear about (DRF
        silently falls back to the default)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [BAD_PAGE_SIZE.format(limit=self.max_page_size)]}
            )
        return int(value)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class ActionPermissions(ModelPermissions):
    """Model permissions, except for the actions in ``action_permissions`` on
    the viewset (``{"cancel": ["runs.cancel_importrun"]}``), which need those
    permissions instead: actions that are neither plain reads nor writes."""

    def has_permission(self, request: Any, view: Any) -> bool:
        action = getattr(view, "action", None)
        extra = getattr(view, "action_permissions", {}).get(action)
        if extra is None:
            return super().has_permission(request, view)
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perms(extra)


# --- Bounded request bodies ---------------------------------------------------

BODY_TOO_LARGE = "The request body is {size:,} bytes, over the limit of {limit:,} bytes."
JSON_TOO_DEEP = "JSON parse error - arrays or objects are nested too deeply."


class UploadThrottle(throttling.ScopedRateThrottle):
    """Uploads per user, counted in the cache (Redis under REDIS_URL). When
    Redis is unreachable the upload is let through rather than refused with
    a 500: it is kept, and its run waits in the queue until Redis is back."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            logger.warning("Upload not throttled: the cache is unreachable (%s).", exc)
            return True


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def content_length(request: Any) -> int:
    """The declared body size (0 when absent or unreadable: Django then reads nothing)."""
    meta = request.META
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


def check_content_length(request: Any, limit: int) -> None:
    """Refuse a body by its declared size, before a byte of it is read."""
    size = content_length(request)
    if size > limit:
        raise BodyTooLarge(BODY_TOO_LARGE.format(size=size, limit=limit))


class _BoundedParser:
    """DRF's parsers read the whole stream whatever its size (Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE only guards ``request.body``): check the
    declared length first. A view may raise its bound with ``max_body_bytes``."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        context = parser_context or {}
        view, request = context.get("view"), context.get("request")
        limit = getattr(view, "max_body_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None:
            check_content_length(request, limit)
        return super().parse(stream, media_type, parser_context)  # type: ignore[misc]


class BoundedJSONParser(_BoundedParser, parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # arrays or objects nested thousands deep
            raise exceptions.ParseError(JSON_TOO_DEEP) from None


class BoundedFormParser(_BoundedParser, parsers.FormParser):
    pass


class BoundedMultiPartParser(_BoundedParser, parsers.MultiPartParser):
    pass


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only (JSON booleans, or those words in a form):
    DRF's field also takes "0", "yes", "on", …, which the schema's boolean
    does not promise."""

    # None for "null" when allow_null, as DRF's own BooleanField; its stubs say bool.
    def to_internal_value(self, data: Any) -> bool | None:  # type: ignore[override]
        if isinstance(data, bool):
            return data
        if self._from_form():  # a form's values are all text: the words stand for the JSON values
            if isinstance(data, str) and data.lower() in ("true", "false"):
                return data.lower() == "true"
            if self.allow_null and data == "null":
                return None
        self.fail("invalid", input=data)

    def _from_form(self) -> bool:
        """A JSON body gives its own types: "true" (text) there is not a boolean."""
        return html.is_html_input(getattr(self.parent, "initial_data", None))
