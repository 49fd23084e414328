"""The violation page: errors beside the payload, a per-field editor with the
raw JSON as fallback, and the buttons Save, Save and requeue, Ignore (and
Reopen for an ignored row). Every write goes through dq.services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from dq import forms, selectors, services
from dq.models import Violation
from ingest import registry
from ingest.errors import UsageError
from ingest.validation import errors_by_field

READ_ONLY_STATUS = "This violation is {status}; only open violations can be edited or requeued."
NO_PAYLOAD_PERMISSION = "Payload values are hidden: you do not have permission to see them."
PAYLOAD_PURGED = (
    "The payload's values were removed on {date} after the retention period (purge_personal_data)."
)
SAVED = "Saved the payload of violation {pk}. Requeue it to import the row."


REMEDIATE = "dq.remediate_violation"


def can_remediate(user: Any) -> bool:
    return user.has_perm("dq.change_violation") and user.has_perm(REMEDIATE)


def requeue_message(result: services.RequeueResult) -> str:
    """Says what came of it when the runs already finished (synchronous
    jobs): how many resolved and how many failed again, with a link to those."""
    runs = ", ".join(str(run.pk) for run in result.runs) or "none"
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
    here = reverse("admin:dq_violation_change", args=[violation.pk])
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
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": f"Violation {violation.pk}: {violation.target} row {violation.row_number}",
        "violation": violation,
        "original": violation,
        "form": payload_form,
        "field_rows": field_rows,
        "row_errors": errors_by_field(violation.errors).get("non_field_errors", []),
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
        "payload": selectors.payload_for(user, violation.payload),
        "validate_url": reverse("target-validate", kwargs={"name": violation.target})
        + "?"
        + urlencode({"source": violation.source.slug}),
        "audits": violation.audits.select_related("actor").order_by("-id")[:20],
        "changelist_url": reverse("admin:dq_violation_changelist"),
        "run_url": reverse("admin:runs_importrun_change", args=[violation.run_id]),
    }
    return TemplateResponse(request, "admin/dq/violation/editor.html", context)


def _read_only_reason(
    violation: Violation, *, may_remediate: bool, view_payload: bool
) -> str | None:
    if violation.payload_purged_at is not None:
        return PAYLOAD_PURGED.format(date=violation.payload_purged_at.date().isoformat())
    if violation.dry_run:
        return services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=violation.run_id)
    if violation.status != Violation.Status.OPEN:
        return READ_ONLY_STATUS.format(status=violation.status)
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
    by_field = errors_by_field(violation.errors)
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
