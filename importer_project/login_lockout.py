"""What a locked-out login sees (django-axes, docs/security.md): after
AXES_FAILURE_LIMIT wrong passwords for one username from one address, every
login for that pair, right password included, is refused for the cool-off
time with this page (429), in the admin's look."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOGIN_LOCKED = (
    "Too many failed logins for this username from this address. Logging in is locked for "
    "{minutes} minutes; try again after that, or ask an administrator to unlock it."
)
LOCKED_STATUS = 429


def login_locked(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the admin login's own page with the reason, so
    the user knows to wait rather than to retype the password."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(  # rendered now: it leaves through the middleware, not a view
        request,
        "registration/login_locked.html",
        {
            "title": "Login locked",
            "message": LOGIN_LOCKED.format(minutes=minutes),
            "site_header": "Importer",
        },
        status=LOCKED_STATUS,
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
