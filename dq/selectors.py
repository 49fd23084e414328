"""Reads for the DQ inbox: masking of payload values, search, groups, the
next violation of a filter, and what an audit row changed. The
remediation figures are in ``dq.stats``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Count, Func, Q, QuerySet, TextField

from dq.models import RemediationAudit, Violation
from ingest.models import ExternalIdMap
from runs.models import ImportRun

MASK = "•••"
PAYLOAD_PERMISSION = "dq.view_payload"


def can_view_payload(user: User | AnonymousUser) -> bool:
    return user.has_perm(PAYLOAD_PERMISSION)


def mask_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Field names stay (a steward's colleague can see what is wrong where),
    values do not: payloads can hold personal data."""
    return {
        key: (MASK if value not in (None, "") else value) for key, value in (payload or {}).items()
    }


def payload_for(user: User | AnonymousUser, payload: dict[str, Any] | None) -> dict[str, Any]:
    return dict(payload or {}) if can_view_payload(user) else mask_payload(payload)


def violations_inbox(*, run_id: int | None = None) -> QuerySet[Violation]:
    """The inbox's rows: standard runs' violations; a dry run's only when
    asking for that run (the dashboard links there)."""
    # Not the run: a remediation run's parameters hold thousands of ids.
    queryset = Violation.objects.select_related("source", "assignee")
    if run_id is None:
        return queryset.filter(dry_run=False)
    return queryset.filter(run_id=run_id)


@dataclass
class RequeueOutcome:
    finished: bool
    resolved: int = 0
    failed_again: int = 0
    not_reached: int = 0


def requeue_outcome(*, run_ids: list[int]) -> RequeueOutcome:
    """What came of the requeue in these remediation runs, once they all
    finished (with synchronous jobs, right after the requeue)."""
    from_runs = ImportRun.objects.filter(pk__in=run_ids)
    if not run_ids or from_runs.exclude(status__in=ImportRun.FINISHED).exists():
        return RequeueOutcome(finished=False)
    counts = dict(
        Violation.objects.filter(remediation_run_id__in=run_ids)
        .values_list("requeue_outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    return RequeueOutcome(
        finished=True,
        resolved=counts.get(Violation.RequeueOutcome.RESOLVED, 0),
        failed_again=counts.get(Violation.RequeueOutcome.FAILED_AGAIN, 0),
        not_reached=counts.get(None, 0),
    )


def violation_record_id(violation: Violation) -> int | None:
    """The core record a violation's row was imported into (through the
    external id map), once it is resolved; None without one."""
    if not violation.external_id or violation.dry_run:
        return None
    return (
        ExternalIdMap.objects.filter(
            source_id=violation.source_id,
            target=violation.target,
            external_id=violation.external_id,
        )
        .values_list("record_id", flat=True)
        .first()
    )


def violation_next(queryset: QuerySet[Violation], *, after: Violation) -> Violation | None:
    """The violation after ``after`` in the inbox's order (newest first)
    among ``queryset`` (the inbox's filter), wrapping round to the newest;
    None when nothing else matches."""
    others = queryset.exclude(pk=after.pk).order_by("-pk")
    return others.filter(pk__lt=after.pk).first() or others.first()


@dataclass
class Change:
    field: str
    before: Any
    after: Any


def audit_changes(before: Any, after: Any) -> list[Change]:
    """Only what an audit row changed, field by field: before/after hold
    whole payloads for an edit, one field for a bulk edit, the errors for a
    result. A row with one side only (a requeue keeps the payload it sent)
    is a snapshot, not a change: nothing to show. Non-objects compare as
    one value."""
    if before is None or after is None:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [] if before == after else [Change("", before, after)]
    return [
        Change(name, before.get(name), after.get(name))
        for name in list(before) + [key for key in after if key not in before]
        if before.get(name) != after.get(name)
    ]


REMEDIATION_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RequeuedRow:
    """A violation a remediation run took, and what that run made of it:
    ``outcome`` "resolved", "failed_again" (with that run's ``errors``) or
    None when the run ended before its row."""

    violation: Violation
    outcome: str | None
    errors: list[dict[str, str]]


def remediation_run_violations(
    *, run_id: int, limit: int = REMEDIATION_LIST_LIMIT
) -> list[RequeuedRow]:
    """The violations a remediation run took, with what came of each in that
    run, in its row order. The outcome is the run's own result audit: the
    violation's ``requeue_outcome`` is cleared or replaced by what happens to
    it later (a regression reopens it), which would make a row this run
    imported read "not reached"."""
    violations = list(
        Violation.objects.filter(remediation_run_id=run_id)
        .only("pk", "external_id", "status", "requeue_outcome", "errors", "run_id", "row_number")
        .order_by("pk")[:limit]
    )
    results = {
        violation_id: (outcome, after, reason)
        for violation_id, outcome, after, reason in RemediationAudit.objects.filter(
            run_id=run_id,
            action=RemediationAudit.Action.RESULT,
            violation_id__in=[v.pk for v in violations],
        )
        .order_by("id")
        .values_list("violation_id", "outcome", "after", "reason")
    }
    rows = []
    for violation in violations:
        outcome, after, reason = results.get(violation.pk, ("", None, ""))
        if outcome == RemediationAudit.Outcome.RESOLVED:
            rows.append(RequeuedRow(violation, Violation.RequeueOutcome.RESOLVED, []))
        elif outcome == RemediationAudit.Outcome.FAILED and not reason:
            # An audit past its retention lost its errors (purge_remediation_audit).
            errors = (after or {}).get("errors") or (
                violation.errors
                if violation.requeue_outcome == Violation.RequeueOutcome.FAILED_AGAIN
                else []
            )
            rows.append(RequeuedRow(violation, Violation.RequeueOutcome.FAILED_AGAIN, errors))
        else:  # no result yet, or the run ended before the row (a reason says so)
            rows.append(RequeuedRow(violation, None, []))
    return rows


def code_filter(code: str) -> Q:
    """Match one rule code in the comma-separated ``codes`` column."""
    return (
        Q(codes=code)
        | Q(codes__startswith=f"{code},")
        | Q(codes__endswith=f",{code}")
        | Q(codes__contains=f",{code},")
    )


def field_filter(field_name: str) -> Q:
    return Q(error_fields__contains=f",{field_name},")


class PayloadValues(Func):
    """A payload's values, without its field names, as the text of a JSON
    array: what the inbox's search looks in, so that a term such as "email"
    or "name" does not match every violation by a field name. PostgreSQL's
    trigram index (migration dq.0017) is on ``UPPER`` of exactly this
    expression, which ``icontains`` produces."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "(jsonb_path_query_array(%(expressions)s, '$.*'))::text"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "(SELECT json_group_array(value) FROM json_each(%(expressions)s))"
        return self.as_sql(compiler, connection, template=template, **extra)


def violations_search(
    queryset: QuerySet[Violation], *, term: str, in_payload: bool
) -> QuerySet[Violation]:
    """External id (exact or prefix, on its index) and, when allowed, text
    in any of the payload's values, case-insensitive. On PostgreSQL that is
    ``UPPER(<the values>::text) LIKE``, which a trigram index on the same
    expression serves at a million rows."""
    term = term.strip()[:200]
    if not term:
        return queryset
    match = Q(external_id=term) | Q(external_id__startswith=term)
    if in_payload:
        queryset = queryset.annotate(payload_values=PayloadValues("payload"))
        match |= Q(payload_values__icontains=term)
    return queryset.filter(match)


GROUP_EXAMPLES = 5
GROUPS_LIMIT = 500


def violation_groups(
    *,
    status: str | None = Violation.Status.OPEN,
    target: str | None = None,
    source: str | None = None,
    can_view_payload: bool = True,
) -> list[dict[str, Any]]:
    """Violations counted by (target, source, field, rule code), most first,
    each with a few of the field's distinct offending values (masked without
    payload permission): what "fix once for all alike" starts from. The
    database unnests each violation's errors and groups (jsonb on
    PostgreSQL, json_each on SQLite); dry runs' violations are left out."""
    where = ["NOT v.dry_run"]
    params: list[Any] = []
    if status:
        where.append("v.status = %s")
        params.append(status)
    if target:
        where.append("v.target = %s")
        params.append(target)
    if source:
        where.append("s.slug = %s")
        params.append(source)
    if connection.vendor == "postgresql":
        code, field = "e.value ->> 'code'", "e.value ->> 'field'"
        unnest = "jsonb_array_elements(v.errors) AS e(value)"
        examples = f"(array_agg(DISTINCT v.payload ->> ({field})) FILTER (WHERE v.payload ->> ({field}) IS NOT NULL))[1:{GROUP_EXAMPLES}]"
    else:
        code, field = "json_extract(e.value, '$.code')", "json_extract(e.value, '$.field')"
        unnest = "json_each(v.errors) AS e"
        examples = f"json_group_array(DISTINCT json_extract(v.payload, '$.\"' || {field} || '\"'))"
    sql = f"""
        SELECT v.target, s.slug, {field} AS field, {code} AS code, COUNT(DISTINCT v.id) AS n, {examples}
        FROM dq_violation v JOIN ingest_source s ON s.id = v.source_id, {unnest}
        WHERE {" AND ".join(where)}
        GROUP BY v.target, s.slug, {field}, {code}
        ORDER BY n DESC, v.target, s.slug, field, code
        LIMIT {GROUPS_LIMIT}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    groups = []
    for target_name, source_slug, field_name, code_name, count, values in rows:
        if isinstance(values, str):
            values = json.loads(values)
        values = sorted({value for value in values or () if value is not None}, key=str)[
            :GROUP_EXAMPLES
        ]
        groups.append(
            {
                "target": target_name,
                "source": source_slug,
                "field": field_name or "",
                "code": code_name or "",
                "count": count,
                "examples": values if can_view_payload else [MASK for _ in values],
            }
        )
    return groups
