"""Steward actions on violations: edit, requeue, ignore, reopen, bulk set.

Admin, API and commands call these; they never re-implement them. Every
status change is a compare-and-set (``filter(status=...).update(...)``), so a
double submit changes a row once, and every action writes a RemediationAudit
row per violation it changed.

Why one module of this length: the dq app owns every change of a
violation's state (DESIGN.md), and keeping them side by side is what lets a
reader check that each one claims its rows the same way (``_claim``) and
audits them the same way.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dq.models import RemediationAudit, ValueMapping, Violation, codes_of, fields_of
from dq.selectors import mask_payload
from ingest import registry
from ingest.errors import StateConflict, UsageError
from ingest.readers.rows import AS_READ_KEY
from ingest.validation import validate_payload
from runs import services as run_services
from runs.metrics import REMEDIATION
from runs.models import ImportRun
from runs.retention import retention_cutoff

# Messages (the admin, the API and the tests show these words).
RUN_ENDED = "Remediation run {run_id} ended {status} before this row was imported."
NOT_EDITABLE = "Violation {pk} is {status}; only open violations can be edited."
DRY_RUN_READ_ONLY = "Violation {pk} comes from dry run {run_id}: it is read-only. Import the file for real to fix its rows."
NOT_A_PAYLOAD = "The payload must be a JSON object of field names to text values."
UNKNOWN_FIELD = "Unknown field for target {target}."
NOT_TEXT = "Enter a text value (or null)."
PAYLOAD_INVALID = "The payload has errors; nothing was saved."
REASON_REQUIRED = "Give a reason for ignoring."
REASON_TOO_LONG = "Keep the reason under {limit} characters."
NOT_IGNORED = "Violation {pk} is {status}; only ignored violations can be reopened."
PAYLOAD_PURGED = (
    "Violation {pk}'s payload values were removed on {date} after the retention period; "
    "it cannot be reopened. Import the row again to bring it back."
)
ALREADY_OPEN = (
    "Violation {pk} cannot be reopened: violation {other} is already open for the same row "
    "(same target, source and external id)."
)
TOO_MANY = "This action is limited to {limit:,} violations at a time; narrow the filter."
ONE_TARGET = "Select violations of one target to set a field (found: {targets})."

MAX_PER_ACTION = 100_000
MAX_REASON = 2000


class PayloadInvalid(UsageError):
    """The payload breaks the target's rules; ``errors`` is [{field, code, message}]."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(PAYLOAD_INVALID)
        self.errors = errors


@dataclass
class RequeueResult:
    requeued: int = 0
    not_requeued: int = 0
    runs: list[ImportRun] = field(default_factory=list)


def _actor(user: User | AnonymousUser | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _check_editable(violation: Violation) -> None:
    if violation.dry_run:
        raise StateConflict(DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=violation.run_id))
    if violation.status != Violation.Status.OPEN:
        raise StateConflict(NOT_EDITABLE.format(pk=violation.pk, status=violation.status))


def payload_check(*, target: str, payload: Any) -> dict[str, str]:
    """The payload as the pipeline will read it (text values for the target's
    own fields), or PayloadInvalid with every error in the pipeline's words.
    References are not checked here: the referenced record may still arrive,
    and the requeue decides. A malformed row's text as read (``AS_READ_KEY``)
    is the reader's note, not a field: it is left out (the audit keeps it)."""
    if not isinstance(payload, Mapping):
        raise UsageError(NOT_A_PAYLOAD)
    spec = registry.get(target)
    errors: list[dict[str, str]] = []
    clean: dict[str, str] = {}
    for name, value in payload.items():
        if name == AS_READ_KEY:
            continue
        if name not in spec.field_names:
            # A key may hold a lone surrogate ("X\\ud800"), which no response can encode: spell it out.
            shown = str(name).encode("utf-8", "backslashreplace").decode("utf-8")
            errors.append(
                {
                    "field": shown,
                    "code": "unknown_field",
                    "message": UNKNOWN_FIELD.format(target=target),
                }
            )
        elif value is not None and not isinstance(value, str):
            errors.append({"field": name, "code": "invalid_format", "message": NOT_TEXT})
        else:
            clean[name] = value or ""
    if errors:
        raise PayloadInvalid(errors)
    errors = validate_payload(target=target, payload=clean)
    if errors:
        raise PayloadInvalid(errors)
    return clean


def violation_edit(
    *, violation: Violation, payload: Any, actor: User | AnonymousUser | None
) -> Violation:
    """Replace an open violation's payload with a valid one (audited). The
    errors stay until a requeue runs the row through the pipeline again."""
    _check_editable(violation)
    clean = payload_check(target=violation.target, payload=payload)
    before = violation.payload
    changed = Violation.objects.filter(pk=violation.pk, status=Violation.Status.OPEN).update(
        payload=clean, updated_at=timezone.now()
    )
    if not changed:
        violation.refresh_from_db()
        raise StateConflict(NOT_EDITABLE.format(pk=violation.pk, status=violation.status))
    RemediationAudit.objects.create(
        violation=violation,
        actor=_actor(actor),
        action=RemediationAudit.Action.EDIT,
        before=before,
        after=clean,
        outcome=RemediationAudit.Outcome.SAVED,
    )
    violation.refresh_from_db()
    return violation


def _check_size(violations: QuerySet[Violation]) -> None:
    if violations.count() > MAX_PER_ACTION:
        raise UsageError(TOO_MANY.format(limit=MAX_PER_ACTION))


def _claim(violations: QuerySet[Violation], *, from_status: str, **changes: Any) -> list[Violation]:
    """Compare-and-set over many rows: move those still in ``from_status``
    (and not from a dry run), marked with a fresh token so this action finds
    exactly the rows it changed, even when another submit races it."""
    token = uuid.uuid4().hex
    Violation.objects.filter(
        pk__in=violations.order_by().values("pk"), status=from_status, dry_run=False
    ).update(action_token=token, updated_at=timezone.now(), **changes)
    return list(
        Violation.objects.filter(action_token=token).order_by(
            "target", "source_id", "run_id", "row_number", "pk"
        )
    )


def _jsonl(target: registry.Target, payloads: Iterable[dict[str, Any]]) -> io.BytesIO:
    """One payload per line, every field of the target present (a JSONL file
    with missing keys would read them as empty anyway; this keeps it explicit)."""
    lines = (
        json.dumps(
            {name: payload.get(name) or "" for name in target.field_names}, ensure_ascii=False
        )
        for payload in payloads
    )
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


def violations_requeue(
    *, violations: QuerySet[Violation], actor: User | AnonymousUser | None
) -> RequeueResult:
    """Send open violations through the pipeline again: one remediation run
    per (target, source) of this action, whose row N is
    ``ingest_params_json["violation_ids"][N-1]``. Rows already requeued (a
    double submit), resolved, ignored or from a dry run are left alone."""
    _check_size(violations)
    wanted = violations.count()
    result = RequeueResult()
    with transaction.atomic():
        claimed = _claim(
            violations,
            from_status=Violation.Status.OPEN,
            status=Violation.Status.REQUEUED,
            requeue_outcome=None,
        )
        for (target_name, _source_id), group in groupby(
            claimed, key=lambda v: (v.target, v.source_id)
        ):
            members = list(group)
            run = _remediation_run(target_name=target_name, group=members, actor=actor)
            Violation.objects.filter(pk__in=[v.pk for v in members]).update(remediation_run=run)
            RemediationAudit.objects.bulk_create(
                [
                    RemediationAudit(
                        violation=v,
                        actor=_actor(actor),
                        action=RemediationAudit.Action.REQUEUE,
                        before=v.payload,
                        run=run,
                        outcome=RemediationAudit.Outcome.REQUEUED,
                    )
                    for v in members
                ],
                batch_size=500,
            )
            if run.is_finished:  # refused at creation (e.g. over the size limit): release at once
                run_services.run_finished(run=run)
            else:
                run_services.run_enqueue(run=run)
            result.runs.append(run)
        result.requeued = len(claimed)
        result.not_requeued = max(wanted - len(claimed), 0)
    if claimed:
        REMEDIATION.labels(outcome=RemediationAudit.Outcome.REQUEUED).inc(len(claimed))
    return result


def _remediation_run(
    *, target_name: str, group: list[Violation], actor: User | AnonymousUser | None
) -> ImportRun:
    target = registry.get(target_name)
    source = group[0].source
    original_runs = sorted({v.run_id for v in group})
    return run_services.run_create(
        target=target.name,
        source=source.slug,
        file=_jsonl(target, (v.payload for v in group)),
        filename=f"remediation-{target.name}-{source.slug}.jsonl",
        format="jsonl",
        created_by=_actor(actor),
        kind=ImportRun.Kind.REMEDIATION,
        parent_run=group[0].run if len(original_runs) == 1 else None,
        extra_params={"violation_ids": [v.pk for v in group], "original_runs": original_runs},
    )


def violations_ignore(
    *, violations: QuerySet[Violation], reason: str, actor: User | AnonymousUser | None
) -> int:
    """Close open violations without importing them; the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise UsageError(REASON_REQUIRED)
    if len(reason) > MAX_REASON:
        raise UsageError(REASON_TOO_LONG.format(limit=MAX_REASON))
    _check_size(violations)
    with transaction.atomic():
        claimed = _claim(
            violations,
            from_status=Violation.Status.OPEN,
            status=Violation.Status.IGNORED,
            ignore_reason=reason,
        )
        RemediationAudit.objects.bulk_create(
            [
                RemediationAudit(
                    violation=v,
                    actor=_actor(actor),
                    action=RemediationAudit.Action.IGNORE,
                    outcome=RemediationAudit.Outcome.IGNORED,
                    reason=reason,
                )
                for v in claimed
            ],
            batch_size=500,
        )
    if claimed:
        REMEDIATION.labels(outcome=RemediationAudit.Outcome.IGNORED).inc(len(claimed))
    return len(claimed)


def violation_reopen(*, violation: Violation, actor: User | AnonymousUser | None) -> Violation:
    """Undo an ignore (not once the payload was purged: there is nothing
    left to fix). Refused while another violation of the same row
    (fingerprint) is open or requeued: there is at most one."""
    try:
        with transaction.atomic():
            changed = Violation.objects.filter(
                pk=violation.pk, status=Violation.Status.IGNORED, payload_purged_at__isnull=True
            ).update(status=Violation.Status.OPEN, ignore_reason="", updated_at=timezone.now())
    except IntegrityError:
        other = (
            Violation.objects.filter(
                fingerprint=violation.fingerprint, status__in=Violation.LIVE, dry_run=False
            )
            .values_list("pk", flat=True)
            .first()
        )
        raise StateConflict(ALREADY_OPEN.format(pk=violation.pk, other=other)) from None
    violation.refresh_from_db()
    if not changed and violation.payload_purged_at is not None:
        raise StateConflict(
            PAYLOAD_PURGED.format(
                pk=violation.pk, date=violation.payload_purged_at.date().isoformat()
            )
        )
    if not changed:
        raise StateConflict(NOT_IGNORED.format(pk=violation.pk, status=violation.status))
    RemediationAudit.objects.create(
        violation=violation,
        actor=_actor(actor),
        action=RemediationAudit.Action.REOPEN,
        outcome=RemediationAudit.Outcome.REOPENED,
    )
    return violation


def violations_assign(
    *, violations: QuerySet[Violation], assignee: User | AnonymousUser | None
) -> int:
    """Take (or release, with None) violations."""
    _check_size(violations)
    return Violation.objects.filter(pk__in=violations.order_by().values("pk")).update(
        assignee=_actor(assignee), updated_at=timezone.now()
    )


def _set_field_candidates(violations: QuerySet[Violation], field_name: str) -> QuerySet[Violation]:
    targets = sorted(set(violations.order_by().values_list("target", flat=True).distinct()))
    if len(targets) > 1:
        raise UsageError(ONE_TARGET.format(targets=", ".join(targets)))
    if targets and field_name not in registry.get(targets[0]).field_names:
        raise UsageError(UNKNOWN_FIELD.format(target=targets[0]))
    return violations.filter(status=Violation.Status.OPEN, dry_run=False)


def violations_set_field_preview(
    *, violations: QuerySet[Violation], field_name: str, value: str
) -> int:
    """How many of these violations the bulk edit would change (open ones
    whose payload holds another value for the field)."""
    _check_size(violations)
    candidates = _set_field_candidates(violations, field_name)
    return sum(
        1
        for payload in candidates.values_list("payload", flat=True).iterator()
        if (payload or {}).get(field_name) != value
    )


def violations_set_field(
    *,
    violations: QuerySet[Violation],
    field_name: str,
    value: str,
    actor: User | AnonymousUser | None,
) -> list[int]:
    """Set one payload field on many open violations (audited per row).
    Returns the ids of the rows that changed, for an optional requeue."""
    _check_size(violations)
    candidates = _set_field_candidates(violations, field_name)
    changed: list[Violation] = []
    audits: list[RemediationAudit] = []
    now = timezone.now()
    with transaction.atomic():
        for violation in (
            candidates.select_related(None).select_for_update().only("pk", "payload").iterator()
        ):
            old = (violation.payload or {}).get(field_name)
            if old == value:
                continue
            violation.payload = {**(violation.payload or {}), field_name: value}
            violation.updated_at = now
            changed.append(violation)
            audits.append(
                RemediationAudit(
                    violation=violation,
                    actor=_actor(actor),
                    action=RemediationAudit.Action.BULK_EDIT,
                    before={field_name: old},
                    after={field_name: value},
                    outcome=RemediationAudit.Outcome.SAVED,
                )
            )
        Violation.objects.bulk_update(changed, ["payload", "updated_at"], batch_size=500)
        RemediationAudit.objects.bulk_create(audits, batch_size=500)
    return [v.pk for v in changed]


def audit_purge_payloads(*, older_than_days: int, dry_run: bool = False, now: Any = None) -> int:
    """Scrub payload values (before/after → null) from audit rows older than
    the retention period; who, when, action and outcome stay. Returns how
    many rows were (or, in a dry run, would be) scrubbed."""
    cutoff = retention_cutoff(days=older_than_days, now=now)
    old = RemediationAudit.objects.filter(created_at__lt=cutoff).exclude(
        before__isnull=True, after__isnull=True
    )
    if dry_run:
        return old.count()
    return old.update(before=None, after=None)


PURGE_BATCH = 1000


def _payload_expired(cutoff: Any) -> Q:
    """Violations nobody will fix any more, past the retention: resolved or
    ignored (by when that happened), and a dry run's (read-only from the start)."""
    resolved = Q(status=Violation.Status.RESOLVED) & (
        Q(resolved_at__lt=cutoff) | Q(resolved_at__isnull=True, updated_at__lt=cutoff)
    )
    ignored = Q(status=Violation.Status.IGNORED, updated_at__lt=cutoff)
    dry_run = Q(dry_run=True, created_at__lt=cutoff)
    return (resolved | ignored | dry_run) & Q(payload_purged_at__isnull=True)


def violations_purge_payloads(
    *, older_than_days: int, dry_run: bool = False, now: Any = None
) -> int:
    """Mask the payload values of violations resolved or ignored more than
    ``older_than_days`` ago (and of dry runs that old) with the inbox's own
    ``mask_payload`` (their history's earlier payloads too), and mark them
    ``payload_purged_at``. Field names, row number, external id and errors
    stay, so the inbox still shows what was wrong where. Returns how many
    were (or would be) purged; idempotent. Each batch is locked while it is
    rewritten; a steward's reopen refuses a purged row, and the row seen
    again in an import reopens it with its new payload (dq.occurrences), so
    no open violation keeps masked values."""
    now = now or timezone.now()
    expired = Violation.objects.filter(
        _payload_expired(retention_cutoff(days=older_than_days, now=now))
    )
    if dry_run:
        return expired.count()
    purged = 0
    while True:
        with transaction.atomic():
            batch = list(
                expired.select_for_update()
                .order_by("pk")
                .only("pk", "payload", "history")[:PURGE_BATCH]
            )
            for violation in batch:
                violation.payload = mask_payload(violation.payload)
                # Earlier occurrences kept their payloads too.
                violation.history = [
                    {**entry, "payload": mask_payload(entry.get("payload") or {})}
                    for entry in violation.history
                ]
                violation.payload_purged_at = now
            Violation.objects.bulk_update(batch, ["payload", "history", "payload_purged_at"])
        if not batch:
            return purged
        purged += len(batch)


@dataclass
class ReplaceResult:
    matched: int = 0
    replaced: int = 0
    requeue: RequeueResult | None = None
    remembered: list[Any] = field(default_factory=list)  # the value mappings saved


SAME_VALUE = "The new value is the same as the old one."
NO_FIELD = "Choose a field of the target."


def _replace_candidates(
    violations: QuerySet[Violation], field_name: str, from_value: str
) -> QuerySet[Violation]:
    """Open, not dry-run violations whose payload holds exactly ``from_value``
    in ``field_name`` (a JSON key look-up, on PostgreSQL and SQLite alike)."""
    if not field_name:
        raise UsageError(NO_FIELD)
    candidates = _set_field_candidates(violations, field_name)
    return candidates.filter(**{f"payload__{field_name}": from_value})


def violations_replace_preview(
    *, violations: QuerySet[Violation], field_name: str, from_value: str
) -> int:
    """How many open violations of this filter hold ``from_value`` in the field."""
    _check_size(violations)
    return _replace_candidates(violations, field_name, from_value).count()


def violations_replace_value(
    *,
    violations: QuerySet[Violation],
    field_name: str,
    from_value: str,
    to_value: str,
    actor: User | AnonymousUser | None,
    requeue: bool = False,
    remember: bool = False,
) -> ReplaceResult:
    """Fix once for all alike: replace one value by another in the field of
    every open violation of the filter that holds it (audited per row, as a
    bulk edit), then optionally requeue them, and with ``remember`` keep the
    replacement as a value mapping of each (source, target) concerned, so
    later imports of that source get it before validation."""
    if from_value == to_value:
        raise UsageError(SAME_VALUE)
    _check_size(violations)
    candidates = _replace_candidates(violations, field_name, from_value)
    result = ReplaceResult(matched=candidates.count())
    pairs = sorted(set(candidates.order_by().values_list("source_id", "target").distinct()))
    changed = violations_set_field(
        violations=candidates, field_name=field_name, value=to_value, actor=actor
    )
    result.replaced = len(changed)
    if remember:
        for source_id, target in pairs:
            result.remembered.append(
                value_mapping_save(
                    source_id=source_id,
                    target=target,
                    field_name=field_name,
                    from_value=from_value,
                    to_value=to_value,
                    actor=actor,
                )
            )
    if requeue and changed:
        result.requeue = violations_requeue(
            violations=Violation.objects.filter(pk__in=changed), actor=actor
        )
    return result


def value_mapping_save(
    *,
    source_id: int,
    target: str,
    field_name: str,
    from_value: str,
    to_value: str,
    actor: User | AnonymousUser | None,
) -> ValueMapping:
    """Remember a replacement for the source's later imports (the newest
    wins for the same value; saving it again makes it active again)."""
    if field_name not in registry.get(target).field_names:
        raise UsageError(UNKNOWN_FIELD.format(target=target))
    mapping, _ = ValueMapping.objects.update_or_create(
        source_id=source_id,
        target=target,
        field=field_name,
        from_value=from_value,
        defaults={"to_value": to_value, "active": True, "created_by": _actor(actor)},
    )
    return mapping


def violations_remediated(
    *, run_id: int, imported: list[int], failed: Mapping[int, Sequence[dict[str, str]]]
) -> None:
    """A chunk of remediation run ``run_id`` is done: the requeued
    violations whose rows were imported are resolved (by the steward), those
    quarantined again reopen with their new errors. Only violations still
    requeued for this run change (compare-and-set); each result is audited."""
    now = timezone.now()
    claimed = Violation.objects.filter(status=Violation.Status.REQUEUED, remediation_run_id=run_id)
    resolved = dict(claimed.filter(pk__in=imported).values_list("pk", "created_at"))
    Violation.objects.filter(pk__in=resolved).update(
        status=Violation.Status.RESOLVED,
        resolved_by_run_id=run_id,
        resolved_at=now,
        resolution=Violation.Resolution.STEWARD,
        requeue_outcome=Violation.RequeueOutcome.RESOLVED,
    )
    reopened = []
    for violation in claimed.filter(pk__in=list(failed)):
        errors = failed[violation.pk]
        violation.status = Violation.Status.OPEN
        violation.requeue_outcome = Violation.RequeueOutcome.FAILED_AGAIN
        violation.errors = errors
        violation.codes = codes_of(errors)
        violation.error_fields = fields_of(errors)
        violation.updated_at = now
        reopened.append(violation)
    Violation.objects.bulk_update(
        reopened,
        ["status", "requeue_outcome", "errors", "codes", "error_fields", "updated_at"],
        batch_size=500,
    )
    RemediationAudit.objects.bulk_create(
        [
            RemediationAudit(
                violation_id=vid,
                action=RemediationAudit.Action.RESULT,
                outcome=RemediationAudit.Outcome.RESOLVED,
                run_id=run_id,
                time_to_fix_s=(now - resolved[vid]).total_seconds(),
            )
            for vid in sorted(resolved)
        ]
        + [
            RemediationAudit(
                violation_id=v.pk,
                action=RemediationAudit.Action.RESULT,
                outcome=RemediationAudit.Outcome.FAILED,
                run_id=run_id,
                after={"errors": v.errors},
            )
            for v in reopened
        ],
        batch_size=500,
    )
    if resolved:
        REMEDIATION.labels(outcome=RemediationAudit.Outcome.RESOLVED).inc(len(resolved))
    if reopened:
        REMEDIATION.labels(outcome=RemediationAudit.Outcome.FAILED).inc(len(reopened))


def remediation_run_finished(*, run: ImportRun) -> int:
    """A remediation run ended: violations it did not reach (it failed or was
    cancelled) go back to open, audited. Returns how many."""
    ids = list(
        Violation.objects.filter(
            remediation_run_id=run.pk, status=Violation.Status.REQUEUED
        ).values_list("pk", flat=True)
    )
    released = Violation.objects.filter(pk__in=ids, status=Violation.Status.REQUEUED).update(
        status=Violation.Status.OPEN, updated_at=timezone.now()
    )
    reason = RUN_ENDED.format(run_id=run.pk, status=run.status)
    RemediationAudit.objects.bulk_create(
        [
            RemediationAudit(
                violation_id=vid,
                action=RemediationAudit.Action.RESULT,
                outcome=RemediationAudit.Outcome.FAILED,
                run_id=run.pk,
                reason=reason,
            )
            for vid in ids
        ],
        batch_size=500,
    )
    if released:
        REMEDIATION.labels(outcome=RemediationAudit.Outcome.FAILED).inc(released)
    return released


def release_after_remediation_run(sender: Any, *, run: ImportRun, **kwargs: Any) -> None:
    """``runs.signals.run_finished`` receiver (connected in dq/apps.py)."""
    if run.kind == ImportRun.Kind.REMEDIATION:
        remediation_run_finished(run=run)
