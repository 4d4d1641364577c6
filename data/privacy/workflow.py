"""The privacy request state machine: which actions each state allows, and the transitions.

States (``REQUEST_STATUSES``)::

    received ──verify(pending/failed/expired)──▶ verifying ──verify(verified)──▶ in_progress
        └──────────────verify(verified)────────────────────────────────────────▶ in_progress
    open (received, verifying, in_progress) ──deny──▶ denied
    in_progress ──complete──▶ completed          (received/verifying too when no record found)
    received/verifying, 30 days unverified ──close_unverified──▶ unverified
    intake of a repeat within 365 days ──▶ duplicate (linked, never processed)

``assign``, ``note`` and ``extend`` keep the state. Fulfilment steps (access package,
correction, opt-outs) need ``in_progress``, i.e. a verified identity.

Optimistic concurrency: every transition names the ``version`` the officer saw. The first
statement is ``UPDATE … SET version = version + 1 WHERE id = :id AND version = :seen``; zero rows
means someone else acted first (:class:`StaleRequest`) and nothing is applied. On PostgreSQL the
row stays locked until commit, so a concurrent transition waits and then finds the new version;
on SQLite writers are serialised. A refused transition rolls the version bump back with the
rest of the transaction (``session_scope``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from data import audit
from data.models import DENIAL_REASONS, AuditLog, PrivacyRequest, PrivacyRequestNote, User
from data.privacy.clock import (
    MAX_EXTENSION_DAYS,
    OPEN_STATUSES,
    due_day,
    unverified_cutoff,
)
from data.privacy.validation import (
    Errors,
    ValidationError,
    clean_choice,
    clean_int,
    clean_staff_datetime,
    clean_text,
)
from data.privacy.vocabulary import (
    ACTIONS,
    FULFILMENT,
    MESSAGES,
    STAFF_TEXT_MAX_BYTES,
    UNVERIFIABLE_OUTCOMES,
    VERIFICATION_METHODS,
    VERIFICATION_OUTCOMES,
)
from data.roles import can, roles_with
from data.timeutil import sa_date, utcnow

# Who may act on (and be assigned) a privacy request: a capability in data/roles.py.
HANDLE = "handle_privacy_requests"
OBJECT_TYPE = "privacy_request"


class WorkflowError(ValueError):
    """A privacy action was refused; the message is safe to show to the officer."""


class NotFound(WorkflowError):
    pass


class StaleRequest(WorkflowError):
    def __init__(self) -> None:
        super().__init__(
            "This request changed since you opened it (another officer acted on it). "
            "Reload the page to see the latest state; nothing was applied."
        )


class TransitionRefused(WorkflowError):
    pass


class NotAllowed(WorkflowError):
    pass


@dataclass(frozen=True)
class Actor:
    """Who acts: the logged-in user (``id`` None for the ``system`` sweep)."""

    id: int | None
    username: str
    role: str


SYSTEM = Actor(None, "system", "admin")


class RequestState(Protocol):
    """The request fields the state machine reads (an ORM row or a test double)."""

    type: str
    status: str
    extended: bool
    original_due_at: datetime
    received_at: datetime
    verification_outcome: str | None
    subject_id: int | None
    no_record_found: bool


def require_privacy_role(actor: Actor) -> None:
    """Defence in depth behind the page guard: only privacy roles act on requests."""
    if not can(actor.role, HANDLE):
        raise NotAllowed("Only a privacy officer or an administrator may do this.")


def refusal_reason(req: RequestState, action: str, now: datetime) -> str | None:
    """Why ``action`` is not allowed on ``req`` now, or None when it is. The single source of
    truth for both the page (which shows only allowed actions) and every transition."""
    status = req.status
    is_open = status in OPEN_STATUSES
    verified = req.verification_outcome == "verified"
    if action not in ACTIONS:
        return f"Unknown action {action!r}."
    if action == "note":
        return None
    if not is_open and action != "access_package":
        return f"The request is closed ({status})."
    if action == "assign":
        return None
    if action == "verify":
        if status == "in_progress":
            return "Identity is already verified."
        return None
    if action == "extend":
        if req.extended:
            return "The deadline was already extended once; a second extension is not allowed."
        if sa_date(now) > due_day(req.original_due_at):
            return "The original due date has passed; an extension must be recorded before it."
        return None
    if action == "deny":
        return None
    if action == "close_unverified":
        if status not in ("received", "verifying") or verified:
            return "Only unverified requests close as unverified."
        if req.received_at > unverified_cutoff(now):
            return "A request closes as unverified only after 30 days without verification."
        return None
    if action == "complete":
        if req.no_record_found:
            return None
        if req.type == "erasure":
            return "Erasure requests are completed by running the erasure."
        if status != "in_progress":
            return "Verify the requester's identity first."
        return None
    # Fulfilment steps.
    if FULFILMENT.get(req.type) != action:
        return f"This step does not apply to a {req.type.replace('_', ' ')} request."
    if status not in ("in_progress", "completed") or not verified:
        return "Identity must be verified first."
    if action == "access_package":
        if req.subject_id is None:
            return "No subject is matched: there is nothing to put in a package."
        return None
    if status != "in_progress":
        return f"The request is closed ({status})."
    if action == "correct" and req.subject_id is None:
        return "No subject is matched: there is nothing to correct."
    return None


def allowed_actions(req: RequestState, now: datetime) -> tuple[str, ...]:
    return tuple(a for a in ACTIONS if refusal_reason(req, a, now) is None)


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StaleRequest()
    return version


def begin_transition(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    action: str,
    now: datetime,
) -> PrivacyRequest:
    """Claim the request at the version the officer saw, then check ``action`` is allowed.

    The version bump comes first so that two officers acting at once serialise on the row.
    """
    require_privacy_role(actor)
    seen = check_version(version)
    result = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.id == request_id, PrivacyRequest.version == seen)
        .values(version=PrivacyRequest.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        if session.scalar(select(PrivacyRequest.id).where(PrivacyRequest.id == request_id)) is None:
            raise NotFound(f"There is no privacy request #{request_id}.")
        raise StaleRequest()
    req = session.execute(
        select(PrivacyRequest)
        .where(PrivacyRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    reason = refusal_reason(req, action, now)
    if reason is not None:
        raise TransitionRefused(reason)
    return req


def log_transition(
    session: Session, actor: Actor, action: str, req: PrivacyRequest, details: dict, now: datetime
) -> None:
    audit.record(
        session,
        actor.username,
        f"privacy_request.{action}",
        OBJECT_TYPE,
        req.id,
        {"status": req.status, "version": req.version, **details},
        at=now,
    )


# --- transitions -----------------------------------------------------------------------------


def verify_identity(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    method: object,
    outcome: object,
    evidence: object,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Record a verification attempt: its method, outcome and a description of the evidence
    (never a copy of an ID document). ``verified`` opens the fulfilment steps."""
    now = now or utcnow()
    errors = Errors()
    method_ = clean_choice(
        errors, "method", method, VERIFICATION_METHODS, message=MESSAGES["method"]
    )
    outcome_ = clean_choice(
        errors, "outcome", outcome, VERIFICATION_OUTCOMES, message=MESSAGES["outcome"]
    )
    evidence_ = clean_text(
        errors,
        "evidence",
        evidence,
        required=outcome_ != "pending",
        label="evidence description",
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["evidence"],
    )
    errors.raise_if_any()
    req = begin_transition(session, request_id, version, actor, "verify", now)
    req.verification_method = method_
    req.verification_outcome = outcome_
    req.verification_evidence = evidence_
    if outcome_ == "verified":
        req.status = "in_progress"
        req.verified_by = actor.id
        req.verified_at = now
    else:
        req.status = "verifying"
    session.flush()
    log_transition(session, actor, "verify", req, {"method": method_, "outcome": outcome_}, now)
    return req


def assignable_users(conn: Connection | Session) -> list[tuple[int, str]]:
    """Active users who may own a request, as (id, username)."""
    rows = conn.execute(
        select(User.id, User.username)
        .where(User.active.is_(True), User.role.in_(roles_with(HANDLE)))
        .order_by(User.username)
    ).all()
    return [(r[0], r[1]) for r in rows]


def assign(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    assignee_id: object,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Give the request an owner (or none). Only active privacy staff can own requests."""
    now = now or utcnow()
    new_id: int | None
    if assignee_id in (None, "", "none"):
        new_id = None
    else:
        errors = Errors()
        new_id = clean_int(errors, "assignee", assignee_id, minimum=1, maximum=2**31 - 1)
        errors.raise_if_any()
        if new_id not in {uid for uid, _ in assignable_users(session)}:
            raise ValidationError({"assignee": "choose an active privacy officer or admin"})
    req = begin_transition(session, request_id, version, actor, "assign", now)
    if req.assignee_id == new_id:
        raise ValidationError({"assignee": "the request is already assigned that way"})
    previous = req.assignee_id
    req.assignee_id = new_id
    session.flush()
    log_transition(
        session, actor, "assign", req, {"assignee_id": new_id, "previous": previous}, now
    )
    return req


def add_note(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    text: object,
    now: datetime | None = None,
) -> PrivacyRequestNote:
    """An internal note; the text stays in the notes table, the audit log gets its length."""
    now = now or utcnow()
    errors = Errors()
    text_ = clean_text(
        errors,
        "note",
        text,
        required=True,
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["note"],
    )
    errors.raise_if_any()
    assert text_ is not None
    req = begin_transition(session, request_id, version, actor, "note", now)
    note = PrivacyRequestNote(request_id=req.id, author_id=actor.id, at=now, text=text_)
    session.add(note)
    session.flush()
    log_transition(session, actor, "note", req, {"note_id": note.id, "chars": len(text_)}, now)
    return note


def extend(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    days: object,
    reason: object,
    notice_date: object,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Extend the deadline once, by at most 30 days, with a reason and the date the requester
    was notified; both must fall before the original due date."""
    now = now or utcnow()
    errors = Errors()
    days_ = clean_int(
        errors, "days", days, minimum=1, maximum=MAX_EXTENSION_DAYS, message=MESSAGES["days"]
    )
    reason_ = clean_text(
        errors,
        "reason",
        reason,
        required=True,
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["extend_reason"],
    )
    notice = clean_staff_datetime(
        errors,
        "notice_date",
        notice_date,
        now=now,
        label="notice date",
        message=MESSAGES["notice_date"],
    )
    errors.raise_if_any()
    assert days_ is not None and notice is not None
    req = begin_transition(session, request_id, version, actor, "extend", now)
    if sa_date(notice) < sa_date(req.received_at):
        raise ValidationError({"notice_date": "notice date cannot be before the request arrived"})
    if sa_date(notice) > due_day(req.original_due_at):
        raise ValidationError({"notice_date": "the notice must be given by the due date"})
    req.extended = True
    req.extension_reason = reason_
    req.extension_notice_at = notice
    req.due_at = req.original_due_at + timedelta(days=days_)
    session.flush()
    log_transition(
        session,
        actor,
        "extend",
        req,
        {"days": days_, "due_at": req.due_at.isoformat(), "notice_at": notice.isoformat()},
        now,
    )
    return req


def deny(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    reason: object,
    response_text: object,
    note: object = None,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Refuse the request with a reason code and the text sent to the requester. "Identity not
    verified" needs a failed or expired verification on record."""
    now = now or utcnow()
    errors = Errors()
    reason_ = clean_choice(
        errors,
        "reason",
        reason,
        DENIAL_REASONS,
        label="reason code",
        message=MESSAGES["deny_reason"],
    )
    response_ = clean_text(
        errors,
        "response_text",
        response_text,
        required=True,
        label="response",
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["response_text"],
    )
    note_ = clean_text(
        errors, "note", note, label="resolution note", max_bytes=STAFF_TEXT_MAX_BYTES
    )
    errors.raise_if_any()
    req = begin_transition(session, request_id, version, actor, "deny", now)
    if reason_ == "identity_not_verified" and req.verification_outcome not in UNVERIFIABLE_OUTCOMES:
        raise TransitionRefused(
            "“Identity not verified” needs a failed or expired verification on record."
        )
    req.status = "denied"
    req.denial_reason = reason_
    req.response_text = response_
    req.resolution_note = note_
    req.closed_at = now
    session.flush()
    log_transition(session, actor, "deny", req, {"reason": reason_}, now)
    return req


def package_downloads(session: Session | Connection, request_id: int) -> int:
    """How many times the access package of this request was downloaded (from the audit log)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.object_type == OBJECT_TYPE,
                AuditLog.object_id == str(request_id),
                AuditLog.action == "privacy_request.access_package.download",
            )
        )
        or 0
    )


def complete(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    resolution_note: object,
    response_text: object,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Close the request as answered. An access request needs its package delivered first."""
    now = now or utcnow()
    errors = Errors()
    note_ = clean_text(
        errors,
        "resolution_note",
        resolution_note,
        required=True,
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["resolution_note"],
    )
    response_ = clean_text(
        errors,
        "response_text",
        response_text,
        required=True,
        label="response",
        max_bytes=STAFF_TEXT_MAX_BYTES,
        message=MESSAGES["response_text"],
    )
    errors.raise_if_any()
    req = begin_transition(session, request_id, version, actor, "complete", now)
    if (
        req.type == "access"
        and req.subject_id is not None
        and not req.no_record_found
        and package_downloads(session, req.id) == 0
    ):
        raise TransitionRefused("Download the access package before completing the request.")
    req.status = "completed"
    req.resolution_note = note_
    req.response_text = response_
    req.closed_at = now
    session.flush()
    log_transition(session, actor, "complete", req, {}, now)
    return req


def close_unverified(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Close one request left unverified for 30 days."""
    now = now or utcnow()
    req = begin_transition(session, request_id, version, actor, "close_unverified", now)
    req.status = "unverified"
    req.closed_at = now
    session.flush()
    log_transition(session, actor, "close_unverified", req, {}, now)
    return req


def stale_unverified(conn: Connection | Session, now: datetime) -> list[tuple[int, int]]:
    """(id, version) of the requests that should close as unverified at ``now``."""
    rows = conn.execute(
        select(PrivacyRequest.id, PrivacyRequest.version)
        .where(
            PrivacyRequest.status.in_(("received", "verifying")),
            PrivacyRequest.received_at <= unverified_cutoff(now),
        )
        .order_by(PrivacyRequest.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def close_all_unverified(
    session: Session,
    actor: Actor,
    now: datetime | None = None,
    *,
    only: Collection[int] | None = None,
) -> list[int]:
    """The sweep: close every request unverified for 30 days. A request someone is acting on at
    the same moment is skipped (its version moved) and caught by the next sweep.

    ``only`` limits the sweep to the requests the officer was shown and confirmed: the page
    lists what it will close first, so a request that became due after the list was shown is
    left for the next sweep, and one verified since then is not touched (it is not stale)."""
    now = now or utcnow()
    require_privacy_role(actor)
    closed: list[int] = []
    for request_id, version in stale_unverified(session, now):
        if only is not None and request_id not in only:
            continue
        try:
            with session.begin_nested():
                close_unverified(session, request_id, version, actor, now=now)
        except (StaleRequest, TransitionRefused):
            continue
        closed.append(request_id)
    return closed


def requests_of_subject(
    session: Session, subject_type: str, subject_id: int
) -> Sequence[PrivacyRequest]:
    """Every request about one subject, oldest first (timeline and access package)."""
    return session.scalars(
        select(PrivacyRequest)
        .where(
            PrivacyRequest.subject_type == subject_type,
            PrivacyRequest.subject_id == subject_id,
        )
        .order_by(PrivacyRequest.received_at, PrivacyRequest.id)
    ).all()
