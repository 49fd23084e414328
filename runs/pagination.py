"""A paginator that never counts a whole large table: it counts at most
COUNT_CAP + 1 rows (an index scan that stops early), so the runs list costs
the same at 1,000 and at 1,000,000 runs. Past the cap the list says
"more than 10,000" and offers the first COUNT_CAP / per_page pages; filters,
not page 3,000, are how anyone finds a run there."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    object_list: QuerySet[Any]  # the changelist's queryset

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP
