"""Everything the request page shows, read in one session: the request, its subject, the clock,
the actions allowed now, and the timeline.

The timeline merges what happened to the request (its audit entries, notes, corrections) with
what concerns its subject elsewhere (disclosures to authorities, other privacy requests), oldest
first. Audit entries carry no PII, so texts come from their own tables (notes, corrections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import AuditLog, Homeowner, Partner, PrivacyRequest, PrivacyRequestNote, User
from data.privacy.clock import DaysLeft, days_left_badge, is_deemed_refusal
from data.privacy.correction import (
    FieldSpec,
    PartnerToTell,
    correctable_fields,
    corrections_of_request,
    current_values,
    partners_to_tell,
)
from data.privacy.disclosures import list_disclosures
from data.privacy.optouts import DEFAULT_PURPOSES, PURPOSE_LABELS, current_consent
from data.privacy.vocabulary import (
    ACTIONS,
    DENIAL_REASON_LABELS,
    VERIFICATION_METHODS,
    VERIFICATION_OUTCOMES,
)
from data.privacy.workflow import (
    OBJECT_TYPE,
    allowed_actions,
    assignable_users,
    package_downloads,
    refusal_reason,
    requests_of_subject,
)
from data.timeutil import sa_date, utcnow


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # request | action | note | correction | disclosure | other_request
    title: str
    detail: str | None = None
    actor: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class SubjectSummary:
    subject_type: str
    subject_id: int
    label: str
    email: str | None
    phone: str | None
    place: str
    erased: bool
    legal_hold: str | None


@dataclass(frozen=True)
class RequestView:
    request: dict[str, Any]
    subject: SubjectSummary | None
    badge: DaysLeft | None
    deemed_refusal: bool
    assignee: str | None
    verified_by: str | None
    allowed: tuple[str, ...]
    refusals: dict[str, str]
    timeline: tuple[TimelineEntry, ...]
    assignable: list[tuple[int, str]]
    package_downloads: int
    correction_fields: tuple[FieldSpec, ...] = ()
    correction_values: dict[str, Any] = field(default_factory=dict)
    partners_to_tell: tuple[PartnerToTell, ...] = ()
    consent: dict[str, tuple[bool, datetime]] = field(default_factory=dict)
    default_purposes: tuple[str, ...] = ()

    @property
    def id(self) -> int:
        return int(self.request["id"])

    @property
    def version(self) -> int:
        return int(self.request["version"])


REQUEST_FIELDS = (
    "id",
    "type",
    "status",
    "channel",
    "received_at",
    "due_at",
    "original_due_at",
    "extended",
    "extension_reason",
    "extension_notice_at",
    "given_name",
    "given_email",
    "given_phone",
    "message",
    "subject_type",
    "subject_id",
    "no_record_found",
    "verification_method",
    "verification_outcome",
    "verification_evidence",
    "verified_at",
    "assignee_id",
    "denial_reason",
    "resolution_note",
    "response_text",
    "closed_at",
    "duplicate_of_id",
    "version",
)


def _subject(session: Session, req: PrivacyRequest) -> SubjectSummary | None:
    if req.subject_type is None or req.subject_id is None:
        return None
    if req.subject_type == "homeowner":
        h = session.get(Homeowner, req.subject_id)
        if h is None:
            return None
        name = " ".join(p for p in (h.first_name, h.last_name) if p) or "(erased)"
        place = ", ".join(p for p in (h.suburb, h.city, h.province) if p)
        return SubjectSummary(
            "homeowner",
            h.id,
            name,
            h.email,
            h.phone,
            place,
            h.erased_at is not None,
            h.legal_hold,
        )
    p = session.get(Partner, req.subject_id)
    if p is None:
        return None
    label = p.business_name + (f" ({p.contact_name})" if p.contact_name else "")
    place = ", ".join(x for x in (p.city, p.province) if x)
    return SubjectSummary(
        "partner", p.id, label, p.email, p.phone, place, p.erased_at is not None, p.legal_hold
    )


def _label(mapping: dict[str, str], value: object) -> str:
    return mapping.get(str(value), str(value).replace("_", " "))


def _action_entry(
    entry: AuditLog,
    users: dict[int, str],
    req: PrivacyRequest,
    corrections: dict[datetime, list[str]],
) -> TimelineEntry | None:
    d = entry.details or {}
    action = entry.action.removeprefix("privacy_request.")
    detail = None
    if action == "create":
        title = "Request logged"
        bits = [f"channel: {d.get('channel')}"]
        if d.get("subject_type"):
            bits.append(f"subject confirmed: {d['subject_type']} #{d.get('subject_id')}")
        if d.get("no_record_found"):
            bits.append("no record found")
        if d.get("duplicate_of"):
            bits.append(f"duplicate of request #{d['duplicate_of']}: linked, not processed")
        detail = "; ".join(bits)
    elif action == "verify":
        title = "Identity verification: " + _label(VERIFICATION_OUTCOMES, d.get("outcome"))
        detail = _label(VERIFICATION_METHODS, d.get("method"))
    elif action == "assign":
        who = d.get("assignee_id")
        title = f"Assigned to {users.get(who, f'user #{who}')}" if who else "Unassigned"
    elif action in ("note", "view"):
        return None  # a note is its own entry, with its text; a view is a read, not an event
    elif action == "extend":
        title = f"Deadline extended by {d.get('days')} days to {str(d.get('due_at', ''))[:10]}"
        detail = f"Notice given {str(d.get('notice_at', ''))[:10]}. Reason: {req.extension_reason}"
    elif action == "deny":
        title = "Denied: " + _label(DENIAL_REASON_LABELS, d.get("reason"))
    elif action == "access_package.preview":
        title = "Access package previewed"
    elif action == "access_package.download":
        title = f"Access package downloaded ({str(d.get('format', '')).upper()})"
        sections = d.get("sections") or {}
        detail = ", ".join(f"{k}: {v}" for k, v in sections.items())
    elif action == "correct":
        title = "Details corrected: " + ", ".join(d.get("fields") or [])
        detail = "; ".join(corrections.get(entry.at, [])) or None
    elif action == "opt_out":
        withdrawn = [PURPOSE_LABELS.get(p, p) for p in d.get("withdrawn") or []]
        title = "Opt-outs recorded"
        bits = []
        if withdrawn:
            bits.append("consent withdrawn: " + ", ".join(withdrawn))
        if d.get("already_withdrawn"):
            bits.append("already withdrawn: " + ", ".join(d["already_withdrawn"]))
        bits.append(f"suppression entries added: {d.get('suppressions_added', 0)}")
        detail = "; ".join(bits)
    elif action == "complete":
        title = "Completed"
        detail = req.resolution_note
    elif action == "erase":
        tables = d.get("tables") or {}
        title = "Erasure carried out" + ("" if (d.get("scan") or {}).get("clean") else " (residue)")
        detail = ", ".join(f"{k}: {v.get('rows')}" for k, v in tables.items() if v.get("rows"))
    elif action == "close_unverified":
        title = "Closed as unverified (30 days without verification)"
    else:
        title = entry.action
    return TimelineEntry(entry.at, "action", title, detail, entry.actor)


def timeline(session: Session, req: PrivacyRequest) -> list[TimelineEntry]:
    users = {r[0]: r[1] for r in session.execute(select(User.id, User.username))}
    entries: list[TimelineEntry] = [
        TimelineEntry(
            req.received_at,
            "request",
            f"Request received by {req.channel.replace('_', ' ')}",
            None,
        )
    ]
    corrections: dict[datetime, list[str]] = {}
    for c in corrections_of_request(session, req.id):
        corrections.setdefault(c.at, []).append(
            f"{c.field}: “{c.before_value or ''}” → “{c.after_value or ''}”"
        )
    audit_rows = session.scalars(
        select(AuditLog)
        .where(AuditLog.object_type == OBJECT_TYPE, AuditLog.object_id == str(req.id))
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    for row in audit_rows:
        item = _action_entry(row, users, req, corrections)
        if item is not None:
            entries.append(item)
    notes = session.scalars(
        select(PrivacyRequestNote)
        .where(PrivacyRequestNote.request_id == req.id)
        .order_by(PrivacyRequestNote.at, PrivacyRequestNote.id)
    ).all()
    for note in notes:
        author = users.get(note.author_id) if note.author_id else None
        entries.append(TimelineEntry(note.at, "note", "Internal note", note.text, author))
    if req.subject_type and req.subject_id:
        disclosures = list_disclosures(session, req.subject_type, req.subject_id)
        for d in disclosures.itertuples(index=False):
            entries.append(
                TimelineEntry(
                    d.at.to_pydatetime() if hasattr(d.at, "to_pydatetime") else d.at,
                    "disclosure",
                    f"Disclosed to {d.authority} (ref. {d.reference})",
                    f"Legal basis: {d.legal_basis}. Released: {d.data_released}",
                    d.recorded_by or None,
                )
            )
        for other in requests_of_subject(session, req.subject_type, req.subject_id):
            if other.id == req.id:
                continue
            entries.append(
                TimelineEntry(
                    other.received_at,
                    "other_request",
                    f"Other request #{other.id} from this subject: "
                    f"{other.type.replace('_', ' ')} ({other.status})",
                    None,
                    None,
                    f"/privacy/{other.id}",
                )
            )
    entries.sort(key=lambda e: e.at)
    return entries


def load_request_view(
    session: Session, request_id: int, now: datetime | None = None
) -> RequestView | None:
    """The request page's content, or None when there is no such request."""
    now = now or utcnow()
    req = session.get(PrivacyRequest, request_id)
    if req is None:
        return None
    users = {r[0]: r[1] for r in session.execute(select(User.id, User.username))}
    is_open = req.status in ("received", "verifying", "in_progress")
    allowed = allowed_actions(req, now)
    refusals = {
        a: reason
        for a in ACTIONS
        if a not in allowed and (reason := refusal_reason(req, a, now)) is not None
    }
    extras: dict[str, Any] = {}
    if req.subject_type and req.subject_id:
        if req.type == "correction":
            extras["correction_fields"] = correctable_fields(req.subject_type)
            extras["correction_values"] = current_values(session, req.subject_type, req.subject_id)
            extras["partners_to_tell"] = tuple(
                partners_to_tell(session, req.subject_type, req.subject_id)
            )
        extras["consent"] = current_consent(session, req.subject_type, req.subject_id)
    extras["default_purposes"] = DEFAULT_PURPOSES.get(req.type, ())
    return RequestView(
        request={f: getattr(req, f) for f in REQUEST_FIELDS},
        subject=_subject(session, req),
        badge=days_left_badge(req.due_at, sa_date(now)) if is_open else None,
        deemed_refusal=is_deemed_refusal(req.type, req.status, req.due_at, sa_date(now)),
        assignee=users.get(req.assignee_id) if req.assignee_id else None,
        verified_by=users.get(req.verified_by) if req.verified_by else None,
        allowed=allowed,
        refusals=refusals,
        timeline=tuple(timeline(session, req)),
        assignable=assignable_users(session),
        package_downloads=package_downloads(session, req.id),
        **extras,
    )
