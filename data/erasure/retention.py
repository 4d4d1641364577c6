"""Retention: the rules of ``docs/domain.md`` §5.9 as settings, their preview, and the sweep.

Why here, beside the erasure
----------------------------
A homeowner past the retention period is erased by the very code a request uses
(:func:`data.erasure.execute.erase_subjects`, of which a request's ``erase_subject`` is the
one-id case), so "what an erasure clears" has one answer. The
other rules clear less: a call recording's reference, a closed request's identifiers (the same
registry columns the erasure clears on ``privacy_request``, its notes and corrections), or close
a request left unverified (``workflow.close_all_unverified``, as actor ``system``).

Batches, stop and resume
------------------------
The sweep works in batches, each its own transaction (one audit entry per batch, with ids and
counts), so a reader waits for at most one batch and a stopped or killed sweep leaves every
finished batch done and the current one not started. Resuming is running it again: what is due
is recomputed from the data, so nothing is done twice and nothing is skipped. A batch is erased
set-wise: one statement per table for all its homeowners and one residue scan over all their
identifiers, so its cost hardly grows with its size (one subject at a time, the statements of
each table ran once per homeowner: ≈ 100 a minute at 1M leads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from data import audit
from data.db import session_scope
from data.erasure.execute import PLACEHOLDER_SITE, erase_subjects
from data.erasure.plan import cleared_values, table
from data.models import Homeowner, Interaction, PrivacyRequest, Review, Setting
from data.privacy import workflow
from data.privacy.clock import CLOSED_STATUSES, OPEN_STATUSES
from data.privacy.validation import ValidationError
from data.subjects import FREE_TEXT, HOMEOWNER, IDENTIFIER
from data.timeutil import utcnow

DEFAULT_BATCH = 100


@dataclass(frozen=True)
class Rule:
    """One retention rule: what it clears, after how long (a setting), within which bounds."""

    code: str
    label: str
    setting: str
    default: int
    unit: str  # "months" | "days" | "years"
    minimum: int
    maximum: int


RULES: tuple[Rule, ...] = (
    Rule("homeowners", "Homeowner personal data (after last activity)",
         "retention.homeowner_months", 24, "months", 1, 240),
    Rule("recordings", "Call recordings", "retention.recording_months", 6, "months", 1, 120),
    # Never below 30 days: the privacy clock gives a requester 30 days to verify.
    Rule("unverified", "Unverified privacy requests (closed as unverified)",
         "retention.unverified_days", 30, "days", 30, 365),
    Rule("closed_requests", "Identifiers in closed privacy requests",
         "retention.closed_request_years", 3, "years", 1, 20),
)  # fmt: skip
RULE_BY_CODE = {r.code: r for r in RULES}


@dataclass(frozen=True)
class RulePreview:
    rule: Rule
    period: int
    cutoff: datetime
    due: int
    oldest: datetime | None


@dataclass
class SweepResult:
    done: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    residue: int = 0
    stopped: bool = False
    seconds: float = 0.0


# --- settings ---------------------------------------------------------------------------------


def periods(session: Session) -> dict[str, int]:
    """Each rule's period: its setting when valid, else the default."""
    stored = dict(
        session.execute(
            select(Setting.key, Setting.value).where(Setting.key.in_([r.setting for r in RULES]))
        ).all()
    )
    out = {}
    for rule in RULES:
        raw = stored.get(rule.setting)
        try:
            value = int(raw) if raw is not None else rule.default
        except ValueError:
            value = rule.default
        out[rule.code] = value if rule.minimum <= value <= rule.maximum else rule.default
    return out


def save_periods(session: Session, actor: workflow.Actor, values: dict[str, object]) -> list[str]:
    """Validate and store changed periods (audited); returns the codes changed."""
    workflow.require_privacy_role(actor)
    current = periods(session)
    errors: dict[str, str] = {}
    parsed: dict[str, int] = {}
    for rule in RULES:
        raw = values.get(rule.code)
        try:
            value = int(str(raw).strip())
        except ValueError:
            errors[rule.code] = f"{rule.label}: enter a whole number of {rule.unit}."
            continue
        if not rule.minimum <= value <= rule.maximum:
            errors[rule.code] = (
                f"{rule.label}: between {rule.minimum} and {rule.maximum} {rule.unit}."
            )
            continue
        parsed[rule.code] = value
    if errors:
        raise ValidationError(errors)
    changed = [code for code, value in parsed.items() if value != current[code]]
    for code in changed:
        rule = RULE_BY_CODE[code]
        row = session.get(Setting, rule.setting)
        if row is None:
            session.add(Setting(key=rule.setting, value=str(parsed[code])))
        else:
            row.value = str(parsed[code])
    if changed:
        audit.record(
            session,
            actor.username,
            "retention.settings",
            "setting",
            None,
            {code: {"from": current[code], "to": parsed[code]} for code in changed},
        )
    return changed


def cutoff(rule: Rule, period: int, now: datetime) -> datetime:
    """``now`` minus the period, in calendar months/years (day clamped to the month's end)."""
    if rule.unit == "days":
        return now - timedelta(days=period)
    months = period * 12 if rule.unit == "years" else period
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    next_month = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return now.replace(year=year, month=month, day=min(now.day, last_day))


# --- what is due ------------------------------------------------------------------------------


def _due_homeowners(limit_cutoff: datetime) -> tuple[Any, Any]:
    """(condition, time column) of homeowners past retention that may be erased: not erased,
    not the placeholder, no legal hold, no disputed review, no open privacy request."""
    disputed = exists().where(Review.homeowner_id == Homeowner.id, Review.dispute.is_(True))
    open_request = exists().where(
        PrivacyRequest.subject_type == "homeowner",
        PrivacyRequest.subject_id == Homeowner.id,
        PrivacyRequest.status.in_(OPEN_STATUSES),
    )
    condition = and_(
        # through coalesce: almost every homeowner is not erased, yet SQLite's planner walked
        # the erased_at index for them (1 s at 1M leads) instead of last_activity_at's
        func.coalesce(Homeowner.erased_at, Homeowner.erased_at).is_(None),
        Homeowner.source_site != PLACEHOLDER_SITE,
        Homeowner.last_activity_at < limit_cutoff,
        or_(Homeowner.legal_hold.is_(None), func.trim(Homeowner.legal_hold) == ""),
        ~disputed,
        ~open_request,
    )
    return condition, Homeowner.last_activity_at


def _closed_request_text() -> list[Any]:
    columns = HOMEOWNER.table("privacy_request").columns(IDENTIFIER, FREE_TEXT)
    return [PrivacyRequest.__table__.c[c].isnot(None) for c in columns]


def _due(rule: Rule, limit_cutoff: datetime) -> tuple[Any, Any, Any]:
    """(id column, condition, time column) of the rows a rule would act on now."""
    if rule.code == "homeowners":
        condition, when = _due_homeowners(limit_cutoff)
        return Homeowner.id, condition, when
    if rule.code == "recordings":
        # the references still kept have a partial index (ix_interaction_recording_kept)
        condition = and_(Interaction.recording_ref.isnot(None), Interaction.at < limit_cutoff)
        return Interaction.id, condition, Interaction.at
    if rule.code == "unverified":
        condition = and_(
            PrivacyRequest.status.in_(("received", "verifying")),
            PrivacyRequest.received_at <= limit_cutoff,
        )
        return PrivacyRequest.id, condition, PrivacyRequest.received_at
    closed = func.coalesce(PrivacyRequest.closed_at, PrivacyRequest.received_at)
    condition = and_(
        PrivacyRequest.status.in_(CLOSED_STATUSES),
        closed < limit_cutoff,
        or_(*_closed_request_text()),
    )
    return PrivacyRequest.id, condition, closed


def due_rows(rule: Rule, limit_cutoff: datetime) -> tuple[Any, Any, Any]:
    """(id column, condition, time column) of the rows ``rule`` would act on at this cutoff:
    the compliance monitor (``data.compliance.records``) counts what is kept past retention
    with the very condition the sweep uses."""
    return _due(rule, limit_cutoff)


def preview(session: Session, now: datetime | None = None) -> list[RulePreview]:
    """Per rule: its period, cutoff, how many items are due now and the oldest one's time."""
    now = now or utcnow()
    values = periods(session)
    out = []
    for rule in RULES:
        limit_cutoff = cutoff(rule, values[rule.code], now)
        _id, condition, when = _due(rule, limit_cutoff)
        count, oldest = session.execute(select(func.count(), func.min(when)).where(condition)).one()
        out.append(RulePreview(rule, values[rule.code], limit_cutoff, count, oldest))
    return out


def due_ids(session: Session, rule: Rule, limit_cutoff: datetime, limit: int) -> list[int]:
    id_column, condition, when = _due(rule, limit_cutoff)
    query = select(id_column).where(condition).order_by(when, id_column).limit(limit)
    return list(session.scalars(query))


# --- one batch --------------------------------------------------------------------------------


def _erase_homeowners(
    session: Session, ids: list[int], now: datetime, key: bytes | None
) -> tuple[int, int, dict[str, Any], int]:
    """Erase the batch set-wise (:func:`erase_subjects`: one statement per table, one residue
    scan over all their identifiers); a homeowner blocked meanwhile, or erased by another sweep
    since the due query, is skipped and left as it is: (erased, skipped, audit details,
    findings)."""
    erasure = erase_subjects(session, "homeowner", ids, now=now, key=key, pending_only=True)
    tables: dict[str, int] = {}
    for receipt in erasure.receipts.values():
        for plan in receipt.tables:
            tables[plan.table] = tables.get(plan.table, 0) + plan.rows
    erased = list(erasure.receipts)
    details = {"subjects": erased, "rows": tables, "scan": erasure.scan.as_receipt()}
    skipped = len(erasure.refused) + len(erasure.already)
    return len(erased), skipped, details, len(erasure.scan.findings)


def _clear_recordings(session: Session, ids: list[int]) -> int:
    values = cleared_values(HOMEOWNER.table("interaction"))
    keep = {"recording_ref", "recorded"}  # a recording's reference only: the call stays
    result = session.execute(
        update(Interaction)
        .where(Interaction.id.in_(ids))
        .values({k: v for k, v in values.items() if k in keep})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _clear_closed_requests(session: Session, ids: list[int]) -> int:
    """The registry's identifier and free-text columns of the requests, notes, corrections."""
    for name in ("privacy_request", "privacy_request_note", "privacy_correction"):
        core = table(name)
        key = core.c.id if name == "privacy_request" else core.c.request_id
        session.execute(
            update(core).where(key.in_(ids)).values(cleared_values(HOMEOWNER.table(name)))
        )
    return len(ids)


def run_batch(
    engine: Engine,
    rule: Rule,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH,
    actor: workflow.Actor = workflow.SYSTEM,
    key: bytes | None = None,
) -> tuple[int, int, int] | None:
    """One batch of one rule in its own transaction: (done, skipped, residue findings), or
    None when nothing of the rule is due."""
    with session_scope(engine) as session:
        limit_cutoff = cutoff(rule, periods(session)[rule.code], now)
        ids = due_ids(session, rule, limit_cutoff, batch_size)
        if not ids:
            return None
        skipped = residue = 0
        details: dict[str, Any] = {}
        if rule.code == "homeowners":
            done, skipped, details, residue = _erase_homeowners(session, ids, now, key)
        elif rule.code == "recordings":
            done = _clear_recordings(session, ids)
        elif rule.code == "unverified":
            done = len(workflow.close_all_unverified(session, actor, now, only=set(ids)))
            skipped = len(ids) - done
        else:
            done = _clear_closed_requests(session, ids)
        audit.record(
            session,
            actor.username,
            f"retention.{rule.code}",
            "retention",
            None,
            {"done": done, "skipped": skipped, "ids": ids, **details},
            at=now,
        )
        return done, skipped, residue


def sweep(
    engine: Engine,
    *,
    rules: tuple[str, ...] | None = None,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    key: bytes | None = None,
) -> SweepResult:
    """Run the rules batch by batch until nothing is due (or ``should_stop``); ``progress``
    gets (rule code, items done so far, items that were due when the sweep started)."""
    started = time.perf_counter()
    now = now or utcnow()
    with session_scope(engine) as session:
        totals = {p.rule.code: p.due for p in preview(session, now)}
    chosen = [r for r in RULES if rules is None or r.code in rules]
    total = sum(totals[r.code] for r in chosen)
    result = SweepResult()
    handled = 0
    for rule in chosen:
        if result.stopped:
            break
        result.done[rule.code] = result.skipped[rule.code] = 0
        while True:
            if should_stop():
                result.stopped = True
                break
            outcome = run_batch(engine, rule, now, batch_size=batch_size, key=key)
            if outcome is None:
                break
            done, skipped, residue = outcome
            result.done[rule.code] += done
            result.skipped[rule.code] += skipped
            result.residue += residue
            result.batches += 1
            handled += done + skipped
            if progress is not None:
                progress(rule.code, min(handled, total), total)
            if done == 0:  # only items that cannot be done are left: the next sweep retries
                break
    result.seconds = time.perf_counter() - started
    return result
