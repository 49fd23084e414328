"""Admin JSON views outside a ModelAdmin, mounted at /admin/imports/."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from dq import selectors

STATS_PERMISSION = "dq.view_violation"


@require_GET
def remediation_stats_view(request: HttpRequest) -> JsonResponse:
    """Remediation stats as JSON (``?since=2026-01-01`` or ``?since=7d``;
    default: the last 30 days). Staff with view permission on violations."""
    if not request.user.has_perm(STATS_PERMISSION):
        raise PermissionDenied
    try:
        since = selectors.parse_since(request.GET.get("since"))
    except ValueError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(selectors.remediation_stats(since=since))
