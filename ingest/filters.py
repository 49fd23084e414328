"""The admin's list filter by source, for every list of things a source sent."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from ingest.models import Source

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class SourceFilter(admin.RelatedFieldListFilter):
    """Sources by the name people know them by ("CRM EMEA", not "crm-emea"),
    sorted by it; the parameter stays ``source__id__exact=<id>``, so saved
    and shared links keep working. A name two sources share gets the slug
    beside it. Use as ``("source", SourceFilter)`` in ``list_filter``."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: Any
    ) -> list[tuple[str, StrOrPromise]]:
        sources = list(Source.objects.only("pk", "slug", "name"))
        shared = Counter(source.display_name.casefold() for source in sources)
        choices: list[tuple[str, StrOrPromise]] = [
            (
                str(source.pk),
                source.display_name
                if shared[source.display_name.casefold()] == 1
                else f"{source.display_name} ({source.slug})",
            )
            for source in sources
        ]
        return sorted(choices, key=lambda choice: str(choice[1]).casefold())
