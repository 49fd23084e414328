"""The violation page: errors beside the payload, a per-field editor with the
raw JSON as fallback, and the buttons Save, Save and requeue, Ignore (and
Reopen for an ignored row). Every write goes through dq.services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from dq import forms, selectors, services
from dq.models import Violation
from ingest import registry
from ingest.errors import ImporterError, UsageError
from ingest.readers.rows import AS_READ_KEY
from ingest.validation import errors_by_field

READ_ONLY_STATUS = "This violation is {status}; only open violations can be edited or requeued."
NO_PAYLOAD_PERMISSION = "Payload values are hidden: you do not have permission to see them."
PAYLOAD_PURGED = (
    "The payload's values were removed on {date} after the retention period (purge_personal_data)."
)
SAVED = "Saved the payload of violation {pk}. Requeue it to import the row."
NOT_SAVED = "Not saved: {count} problem(s) to fix. Each message is beside its field below."
NOTHING_REQUEUED = (
    "Nothing was requeued: the {count} selected violation(s) were not open "
    "(or came from a dry run), so they were left as they were."
)
REQUEUED_WAITING = "Requeued in remediation run {run}: the row is being imported again."


REMEDIATE = "dq.remediate_violation"


def can_remediate(user: Any) -> bool:
    return user.has_perm("dq.change_violation") and user.has_perm(REMEDIATE)


def requeue_message(result: services.RequeueResult) -> str:
    """Says what came of it when the runs already finished (synchronous
    jobs): how many resolved and how many failed again, with a link to those."""
    if not result.requeued:
        return NOTHING_REQUEUED.format(count=result.not_requeued)
    runs = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:runs_importrun_change", args=[run.pk]), run.pk) for run in result.runs),
    )
    text = format_html("Requeued {} violation(s) in remediation run(s) {}.", result.requeued, runs)
    if result.not_requeued:
        text = format_html(
            "{} {} were not open (or from a dry run) and were left alone.",
            text,
            result.not_requeued,
        )
    outcome = selectors.requeue_outcome(run_ids=[run.pk for run in result.runs])
    if outcome.finished:
        text = format_html(
            "{} {} resolved, {} failed again", text, outcome.resolved, outcome.failed_again
        )
        if outcome.failed_again:
            url = (
                reverse("admin:dq_violation_changelist")
                + "?"
                + urlencode(
                    {
                        "status": Violation.Status.OPEN,
                        "requeue_outcome": Violation.RequeueOutcome.FAILED_AGAIN,
                        "remediation_run": result.runs[0].pk,
                    }
                    if len(result.runs) == 1
                    else {
                        "status": Violation.Status.OPEN,
                        "requeue_outcome": Violation.RequeueOutcome.FAILED_AGAIN,
                    }
                )
            )
            text = format_html('{} (<a href="{}">see those</a>).', text, url)
        else:
            text = format_html("{}.", text)
    return text


def editor_view(model_admin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    opts = model_admin.model._meta
    try:
        violation = (
            Violation.objects.select_related("source", "run", "assignee")
            .filter(pk=int(unquote(object_id)))
            .first()
        )
    except ValueError:
        violation = None
    if violation is None:
        return model_admin._get_obj_does_not_exist_redirect(request, opts, object_id)
    if not model_admin.has_view_or_change_permission(request, violation):
        raise PermissionDenied
    user = request.user
    may_remediate = can_remediate(user)
    view_payload = selectors.can_view_payload(user)
    read_only_reason = _read_only_reason(
        violation, may_remediate=may_remediate, view_payload=view_payload
    )
    preserved = {"preserved_filters": model_admin.get_preserved_filters(request), "opts": opts}
    here = add_preserved_filters(
        preserved, reverse("admin:dq_violation_change", args=[violation.pk])
    )
    payload_form = None
    ignore_form = forms.IgnoreForm()

    if request.method == "POST":
        if not may_remediate:
            raise PermissionDenied
        try:
            if "_reopen" in request.POST:
                services.violation_reopen(violation=violation, actor=user)
                model_admin.message_user(
                    request, f"Reopened violation {violation.pk}.", messages.SUCCESS
                )
                return HttpResponseRedirect(here)
            if "_ignore" in request.POST:
                ignore_form = forms.IgnoreForm(request.POST)
                if ignore_form.is_valid():
                    one = Violation.objects.filter(pk=violation.pk)
                    if violation.dry_run:
                        raise UsageError(
                            services.DRY_RUN_READ_ONLY.format(
                                pk=violation.pk, run_id=violation.run_id
                            )
                        )
                    count = services.violations_ignore(
                        violations=one, reason=ignore_form.cleaned_data["reason"], actor=user
                    )
                    level = messages.SUCCESS if count else messages.WARNING
                    model_admin.message_user(request, f"Ignored {count} violation(s).", level)
                    return HttpResponseRedirect(here)
            elif "_save" in request.POST or "_requeue" in request.POST:
                payload_form = forms.PayloadForm(
                    request.POST, target=violation.target, payload=violation.payload
                )
                if payload_form.is_valid():
                    try:
                        services.violation_edit(
                            violation=violation,
                            payload=payload_form.cleaned_data["payload"],
                            actor=user,
                        )
                    except services.PayloadInvalid as exc:
                        payload_form.add_payload_errors(exc.errors)
                    else:
                        if "_requeue" in request.POST:
                            result = services.violations_requeue(
                                violations=Violation.objects.filter(pk=violation.pk), actor=user
                            )
                            model_admin.message_user(
                                request, requeue_message(result), messages.SUCCESS
                            )
                        else:
                            model_admin.message_user(
                                request, SAVED.format(pk=violation.pk), messages.SUCCESS
                            )
                        return HttpResponseRedirect(here)
        except UsageError as exc:
            model_admin.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(here)

    if payload_form is None and read_only_reason is None:
        payload_form = forms.PayloadForm(target=violation.target, payload=violation.payload)
    field_rows = _field_rows(violation, payload_form, view_payload=view_payload)
    refused = payload_form is not None and payload_form.is_bound and not payload_form.is_valid()
    # The row's own errors are about the payload as it was; once resolved
    # or requeued they would stand beside corrected values.
    current_errors = violation.status in (Violation.Status.OPEN, Violation.Status.IGNORED)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": f"Violation {violation.pk}: {violation.target} row {violation.row_number}",
        "violation": violation,
        "original": violation,
        "form": payload_form,
        "field_rows": field_rows,
        "row_errors": errors_by_field(violation.errors).get("non_field_errors", [])
        if current_errors
        else [],
        "refused": NOT_SAVED.format(count=_problem_count(payload_form))
        if refused and payload_form is not None
        else None,
        "outcome": _outcome(violation),
        "ignore_form": ignore_form,
        "read_only_reason": read_only_reason,
        "may_remediate": may_remediate,
        "can_reopen": may_remediate
        and violation.status == Violation.Status.IGNORED
        and violation.payload_purged_at is None,
        "can_ignore": may_remediate
        and violation.status == Violation.Status.OPEN
        and not violation.dry_run,
        "view_payload": view_payload,
        "payload": (payload := selectors.payload_for(user, violation.payload)),
        "as_read": payload.get(AS_READ_KEY),
        "validate_url": reverse("target-validate", kwargs={"name": violation.target})
        + "?"
        + urlencode({"source": violation.source.slug}),
        "audits": _audit_rows(violation, view_payload=view_payload),
        "changelist_url": add_preserved_filters(
            preserved, reverse("admin:dq_violation_changelist")
        ),
        "next_url": add_preserved_filters(
            preserved, reverse("admin:dq_violation_next", args=[violation.pk])
        ),
        "run_url": reverse("admin:runs_importrun_change", args=[violation.run_id]),
    }
    return TemplateResponse(request, "admin/dq/violation/editor.html", context)


def _audit_rows(violation: Violation, *, view_payload: bool) -> list[dict[str, Any]]:
    """The last actions, each with only the fields it changed (values
    only for those who may see payloads)."""
    rows = []
    for audit in violation.audits.select_related("actor").order_by("-id")[:20]:
        changes = selectors.audit_changes(audit.before, audit.after) if view_payload else []
        rows.append({"audit": audit, "changes": changes})
    return rows


def _problem_count(form: forms.PayloadForm) -> int:
    return sum(len(errors) for errors in form.errors.values())


def _run_url(run_id: int) -> str:
    return reverse("admin:runs_importrun_change", args=[run_id])


def record_url(target: str, record_id: int) -> str | None:
    """The admin page of a core record (None when its model has none)."""
    try:
        meta = registry.get(target).model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record_id])
    except (ImporterError, NoReverseMatch):
        return None


def _outcome(violation: Violation) -> dict[str, Any] | None:
    """What became of a requeued or resolved row, with links: the run that
    resolved it and the core record it is now."""
    if violation.status == Violation.Status.RESOLVED:
        record_id = selectors.violation_record_id(violation)
        by = {"steward": "after a steward's fix", "source": "by a later import from the source"}
        return {
            "level": "success",
            "text": f"Resolved {by.get(violation.resolution or '', '')}".strip() + ".",
            "run_id": violation.resolved_by_run_id,
            "run_url": _run_url(violation.resolved_by_run_id)
            if violation.resolved_by_run_id
            else None,
            "record_id": record_id,
            "record_url": record_url(violation.target, record_id) if record_id else None,
        }
    if violation.status == Violation.Status.REQUEUED and violation.remediation_run_id:
        return {
            "level": "info",
            "text": REQUEUED_WAITING.format(run=violation.remediation_run_id),
            "run_id": violation.remediation_run_id,
            "run_url": _run_url(violation.remediation_run_id),
        }
    return None


def _read_only_reason(
    violation: Violation, *, may_remediate: bool, view_payload: bool
) -> str | None:
    if violation.payload_purged_at is not None:
        return PAYLOAD_PURGED.format(date=violation.payload_purged_at.date().isoformat())
    if violation.dry_run:
        return services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=violation.run_id)
    if violation.status == Violation.Status.IGNORED:
        return READ_ONLY_STATUS.format(status=violation.status)
    if violation.status != Violation.Status.OPEN:
        return ""  # resolved or requeued: the outcome box says it, not an error
    if not view_payload:
        return NO_PAYLOAD_PERMISSION
    if not may_remediate:
        return "You can view this violation; fixing it needs the Stewards role."
    return None


def _field_rows(
    violation: Violation, form: forms.PayloadForm | None, *, view_payload: bool
) -> list[dict[str, Any]]:
    """One row per target field: the input (or the value, read-only) and the
    messages beside it: the form's after a refused save, else the row's own.
    The first field with a message gets the keyboard focus."""
    by_field = (
        errors_by_field(violation.errors)
        if violation.status in (Violation.Status.OPEN, Violation.Status.IGNORED)
        else {}
    )
    payload = violation.payload if view_payload else selectors.mask_payload(violation.payload)
    rows = []
    focused = False
    for name in registry.get(violation.target).field_names:
        bound = form[forms.input_name(name)] if form is not None else None
        messages_: list[Any]
        if bound is not None and form is not None and form.is_bound:
            messages_ = list(bound.errors)
        else:
            messages_ = by_field.get(name, [])
        if bound is not None and messages_ and not focused:
            bound.field.widget.attrs["autofocus"] = True
            focused = True
        if bound is not None and messages_:
            bound.field.widget.attrs["aria-invalid"] = "true"
        rows.append(
            {"name": name, "bound": bound, "value": payload.get(name, ""), "messages": messages_}
        )
    return rows
