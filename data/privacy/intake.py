"""Intake: validate a request that arrived by email, phone or post, propose the subjects it may
be about (with why), and log it against the subject the officer confirms.

Identifiers are normalised with ``data.identifiers`` (emails lower-cased; South African phone
numbers in ``0xx``, ``+27`` or ``27`` form, with spaces or dashes, to ``+27XXXXXXXXX``), which is
how the homeowner and partner tables store them, so matching is an indexed equality look-up.
The chosen subject is re-checked against the candidates on the server: a crafted request cannot
attach someone else's record. A repeat (same subject and type within 365 days) is linked to the
earlier request and closed as ``duplicate`` instead of being processed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from data import audit, submissions
from data.identifiers import normalise_email, normalise_phone
from data.models import (
    REQUEST_CHANNELS,
    REQUEST_TYPES,
    Homeowner,
    Partner,
    PrivacyRequest,
)
from data.privacy.clock import due_date
from data.privacy.masking import mask_email, mask_phone
from data.privacy.validation import (
    Errors,
    ValidationError,
    clean_choice,
    clean_staff_datetime,
    clean_text,
    looks_like_email,
)
from data.privacy.workflow import OBJECT_TYPE, Actor, require_privacy_role
from data.timeutil import utcnow

DUPLICATE_WINDOW = timedelta(days=365)
NAME_MAX_BYTES = 160
CANDIDATE_LIMIT = 20

TYPE_LABELS = {
    "access": "Access (what do you hold about me?)",
    "erasure": "Erasure (delete my data)",
    "correction": "Correction of my details",
    "objection": "Objection to marketing / processing",
    "service_opt_out": "Opt out of the service entirely",
    "analytics_opt_out": "Opt out of analytics tracking",
}
CHANNEL_LABELS = {
    "email": "Email",
    "phone": "Phone",
    "post": "Post",
    "web_form": "Web form",
    "in_person": "In person",
}
assert set(TYPE_LABELS) == set(REQUEST_TYPES) and set(CHANNEL_LABELS) == set(REQUEST_CHANNELS)


@dataclass(frozen=True)
class IntakeForm:
    """A validated intake: identifiers as received plus their normalised forms."""

    type: str
    channel: str
    received_at: datetime
    given_name: str | None
    given_email: str | None
    given_phone: str | None
    message: str | None
    email: str | None  # normalised
    phone: str | None  # normalised (+27…)


def validate_intake(raw: Mapping[str, object], now: datetime | None = None) -> IntakeForm:
    """Check every field of the intake form; all problems are reported together."""
    now = now or utcnow()
    errors = Errors()
    type_ = clean_choice(errors, "type", raw.get("type"), REQUEST_TYPES, label="request type")
    channel = clean_choice(errors, "channel", raw.get("channel"), REQUEST_CHANNELS)
    received = clean_staff_datetime(
        errors, "received_at", raw.get("received_at"), now=now, label="received date"
    )
    name = clean_text(errors, "name", raw.get("name"), max_bytes=NAME_MAX_BYTES)
    email_raw = clean_text(errors, "email", raw.get("email"), max_bytes=254)
    phone_raw = clean_text(errors, "phone", raw.get("phone"), max_bytes=40)
    message = clean_text(errors, "message", raw.get("message"))
    email = phone = None
    if email_raw is not None:
        if looks_like_email(email_raw):
            email = normalise_email(email_raw)
        else:
            errors.add("email", "email address is malformed (expected name@example.co.za)")
    if phone_raw is not None:
        phone = normalise_phone(phone_raw)
        if phone is None:
            errors.add(
                "phone",
                "phone is not a number we accept (e.g. 082 123 4567; a foreign one with its "
                "country code, +44 …)",
            )
    if email_raw is None and phone_raw is None and "email" not in errors.errors:
        errors.add("email", "give at least an email address or a phone number")
    errors.raise_if_any()
    assert type_ is not None and channel is not None and received is not None
    return IntakeForm(
        type=type_,
        channel=channel,
        received_at=received,
        given_name=name,
        given_email=email_raw,
        given_phone=phone_raw,
        message=message,
        email=email,
        phone=phone,
    )


HOMEOWNER_COLUMNS = (
    Homeowner.id,
    Homeowner.first_name,
    Homeowner.last_name,
    Homeowner.email,
    Homeowner.phone,
    Homeowner.city,
    Homeowner.province,
)
PARTNER_COLUMNS = (
    Partner.id,
    Partner.business_name,
    Partner.contact_name,
    Partner.email,
    Partner.phone,
    Partner.city,
    Partner.province,
)


@dataclass(frozen=True)
class Candidate:
    """A record the request may be about, and why (reasons are shown to the officer)."""

    subject_type: str
    subject_id: int
    label: str
    masked_email: str
    masked_phone: str
    place: str
    reasons: tuple[str, ...]
    score: int

    @property
    def key(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"


def _name_tokens(name: str | None) -> list[str]:
    return [t for t in (name or "").casefold().replace(",", " ").split() if t]


def _name_reason(given: list[str], first: str | None, last: str | None) -> tuple[str, int]:
    held = _name_tokens(f"{first or ''} {last or ''}")
    if not given or not held:
        return "", 0
    if given == held or sorted(given) == sorted(held):
        return "same name", 1
    if held[-1] in given:
        return "same surname", 1
    if held[0] in given:
        return "same first name", 0
    return "name differs: check before confirming", 0


def find_candidates(
    conn: Connection | Session,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    limit: int = CANDIDATE_LIMIT,
) -> list[Candidate]:
    """Homeowners and partners matching the normalised email or phone, plus exact full-name
    matches as weaker candidates; erased subjects are never proposed (nothing is held)."""
    given = _name_tokens(name)
    found: dict[tuple[str, int], Candidate] = {}

    def add(kind: str, row, person_name: tuple[str | None, str | None], label: str) -> None:
        reasons: list[str] = []
        score = 0
        if email and row.email == email:
            reasons.append("same email address")
            score += 2
        if phone and row.phone == phone:
            reasons.append("same phone number")
            score += 2
        why, points = _name_reason(given, *person_name)
        if why:
            reasons.append(why)
            score += points
        if score == 0:
            return
        place = ", ".join(p for p in (row.city, row.province) if p)
        found[(kind, row.id)] = Candidate(
            kind,
            row.id,
            label,
            mask_email(row.email),
            mask_phone(row.phone),
            place,
            tuple(reasons),
            score,
        )

    ids_filter = []
    if email:
        ids_filter.append(("email", email))
    if phone:
        ids_filter.append(("phone", phone))
    if ids_filter:
        homeowner_cond = or_(*(getattr(Homeowner, col) == val for col, val in ids_filter))
        for row in conn.execute(
            select(*HOMEOWNER_COLUMNS)
            .where(homeowner_cond, Homeowner.erased_at.is_(None))
            .limit(limit)
        ):
            add("homeowner", row, (row.first_name, row.last_name), _person(row))
        partner_cond = or_(*(getattr(Partner, col) == val for col, val in ids_filter))
        for row in conn.execute(
            select(*PARTNER_COLUMNS).where(partner_cond, Partner.erased_at.is_(None)).limit(limit)
        ):
            add("partner", row, _split(row.contact_name), _business(row))
    if len(given) >= 2:
        first, last = given[0], given[-1]
        for row in conn.execute(
            select(*HOMEOWNER_COLUMNS)
            .where(
                func.lower(Homeowner.first_name) == first,
                func.lower(Homeowner.last_name) == last,
                Homeowner.erased_at.is_(None),
            )
            .limit(limit)
        ):
            if ("homeowner", row.id) not in found:
                add("homeowner", row, (row.first_name, row.last_name), _person(row))
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.subject_type, c.subject_id))
    return ranked[:limit]


def _person(row: Any) -> str:
    name = " ".join(p for p in (row.first_name, row.last_name) if p) or "(no name)"
    return f"{name} (homeowner #{row.id})"


def _business(row: Any) -> str:
    contact = f", {row.contact_name}" if row.contact_name else ""
    return f"{row.business_name}{contact} (partner #{row.id})"


def _split(name: str | None) -> tuple[str | None, str | None]:
    tokens = (name or "").split()
    if not tokens:
        return None, None
    return tokens[0], tokens[-1]


def parse_subject_key(value: object) -> tuple[str, int] | None:
    """``"homeowner:12"`` → ("homeowner", 12); anything else None."""
    if not isinstance(value, str) or ":" not in value or len(value) > 40:
        return None
    kind, _, ident = value.partition(":")
    if kind not in ("homeowner", "partner") or not ident.isdigit():
        return None
    return kind, int(ident)


def find_duplicate(
    session: Session | Connection,
    subject_type: str,
    subject_id: int,
    request_type: str,
    received_at: datetime,
) -> int | None:
    """The earlier request this one repeats: same subject and type, received within 365 days.

    Requests that were never processed on their merits (duplicates themselves, closed as
    unverified, or denied because identity was not verified) do not count: the person may
    legitimately try again.
    """
    return session.scalar(
        select(PrivacyRequest.id)
        .where(
            PrivacyRequest.subject_type == subject_type,
            PrivacyRequest.subject_id == subject_id,
            PrivacyRequest.type == request_type,
            PrivacyRequest.received_at >= received_at - DUPLICATE_WINDOW,
            PrivacyRequest.received_at <= received_at,
            PrivacyRequest.status.not_in(("duplicate", "unverified")),
            or_(
                PrivacyRequest.denial_reason.is_(None),
                PrivacyRequest.denial_reason != "identity_not_verified",
            ),
        )
        .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())
        .limit(1)
    )


def log_request(
    session: Session,
    actor: Actor,
    form: IntakeForm,
    *,
    subject: object = None,
    no_record_found: bool = False,
    token: str | None = None,
    now: datetime | None = None,
) -> PrivacyRequest:
    """Create the request against the confirmed subject (``"homeowner:12"``) or as "no record
    found"; a repeat within 365 days is created closed as ``duplicate`` and linked.

    ``token`` is the intake form's one-time token (``data.submissions``): a second call with it
    raises ``AlreadySubmitted`` naming the first request instead of logging the request twice
    (a double-click must not turn the requester's one request into a request and its
    "duplicate"). Callers outside a form (CLI, tests) pass none."""
    now = now or utcnow()
    require_privacy_role(actor)
    claimed = (
        submissions.claim(session, token, "privacy_intake", actor.username, now)
        if (token is not None)
        else None
    )
    chosen = parse_subject_key(subject) if subject not in (None, "") else None
    if subject not in (None, "") and chosen is None:
        raise ValidationError({"subject": "unknown subject"})
    if chosen is None and not no_record_found:
        raise ValidationError({"subject": "confirm the subject or mark “no record found”"})
    if chosen is not None and no_record_found:
        raise ValidationError({"subject": "choose a subject or “no record found”, not both"})
    if chosen is not None:
        candidates = find_candidates(
            session, name=form.given_name, email=form.email, phone=form.phone
        )
        if chosen not in {(c.subject_type, c.subject_id) for c in candidates}:
            raise ValidationError({"subject": "that subject does not match the identifiers given"})
    duplicate_of = (
        find_duplicate(session, chosen[0], chosen[1], form.type, form.received_at)
        if chosen
        else None
    )
    due = due_date(form.received_at)
    req = PrivacyRequest(
        type=form.type,
        given_name=form.given_name,
        given_email=form.given_email,
        given_phone=form.given_phone,
        message=form.message,
        subject_type=chosen[0] if chosen else None,
        subject_id=chosen[1] if chosen else None,
        no_record_found=no_record_found,
        channel=form.channel,
        received_at=form.received_at,
        due_at=due,
        original_due_at=due,
        extended=False,
        status="duplicate" if duplicate_of else "received",
        closed_at=now if duplicate_of else None,
        duplicate_of_id=duplicate_of,
        assignee_id=actor.id if not duplicate_of else None,
        version=1,
    )
    session.add(req)
    session.flush()
    if claimed is not None:
        submissions.settle(claimed, OBJECT_TYPE, req.id)
    audit.record(
        session,
        actor.username,
        "privacy_request.create",
        OBJECT_TYPE,
        req.id,
        {
            "type": form.type,
            "channel": form.channel,
            "subject_type": req.subject_type,
            "subject_id": req.subject_id,
            "no_record_found": no_record_found,
            "duplicate_of": duplicate_of,
            "status": req.status,
        },
        at=now,
    )
    return req
