"""The DQ inbox (ViolationAdmin). Thin: filters in dq/filters.py, the editor
in dq/editor.py, every write in dq/services.py; the audit log and the value
mappings are in dq/admin_audit.py.

Why one class of this length: the inbox is one ModelAdmin (Django's admin
wants one per model), and its steward tools (groups, replace value, set
field, next violation) are views of that class, sharing its queryset and
filters; each delegates to a service in a few lines."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.timesince import timesince

from common.admin_lookups import IdLookupsMixin
from common.cache import cache_get_or_compute
from common.pagination import CappedPaginator
from dq import (
    admin_audit,  # noqa: F401 (imported to register the audit log's and value mappings' admins)
    charts,
    editor,
    filters,
    forms,
    selectors,
    services,
    stats,
)
from dq.editor import can_remediate, requeue_message
from dq.models import Violation
from ingest.errors import UsageError
from ingest.filters import SourceFilter
from ingest.models import Source

CARDS_CACHE_KEY = "dq:inbox-cards"
CARDS_CACHE_SECONDS = 60
MESSAGE_CHARS = 80
NO_NEXT = "No other violation matches the inbox's filters: the list is done."
EXTERNAL_ID_CHARS = 30


SEARCH_HELP = (
    "External id (exact or prefix); with payload permission, also text inside the payload."
)


@admin.register(Violation)
class ViolationAdmin(IdLookupsMixin):
    # Four columns that fit beside the navigation and filter sidebars at
    # 1280 px (issue 19): what the row is and where it came from, what is
    # wrong, and where it stands. tests/e2e/test_inbox_layout.py checks it.
    list_display = ["id", "violation", "first_error", "status_badges"]
    list_display_links = ["id"]
    list_filter = [
        filters.StatusFilter,
        filters.TargetFilter,
        ("source", SourceFilter),
        filters.CodeFilter,
        filters.FieldFilter,
        filters.RunFilter,
        filters.AgeFilter,
        filters.AssigneeFilter,
        filters.RequeueOutcomeFilter,
        filters.ResolutionFilter,
        filters.SeenFilter,
        filters.RemediationRunFilter,
        filters.FirstSeenRunFilter,
        filters.LastSeenRunFilter,
    ]
    search_fields = ["external_id"]
    search_help_text = SEARCH_HELP
    ordering = ["-id"]
    list_per_page = 50
    paginator = CappedPaginator
    show_full_result_count = False
    actions = ["requeue_selected", "ignore_selected", "set_field_value", "assign_to_me"]
    change_list_template = "admin/dq/violation/change_list.html"

    # Access: anyone with view sees the inbox; writes only through the editor and actions.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_remediate_permission(self, request: HttpRequest) -> bool:
        return can_remediate(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Violation]:
        run_id = filters.run_id_param(request.GET.get("run")) if request.GET.get("run") else None
        return selectors.violations_inbox(run_id=run_id).defer("payload", "history")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """External id (exact or prefix, on its index); payload text only for
        those allowed to see payloads (a match would reveal a value)."""
        in_payload = selectors.can_view_payload(request.user)
        return selectors.violations_search(queryset, term=search_term, in_payload=in_payload), False

    # Columns.

    @admin.display(description="row", ordering="external_id")
    def violation(self, obj: Violation) -> str:
        """The external id, then target, source, and the run and row it was read from."""
        url = reverse("admin:runs_importrun_change", args=[obj.run_id])
        run = f"run {obj.run_id} (dry run)" if obj.dry_run else f"run {obj.run_id}"
        return format_html(
            '<span class="dq-external-id" title="{}">{}</span><span class="dq-sub">{} · {} · '
            '<a href="{}">{}</a>, row {}</span>',
            obj.external_id,
            Truncator(obj.external_id).chars(EXTERNAL_ID_CHARS) or "no external id",
            obj.target,
            obj.source.display_name,
            url,
            run,
            obj.row_number,
        )

    @admin.display(description="problem", ordering="codes")
    def first_error(self, obj: Violation) -> str:
        """The rule codes as badges and the first message (shortened; the
        editor has them all), with how many more there are."""
        badges = format_html_join(
            " ",
            '<span class="dq-badge dq-badge-{}">{}</span>',
            ((code, code) for code in obj.codes.split(",") if code),
        )
        if not obj.errors:
            return badges
        error = obj.errors[0]
        text = f"{error['field']}: {error['message']}" if error.get("field") else error["message"]
        more = len(obj.errors) - 1
        return format_html(
            '{}<span class="dq-message" title="{}">{}</span>{}',
            badges,
            text,
            Truncator(text).chars(MESSAGE_CHARS),
            format_html('<span class="dq-sub">and {} more</span>', more) if more else "",
        )

    @admin.display(description="status", ordering="status")
    def status_badges(self, obj: Violation) -> str:
        """The status, how it was resolved, and the badges of rows that keep
        coming back: failed again after a requeue, broke again after resolved."""
        text = obj.status if not obj.resolution else f"{obj.status} ({obj.resolution})"
        badges = []
        if obj.requeue_outcome == Violation.RequeueOutcome.FAILED_AGAIN:
            badges.append(("failed-again", "Failed again"))
        if obj.regressions:
            badges.append(("regressed", f"Regressed ×{obj.regressions}"))
        age = timesince(obj.created_at, timezone.now()).split(",")[0]
        seen = "found just now" if age.startswith("0\xa0") else f"found {age} ago"
        if obj.occurrences > 1:
            seen += f" · seen {obj.occurrences}×"
        if obj.assignee_id:
            seen += f" · {obj.assignee}"
        return format_html(
            '{} {}<span class="dq-sub">{}</span>',
            text,
            format_html_join(" ", '<span class="dq-badge dq-badge-{}">{}</span>', badges),
            seen,
        )

    # Views.

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return editor.editor_view(self, request, object_id)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Summary cards of the last 30 days above the list, cached for a
        minute (counting a busy month's audit rows takes about a second).
        With the cache down they are computed for this request."""
        extra_context = {"title": "DQ inbox", **(extra_context or {})}
        if self.has_view_permission(request):
            extra_context["remediation_stats"] = cache_get_or_compute(
                CARDS_CACHE_KEY,
                lambda: stats.remediation_stats(since=stats.parse_since(None), breakdown=False),
                CARDS_CACHE_SECONDS,
            )
            extra_context["stats_url"] = reverse("dq_remediation_stats")
            extra_context["dashboard_url"] = reverse("dq_remediation_dashboard")
            extra_context["median_fix_text"] = charts.duration_text(
                extra_context["remediation_stats"]["median_time_to_fix_s"]
            )
        return super().changelist_view(request, extra_context=extra_context)

    # Actions: one service call each, then a toast with counts.

    def _selected_or_error(self, request: HttpRequest, call: Any) -> Any:
        try:
            return call()
        except UsageError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None

    @admin.action(description="Requeue selected violations", permissions=["remediate"])
    def requeue_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        result = self._selected_or_error(
            request, lambda: services.violations_requeue(violations=queryset, actor=request.user)
        )
        if result is not None:
            self.message_user(
                request,
                requeue_message(result),
                messages.SUCCESS if result.requeued else messages.WARNING,
            )

    @admin.action(description="Ignore selected violations…", permissions=["remediate"])
    def ignore_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = forms.IgnoreForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            wanted = queryset.count()
            count = self._selected_or_error(
                request,
                lambda: services.violations_ignore(
                    violations=queryset, reason=form.cleaned_data["reason"], actor=request.user
                ),
            )
            if count is not None:
                skipped = wanted - count
                self.message_user(
                    request,
                    f"Ignored {count} violation(s); {skipped} were not open and stayed as they were.",
                )
            return None
        return self._confirmation(request, queryset, "ignore_selected", "Ignore violations", form)

    @admin.action(description="Set field value…", permissions=["remediate"])
    def set_field_value(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        targets = list(queryset.order_by().values_list("target", flat=True).distinct()[:2])
        if len(targets) != 1:
            self.message_user(
                request,
                services.ONE_TARGET.format(targets=", ".join(sorted(targets))),
                messages.ERROR,
            )
            return None
        form = forms.SetFieldForm(
            request.POST if "field_name" in request.POST else None, target=targets[0]
        )
        preview = None
        if form.is_bound and form.is_valid():
            field_name, value = form.cleaned_data["field_name"], form.cleaned_data["value"]
            if not form.cleaned_data["confirm"]:
                preview = self._selected_or_error(
                    request,
                    lambda: services.violations_set_field_preview(
                        violations=queryset, field_name=field_name, value=value
                    ),
                )
                form = forms.SetFieldForm(
                    initial={**form.cleaned_data, "confirm": True}, target=targets[0]
                )
            else:
                changed = self._selected_or_error(
                    request,
                    lambda: services.violations_set_field(
                        violations=queryset, field_name=field_name, value=value, actor=request.user
                    ),
                )
                if changed is None:
                    return None
                text = format_html("Set {} on {} violation(s).", field_name, len(changed))
                if form.cleaned_data["requeue"] and changed:
                    result = services.violations_requeue(
                        violations=Violation.objects.filter(pk__in=changed), actor=request.user
                    )
                    text = format_html("{} {}", text, requeue_message(result))
                self.message_user(request, text, messages.SUCCESS)
                return None
        return self._confirmation(
            request, queryset, "set_field_value", "Set a field value", form, preview=preview
        )

    @admin.action(description="Assign selected violations to me", permissions=["remediate"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self._selected_or_error(
            request, lambda: services.violations_assign(violations=queryset, assignee=request.user)
        )
        if count is not None:
            self.message_user(request, f"Assigned {count} violation(s) to you.")

    def _confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        action: str,
        title: str,
        form: Any,
        preview: int | None = None,
    ) -> TemplateResponse:
        """The intermediate page of a two-step action; it posts back to the
        same filtered changelist URL, so "select all N" still means the filter."""
        select_across = request.POST.get("select_across") == "1"
        return TemplateResponse(
            request,
            "admin/dq/violation/action_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "form": form,
                "action": action,
                "select_across": "1" if select_across else "0",
                "selected": request.POST.getlist(forms.SELECTED),
                "count": queryset.count(),
                "preview": preview,
                "post_url": request.get_full_path(),
            },
        )

    # Groups, and "Replace value" for all alike.

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("groups/", wrap(self.groups_view), name="dq_violation_groups"),
            path("replace/", wrap(self.replace_view), name="dq_violation_replace"),
            path("<int:object_id>/next/", wrap(self.next_view), name="dq_violation_next"),
            path("count/", wrap(self.count_view), name="dq_violation_count"),
        ] + super().get_urls()

    def _filtered(self, request: HttpRequest, query: str) -> QuerySet[Violation] | None:
        """The inbox's rows for a changelist query string (None when it is
        a bad one), as the list itself filters and searches them."""
        listing = copy.copy(request)
        listing.GET = QueryDict(query)
        try:
            return self.get_changelist_instance(listing).get_queryset(listing)
        except IncorrectLookupParameters:
            return None

    def count_view(self, request: HttpRequest) -> JsonResponse:
        """The exact number of rows a filter matches, past the list's capped
        count: asked for once, when a steward clicks "Select all", so the
        page says how many an action will take."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self._filtered(request, request.GET.urlencode())
        if queryset is None:
            return JsonResponse({"detail": "The inbox's filters are not valid."}, status=400)
        return JsonResponse({"count": queryset.count()})

    def next_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The editor's "Next violation": the one after this in the inbox
        with the same filters (``_changelist_filters``, as Django keeps them),
        chosen when asked, so a row just requeued out of the filter is
        skipped. With none left, the inbox says so."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = request.GET.get("_changelist_filters", "")
        inbox = reverse("admin:dq_violation_changelist") + (f"?{filters}" if filters else "")
        current = Violation.objects.filter(pk=object_id).first()
        queryset = self._filtered(request, filters)
        if queryset is None:
            return HttpResponseRedirect(inbox)
        following = (
            selectors.violation_next(queryset, after=current) if current is not None else None
        )
        if following is None:
            self.message_user(request, NO_NEXT, messages.INFO)
            return HttpResponseRedirect(inbox)
        url = reverse("admin:dq_violation_change", args=[following.pk])
        return HttpResponseRedirect(
            add_preserved_filters(
                {
                    "preserved_filters": urlencode({"_changelist_filters": filters}),
                    "opts": self.opts,
                },
                url,
            )
            if filters
            else url
        )

    def groups_view(self, request: HttpRequest) -> HttpResponse:
        """Open violations counted by (target, source, field, rule code), most
        first, each linking to the filtered inbox and to "Replace value"."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        target = request.GET.get("target") or None
        source = request.GET.get("source") or None
        groups = selectors.violation_groups(
            target=target, source=source, can_view_payload=selectors.can_view_payload(request.user)
        )
        source_ids = dict(
            Source.objects.filter(slug__in={g["source"] for g in groups}).values_list("slug", "pk")
        )
        inbox = reverse("admin:dq_violation_changelist")
        replace = reverse("admin:dq_violation_replace")
        for group in groups:
            query = {
                "status": "open",
                "target": group["target"],
                "source__id__exact": source_ids.get(group["source"]),
            }
            query.update({key: group[key] for key in ("code", "field") if group[key]})
            group["inbox_url"] = f"{inbox}?{urlencode(query)}"
            group["replace_url"] = f"{replace}?" + urlencode(
                {
                    "target": group["target"],
                    "source": group["source"],
                    "code": group["code"],
                    "error_field": group["field"],
                    "field_name": group["field"],
                }
            )
        return TemplateResponse(
            request,
            "admin/dq/violation/groups.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Violations by group",
                "groups": groups,
                "can_replace": self.has_remediate_permission(request),
            },
        )

    def replace_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the form, from a group. POST: a preview of the count, then
        (confirm) the replacement, with optional requeue and remember."""
        if not self.has_remediate_permission(request):
            raise PermissionDenied
        form = forms.ReplaceValueForm(
            request.POST if request.method == "POST" else None, initial=request.GET.dict()
        )
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            violations = selectors.violations_inbox().filter(
                status=Violation.Status.OPEN, target=data["target"], source__slug=data["source"]
            )
            if data["code"]:
                violations = violations.filter(selectors.code_filter(data["code"]))
            if data["error_field"]:
                violations = violations.filter(selectors.field_filter(data["error_field"]))
            if not data["confirm"]:
                preview = self._selected_or_error(
                    request,
                    lambda: services.violations_replace_preview(
                        violations=violations,
                        field_name=data["field_name"],
                        from_value=data["from_value"],
                    ),
                )
                form = forms.ReplaceValueForm(initial={**data, "confirm": True})
            else:
                result = self._selected_or_error(
                    request,
                    lambda: services.violations_replace_value(
                        violations=violations,
                        field_name=data["field_name"],
                        from_value=data["from_value"],
                        to_value=data["to_value"],
                        actor=request.user,
                        requeue=data["requeue"],
                        remember=data["remember"],
                    ),
                )
                if result is not None:
                    self.message_user(request, replace_message(result, data), messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:dq_violation_groups"))
        return TemplateResponse(
            request,
            "admin/dq/violation/replace.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Replace a value",
                "form": form,
                "preview": preview,
            },
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


def replace_message(result: services.ReplaceResult, data: dict[str, Any]) -> str:
    text = format_html(
        "Replaced {} by {} in {} of {} violation(s).",
        repr(data["from_value"]),
        repr(data["to_value"]),
        result.replaced,
        result.matched,
    )
    if result.remembered:
        text = format_html(
            "{} Remembered for source {}: later imports get it before validation.",
            text,
            data["source"],
        )
    if result.requeue is not None:
        text = format_html("{} {}", text, requeue_message(result.requeue))
    return text
