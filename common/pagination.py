"""A changelist paginator for tables too big to count on every page view."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT
    n)``): a full COUNT of a million open violations costs more than the
    page itself. Past the cap the list says "More than 10,000" and pages
    stop there; filters narrow the list. ``count`` is not the number of rows
    then, so a template that shows it must check ``capped`` first (the DQ
    inbox asks for the exact number when "Select all" is clicked).

    Use it as ``ModelAdmin.paginator``; a test lowers ``cap`` on the class."""

    cap = 10_000
    object_list: QuerySet[Any]  # the changelist's queryset

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap
