"""Plumbing shared by every API module: permissions and pagination (errors
are in api_errors: DRF's views module must not be imported from here)."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, permissions


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


class CursorPagination(pagination.CursorPagination):
    """Keyset pages: as fast on page 1,000 as on page 1, and no COUNT(*)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"
