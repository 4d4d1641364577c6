"""One person's consent, and the marketing suppression list: the people-level side of consent.

Only for roles with ``see_people`` (privacy officers, admins): every function here refuses any
other role (:class:`NotAllowed`), behind the page's own check and the guard.

* :func:`find_people` — homeowners and partners whose stored email or phone equals the
  normalised form of what was typed (``data.identifiers``): ``082 555 0101``, ``+27 82 555
  0101`` and ``0825550101`` are one number, ``Thandi@Example.CO.ZA`` one address. Input that is
  neither is refused with a sentence saying so.
* :func:`consent_history` — every consent event of a subject, oldest first, with its source
  and evidence, and which event is the current one (:mod:`data.consent.current`).
* :func:`suppression_list` — who must not receive marketing: one row per do-not-contact entry
  (its keyed digest and reason; no identifier is stored there) and, for people not erased,
  one row per marketing purpose they must not be contacted for (withdrawn, or service contact
  withdrawn), with their name and contact details (phones as people write them,
  ``082 555 0101``: a leading ``+`` would be neutralised as a spreadsheet formula).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.consent.current import consent_of, current_events
from data.identifiers import national_form, normalise_email, normalise_phone
from data.models import ConsentEvent, Homeowner, Partner, Suppression
from data.roles import can

MARKETING = ("marketing_email", "marketing_phone", "marketing_whatsapp")
HISTORY_COLUMNS = ["at", "purpose", "granted", "source", "evidence", "current"]
LIST_COLUMNS = [
    "record",
    "purpose",
    "reason",
    "since",
    "subject_type",
    "subject_id",
    "name",
    "email",
    "phone",
    "digest",
]


class NotAllowed(PermissionError):
    """The role may not see individual people."""


class BadLookup(ValueError):
    """What was typed is neither an email address nor a phone number; ``str()`` says so."""


def require_people(role: str | None) -> None:
    if not can(role, "see_people"):
        raise NotAllowed("Only privacy officers and admins see individual people.")


@dataclass(frozen=True)
class Person:
    subject_type: str
    subject_id: int
    name: str
    email: str | None
    phone: str | None


def normalised_lookup(text: object) -> tuple[str, str]:
    """(kind, stored form) of a typed email or phone; :class:`BadLookup` otherwise."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise BadLookup("Type an email address or a phone number.")
    if len(raw) > 254:
        raise BadLookup("That is too long to be an email address or a phone number.")
    if "@" in raw:
        email = normalise_email(raw)
        if email is None:
            raise BadLookup("That is not a valid email address.")
        return "email", email
    phone = normalise_phone(raw)
    if phone is None:
        raise BadLookup(
            "That is not a phone number we can read (try 082 555 0101 or +27 82 555 0101)."
        )
    return "phone", phone


def find_people(session: Session, role: str | None, text: object) -> list[Person]:
    """Everyone (homeowners, then partners; erased people have no identifiers left) whose
    email or phone is the one typed."""
    require_people(role)
    kind, value = normalised_lookup(text)
    found: list[Person] = []
    for subject_type, model in (("homeowner", Homeowner), ("partner", Partner)):
        column = model.email if kind == "email" else model.phone
        name = (
            (Homeowner.first_name, Homeowner.last_name)
            if model is Homeowner
            else (Partner.business_name, Partner.contact_name)
        )
        rows = session.execute(
            select(model.id, *name, model.email, model.phone)
            .where(column == value, model.erased_at.is_(None))
            .order_by(model.id)
        )
        for subject_id, first, second, email, phone in rows:
            label = " ".join(p for p in (first, second) if p) or f"{subject_type} #{subject_id}"
            found.append(Person(subject_type, subject_id, label, email, phone))
    return found


def consent_history(
    session: Session, role: str | None, subject_type: str, subject_id: int
) -> pd.DataFrame:
    """Every consent event of one subject, oldest first; ``current`` marks the events that
    decide the subject's present state."""
    require_people(role)
    current = {c.event_id for c in consent_of(session, subject_type, subject_id).values()}
    rows = session.execute(
        select(
            ConsentEvent.id,
            ConsentEvent.at,
            ConsentEvent.purpose,
            ConsentEvent.granted,
            ConsentEvent.source,
            ConsentEvent.evidence,
        )
        .where(ConsentEvent.subject_type == subject_type, ConsentEvent.subject_id == subject_id)
        .order_by(ConsentEvent.at, ConsentEvent.id)
    )
    data = [(at, p, bool(g), s, e, i in current) for i, at, p, g, s, e in rows]
    return pd.DataFrame(data, columns=HISTORY_COLUMNS)


def _people_rows(session: Session) -> list[tuple]:
    rows: list[tuple] = []
    purposes = (*MARKETING, "service_contact")
    for subject_type, model in (("homeowner", Homeowner), ("partner", Partner)):
        current = current_events(subject_type=subject_type, purposes=purposes)
        name = (
            (Homeowner.first_name, Homeowner.last_name)
            if model is Homeowner
            else (Partner.business_name, Partner.contact_name)
        )
        query = (
            select(
                current.c.purpose,
                current.c.at,
                model.id,
                *name,
                model.email,
                model.phone,
            )
            .join(model, model.id == current.c.subject_id)
            .where(
                current.c.granted.is_(False),
                model.erased_at.is_(None),
                or_(model.email.isnot(None), model.phone.isnot(None)),
            )
            .order_by(model.id, current.c.purpose)
        )
        for purpose, at, subject_id, first, second, email, phone in session.execute(query):
            label = " ".join(p for p in (first, second) if p)
            reason = "withdrawn" if purpose != "service_contact" else "service contact withdrawn"
            targets = MARKETING if purpose == "service_contact" else (purpose,)
            for target in targets:
                rows.append(
                    ("person", target, reason, at, subject_type, subject_id, label, email,
                     national_form(phone) if phone else None, None)
                )  # fmt: skip
    return rows


def suppression_list(session: Session, role: str | None) -> pd.DataFrame:
    """The marketing suppression list (see the module docstring); a person withdrawn both for
    a purpose and for service contact appears once per purpose."""
    require_people(role)
    entries = [
        ("suppression entry", "all marketing", reason, created, None, None, None, None, None,
         f"{kind}:{digest}")
        for kind, digest, reason, created in session.execute(
            select(Suppression.kind, Suppression.digest, Suppression.reason,
                   Suppression.created_at).order_by(Suppression.created_at, Suppression.id)
        )
    ]  # fmt: skip
    people = _people_rows(session)
    df = pd.DataFrame(entries + people, columns=LIST_COLUMNS)
    df = df.drop_duplicates(subset=["record", "purpose", "subject_type", "subject_id", "digest"])
    return df.reset_index(drop=True)
