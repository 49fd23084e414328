"""Request middleware of our own."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import get_urlconf, is_valid_path

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable; try again in a moment."
NOT_FOUND = "Not found."
NUL_IN_QUERY = "Query parameters cannot contain NUL characters."
RETRY_AFTER_S = 10


class APITrailingSlashMiddleware:
    """An API path without its trailing slash (``POST /api/v1/runs``) is
    served as the path with it. CommonMiddleware would answer with a
    redirect, which loses a POST's body (and under DEBUG is a 500). Only
    under /api/, and only when the path with the slash exists."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None) or get_urlconf()
            if not is_valid_path(path, urlconf) and is_valid_path(path + "/", urlconf):
                request.path_info = path + "/"
                request.path = request.path + "/"
        return self.get_response(request)


class APINotFoundMiddleware:
    """A path under /api/ that matches no URL (``runs/abc/``, ``nope/``)
    answers the API's JSON 404, like every other API error; elsewhere
    Django's page. A middleware rather than ``handler404``, which Django
    skips under DEBUG for its technical HTML page. Only when no URL
    matched: a view's own 404 is the view's (DRF's are JSON already)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.resolver_match is None
            and request.path.startswith("/api/")
        ):
            return JsonResponse({"detail": NOT_FOUND}, status=404)
        return response


class QueryNulMiddleware:
    """A NUL character in a query parameter (``?field=%00``) answers 400, in
    JSON under /api/, before any view sees it: PostgreSQL refuses NUL in
    text, so every filter of every changelist and list endpoint would
    otherwise be a 500 on PostgreSQL (and silently match nothing on
    SQLite). One check here instead of one per filter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The raw query string holds a NUL only as %00 (or its decoded self).
        query = request.META.get("QUERY_STRING", "")
        if ("%00" in query or "\x00" in query) and any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_IN_QUERY}, status=400)
            return HttpResponseBadRequest(NUL_IN_QUERY, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A request that cannot reach the database (a PostgreSQL restart or
    failover, a dropped connection) answers 503 with Retry-After, in JSON
    under /api/, instead of a 500: nothing was done, and the same request
    works once the database is back. Django connects again on the next
    request by itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error(
            "%s %s: the database is unavailable (%s)", request.method, request.path, exception
        )
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(
                DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
