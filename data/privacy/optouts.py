"""Objection and opt-out requests: record the withdrawals as consent events (with the request
as evidence) and add suppression entries so the person is never contacted again for the
purposes they refused.

Consent history is append-only: a withdrawal is a new event, never an edit. A purpose whose
current consent is already "withdrawn" is not withdrawn again. Suppression entries hold keyed
digests of the normalised email and phone (``data.do_not_contact``), never the identifiers; an
identifier already on the list is left as it is. Contact purposes (service contact, marketing)
lead to a suppression entry; analytics, cookies and sharing do not concern contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.consent.current import consent_of
from data.do_not_contact import suppression_digest, suppression_key
from data.identifiers import normalise_email, normalise_phone
from data.models import CONSENT_PURPOSES, ConsentEvent, Homeowner, Partner, Suppression
from data.privacy.validation import ValidationError
from data.privacy.workflow import Actor, begin_transition, log_transition
from data.timeutil import utcnow

PURPOSE_LABELS = {
    "service_contact": "All service contact",
    "share_with_partners": "Sharing with partners",
    "marketing_email": "Marketing by email",
    "marketing_phone": "Marketing by phone",
    "marketing_whatsapp": "Marketing by WhatsApp",
    "analytics_tracking": "Analytics tracking",
    "ad_cookies": "Advertising cookies",
    "call_recording": "Call recording",
}
assert set(PURPOSE_LABELS) == set(CONSENT_PURPOSES)
MARKETING = ("marketing_email", "marketing_phone", "marketing_whatsapp")
DEFAULT_PURPOSES: dict[str, tuple[str, ...]] = {
    "objection": MARKETING,
    "analytics_opt_out": ("analytics_tracking", "ad_cookies"),
    "service_opt_out": tuple(CONSENT_PURPOSES),
}
SUPPRESSION_REASONS = {
    "service_contact": "service_opt_out",
    **dict.fromkeys(MARKETING, "objection"),
}


def current_consent(
    session: Session, subject_type: str, subject_id: int
) -> dict[str, tuple[bool, datetime]]:
    """Latest event per purpose: purpose → (granted, at), by the one definition of current
    consent (:mod:`data.consent.current`)."""
    return {
        purpose: (state.granted, state.at)
        for purpose, state in consent_of(session, subject_type, subject_id).items()
    }


@dataclass(frozen=True)
class OptOutResult:
    withdrawn: tuple[str, ...]
    already_withdrawn: tuple[str, ...]
    suppressions_added: int
    already_suppressed: int


def _identifiers(session: Session, req) -> list[tuple[str, str]]:
    """(kind, value) pairs to suppress: the subject's registered identifiers and the ones the
    requester gave (if they are well formed), deduplicated after normalisation."""
    values: list[tuple[str, str | None]] = []
    if req.subject_type and req.subject_id:
        model = Homeowner if req.subject_type == "homeowner" else Partner
        subject = session.get(model, req.subject_id)
        if subject is not None:
            values += [("email", subject.email), ("phone", subject.phone)]
    values += [("email", req.given_email), ("phone", req.given_phone)]
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for kind, value in values:
        if not value:
            continue
        norm = normalise_email(value) if kind == "email" else normalise_phone(value)
        if not norm:
            continue
        if (kind, norm) not in seen:
            seen.add((kind, norm))
            out.append((kind, norm))
    return out


def record_opt_outs(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    purposes: Iterable[object],
    now: datetime | None = None,
    key: bytes | None = None,
) -> OptOutResult:
    """Withdraw ``purposes`` for the request's subject and suppress their identifiers."""
    now = now or utcnow()
    chosen = list(dict.fromkeys(purposes)) if not isinstance(purposes, str | bytes) else []
    bad = [p for p in chosen if p not in CONSENT_PURPOSES]
    if bad or not chosen:
        message = "choose at least one purpose" if not chosen else "unknown purpose"
        raise ValidationError({"purposes": message})
    req = begin_transition(session, request_id, version, actor, "opt_out", now)
    withdrawn: list[str] = []
    already: list[str] = []
    if req.subject_type and req.subject_id:
        current = current_consent(session, req.subject_type, req.subject_id)
        for purpose in chosen:
            state = current.get(purpose)
            if state is not None and not state[0]:
                already.append(purpose)
                continue
            session.add(
                ConsentEvent(
                    subject_type=req.subject_type,
                    subject_id=req.subject_id,
                    purpose=purpose,
                    granted=False,
                    at=now,
                    source="privacy_request",
                    evidence=f"privacy request #{req.id} ({req.type})",
                )
            )
            withdrawn.append(purpose)
    reasons = [SUPPRESSION_REASONS[p] for p in chosen if p in SUPPRESSION_REASONS]
    added = existing = 0
    if reasons:
        reason = "service_opt_out" if "service_opt_out" in reasons else "objection"
        secret = key or suppression_key()
        for kind, value in _identifiers(session, req):
            digest = suppression_digest(kind, value, secret)
            if session.scalar(select(Suppression.id).where(Suppression.digest == digest)):
                existing += 1
                continue
            session.add(Suppression(kind=kind, digest=digest, reason=reason, created_at=now))
            added += 1
    if not withdrawn and not added:
        raise ValidationError(
            {"purposes": "nothing to record: already withdrawn and already suppressed"}
        )
    session.flush()
    log_transition(
        session,
        actor,
        "opt_out",
        req,
        {
            "withdrawn": withdrawn,
            "already_withdrawn": already,
            "suppressions_added": added,
            "already_suppressed": existing,
        },
        now,
    )
    return OptOutResult(tuple(withdrawn), tuple(already), added, existing)


def consent_events_of_request(session: Session, request_id: int) -> list[ConsentEvent]:
    """Consent events this request caused (its evidence names the request)."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.source == "privacy_request",
                ConsentEvent.evidence.like(f"privacy request #{int(request_id)} (%"),
            )
            .order_by(ConsentEvent.at, ConsentEvent.id)
        )
    )
