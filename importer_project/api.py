"""Plumbing shared by every API module: permissions, pagination and bounded
request bodies (errors are in api_errors: DRF's views module must not be
imported from here)."""

from __future__ import annotations

from typing import Any

import datetime as dt

import django_filters
import django_filters.fields
from django import forms
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, filters, pagination, parsers, permissions, serializers


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
    """Model permissions, plus ``action_permissions`` on a viewset: extra
    permissions an action needs (``{"cancel": ["runs.cancel_importrun"]}``),
    for actions that are neither plain reads nor plain writes."""

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
    pass


class BoundedFormParser(_BoundedParser, parsers.FormParser):
    pass


class BoundedMultiPartParser(_BoundedParser, parsers.MultiPartParser):
    pass


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only (JSON booleans, or those words in a form):
    DRF's field also takes "0", "yes", "on", …, which the schema's boolean
    does not promise."""

    def to_internal_value(self, data: Any) -> bool | None:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):
            return data.lower() == "true"
        if self.allow_null and data in ("", "null", None):
            return None
        self.fail("invalid", input=data)


class _StrictBooleanFormField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    """A query-string boolean that is ``true`` or ``false``; anything else is
    a 400 (django-filter's own silently ignores what it cannot read)."""

    field_class = _StrictBooleanFormField


EMPTY_FILTER = "Give a value, or leave the parameter out."


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with an empty value (``?status=``) is a 400, not
    silently no filter; text filters take empty text as text."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) or name not in self.data:
                continue
            if "" in self.data.getlist(name) and name not in self.form.errors:
                self.form.add_error(name, EMPTY_FILTER)
                valid = False
        return valid


class _UtcDateTimeFormField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value: Any) -> Any:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            raise forms.ValidationError("The date and time is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC: PostgreSQL refuses offsets
    beyond ±15:59 that ISO 8601 (and Python) allow."""

    field_class = _UtcDateTimeFormField


BAD_ORDERING = "Order by one of: {choices}."


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` with a field it cannot order by is a 400 (DRF's own
    filter ignores it), and the schema lists the choices."""

    def _choices(self, view: Any) -> list[str]:
        fields = [name for name, _ in self.get_valid_fields(view.get_queryset(), view, {"request": view.request})]
        return [prefix + name for name in fields for prefix in ("", "-")]

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params is not None:
            terms = [term.strip() for term in params.split(",")]
            choices = self._choices(view)
            if not all(term in choices for term in terms):
                raise exceptions.ValidationError({self.ordering_param: [BAD_ORDERING.format(choices=", ".join(choices))]})
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "enum": self._choices(view)}
        return parameters
