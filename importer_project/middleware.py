"""Request middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import get_urlconf, is_valid_path


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
