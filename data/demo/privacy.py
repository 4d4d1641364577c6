"""Privacy requests, their notes, legal disclosures, staff users, and erasures already done.

A realistic handful (about 40 + leads/20,000 requests) built slot by slot, so that every type and
status the privacy desk handles is present: overdue open requests (one a deemed-refused access
request), exactly one extended request, unverified ones closed after 30 days, duplicates linked
to their originals, denials with each reason code, erasure requests blocked by an open review
dispute, two erasure requests ready to carry out (a homeowner with a review, so with leads and
shares, and no blocker), and one homeowner under a legal hold. Completed requests leave their
traces elsewhere (erased homeowners, consent withdrawals), which :class:`PrivacyOutcome` hands
on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np

from data.demo.activity import Reviews
from data.demo.bulk import Cat, TableData
from data.demo.people import Homeowners, Partners, local_phone
from data.demo.timeline import DAY, NAT, Window, seconds
from data.models import DENIAL_REASONS, REQUEST_CHANNELS, REQUEST_STATUSES, REQUEST_TYPES, ROLES

USERNAMES = {
    "admin": "admin",
    "manager": "manager",
    "privacy_officer": "privacy",
    "marketing": "marketing",
}
PRIVACY_USER = 3  # app_user.id of the privacy officer (ids follow ROLES order)
ADMIN_USER = 1
OPEN = ("received", "verifying", "in_progress")
LEGAL_HOLD = "SAPS case CAS 412: preservation notice under s205 Criminal Procedure Act"
EXTENSION_REASON = (
    "Records are held by several partners who must be consulted before the reply "
    "(PAIA s57(1)(b)); the requester was told in writing."
)
MESSAGES = {
    "access": "Please send me a copy of all the personal information you hold about me.",
    "erasure": "Delete my details and everything linked to me from your systems.",
    "correction": "My surname and address on your records are wrong, please correct them.",
    "objection": "I object to receiving any marketing from you or your partners.",
    "service_opt_out": "Stop contacting me and stop sending my details to contractors.",
    "analytics_opt_out": "Do not track me with analytics or advertising cookies.",
}
# The desk's vocabulary (data/privacy/vocabulary.py: VERIFICATION_METHODS / _OUTCOMES).
VERIFICATION_EVIDENCE = {
    "registered_email_reply": "Requester replied from the email address on record.",
    "registered_phone_otp": "One-time code sent to the registered mobile number was confirmed.",
    "document_sighted": "ID document sighted at the office; number checked, no copy kept.",
}
VERIFICATION_METHODS = tuple(VERIFICATION_EVIDENCE)
DENIAL_NOTES = {
    "identity_not_verified": "We could not verify your identity, so we cannot release records.",
    "manifestly_unfounded_or_repeated": "This repeats a request answered in full last month.",
    "legal_obligation_to_retain": "We must keep invoicing records for five years (Tax Act).",
    "legal_hold": "Your records are subject to a legal preservation notice and cannot be erased.",
}
NOTE_TEXTS = (
    "Called the requester to confirm the scope of the request.",
    "Waiting for the partners to confirm what they hold.",
    "Identity check sent; reminder due in 7 days.",
    "Checked all tables for matching email and phone numbers.",
)


@dataclass
class PrivacyOutcome:
    """What completed requests changed elsewhere, for consent and erasure to apply."""

    erased: dict[int, np.datetime64] = field(default_factory=dict)
    service_opt_out: dict[int, np.datetime64] = field(default_factory=dict)
    objection: dict[int, np.datetime64] = field(default_factory=dict)
    analytics_opt_out: dict[int, np.datetime64] = field(default_factory=dict)
    legal_hold: int | None = None
    subjects: set[int] = field(default_factory=set)  # homeowners named in any request


@dataclass
class Slot:
    type: str
    status: str
    age_days: float
    extended: bool = False
    legal_hold: bool = False
    dispute: bool = False
    denial: str | None = None
    duplicate_of: int | None = None  # index into the slot list
    partner: bool = False
    no_record: bool = False
    #: An erasure ready to carry out: a homeowner with a review (so with a lead and shares),
    #: no dispute and no legal hold (the request page's Erasure card, docs/erasure.md).
    ready: bool = False


def _slots(rng: np.random.Generator, total: int) -> list[Slot]:
    slots = [
        Slot("access", "in_progress", 40, extended=True),
        Slot("erasure", "in_progress", 12, legal_hold=True),
        Slot("erasure", "denied", 420, legal_hold=True, denial="legal_hold"),
        Slot("erasure", "verifying", 8, dispute=True),
        Slot("erasure", "received", 3, dispute=True),
        Slot("erasure", "in_progress", 18, dispute=True),
        Slot("erasure", "in_progress", 4, ready=True),
        Slot("erasure", "in_progress", 11, ready=True),
        Slot("access", "received", 38),  # overdue: a deemed refusal
        Slot("objection", "verifying", 35),
        Slot("correction", "in_progress", 33),
        Slot("service_opt_out", "unverified", 90),
        Slot("access", "unverified", 200),
        Slot("erasure", "unverified", 45),
        Slot("access", "denied", 150, denial="identity_not_verified"),
        Slot("access", "denied", 100, denial="manifestly_unfounded_or_repeated"),
        Slot("erasure", "denied", 250, denial="legal_obligation_to_retain"),
        Slot("access", "completed", 300, no_record=True),
        Slot("erasure", "completed", 160, no_record=True),
        Slot("access", "completed", 220, partner=True),
        Slot("correction", "completed", 130, partner=True),
        Slot("objection", "received", 6, partner=True),
        Slot("analytics_opt_out", "verifying", 2),
        Slot("service_opt_out", "in_progress", 9),
    ]
    for kind in REQUEST_TYPES:
        slots.append(Slot(kind, "completed", float(rng.uniform(60, 680))))
    for kind in ("access", "objection", "service_opt_out"):
        original = len(slots)
        slots.append(Slot(kind, "completed", float(rng.uniform(80, 500))))
        slots.append(Slot(kind, "duplicate", slots[original].age_days - 20, duplicate_of=original))
    type_p = np.array((0.25, 0.22, 0.10, 0.18, 0.15, 0.10))
    status_names = ("completed", "received", "verifying", "in_progress", "denied", "unverified")
    status_p = np.array((0.70, 0.07, 0.07, 0.08, 0.03, 0.05))
    while len(slots) < total:
        kind = REQUEST_TYPES[rng.choice(len(REQUEST_TYPES), p=type_p)]
        status = status_names[rng.choice(len(status_names), p=status_p)]
        if status in OPEN:
            age = float(rng.uniform(0.2, 25))
        elif status == "unverified":
            age = float(rng.uniform(31, 700))
        else:
            age = float(rng.uniform(35, 700))
        denial = None
        if status == "denied":
            denial = ("identity_not_verified", "manifestly_unfounded_or_repeated")[
                int(rng.integers(2))
            ]
        slots.append(Slot(kind, status, age, denial=denial))
    return slots


def _given_email(rng: np.random.Generator, email: str) -> str:
    if rng.random() < 0.4:
        local, _, domain = email.partition("@")
        return f"{local.title()}@{domain.title()}"
    return email


def _given_phone(rng: np.random.Generator, phone: str) -> str:
    style = int(rng.integers(3))
    if style == 0:
        return local_phone(phone)
    if style == 1:
        national = phone[3:]
        return f"+27 {national[:2]} {national[2:5]} {national[5:]}"
    return "0" + phone[3:]


@dataclass
class RequestRows:
    rows: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)


def make_privacy(
    rng: np.random.Generator,
    window: Window,
    homeowners: Homeowners,
    partners: Partners,
    reviews: Reviews,
    review_homeowner: np.ndarray,
    total: int,
) -> tuple[TableData, TableData, PrivacyOutcome]:
    """Requests and notes as tables, plus the outcome to apply to consent and erasure."""
    end = window.end
    outcome = PrivacyOutcome()
    used: set[int] = set()
    slots = _slots(rng, total)
    created = homeowners.created_at
    ho_reviews = np.flatnonzero(reviews.side == 0)

    def pick_homeowner(before: np.datetime64, *, idle: bool = False) -> int:
        """A homeowner known before ``before`` (and idle since then, for erasure)."""
        limit = int(np.searchsorted(created, before - np.timedelta64(DAY, "s")))
        for _ in range(200):
            h = int(rng.integers(0, max(limit, 1)))
            if h in used or not created[h] < before - np.timedelta64(DAY, "s"):
                continue
            if idle and not homeowners.last_activity_at[h] < before:
                continue
            used.add(h)
            return h
        raise RuntimeError("demo data too small to pick a privacy-request subject")

    def pick_disputed(before: np.datetime64) -> int:
        """A homeowner whose review (before ``before``) becomes an open dispute."""
        for _ in range(500):
            r = int(ho_reviews[rng.integers(len(ho_reviews))])
            h = int(review_homeowner[r])
            if h in used or not reviews.created_at[r] < before:
                continue
            reviews.dispute[r] = True
            used.add(h)
            return h
        raise RuntimeError("demo data too small to find a reviewed homeowner")

    def pick_reviewed(before: np.datetime64) -> int:
        """A homeowner with an undisputed review before ``before``: an erasure with a history."""
        for _ in range(500):
            r = int(ho_reviews[rng.integers(len(ho_reviews))])
            h = int(review_homeowner[r])
            if h in used or reviews.dispute[r] or not reviews.created_at[r] < before:
                continue
            used.add(h)
            return h
        raise RuntimeError("demo data too small to find a reviewed homeowner")

    legal_hold_subject: int | None = None
    subject_of: list[tuple[str, int] | None] = []
    received: list[np.datetime64] = []
    for slot in slots:
        at = end - seconds(np.asarray(slot.age_days * DAY + rng.uniform(0, 3600 * 8)))
        at = max(at, window.start + np.timedelta64(30 * DAY, "s"))
        received.append(at)
        if slot.no_record:
            subject_of.append(None)
        elif slot.partner:
            joined = np.flatnonzero(partners.joined_at < at)
            subject_of.append(("partner", int(joined[rng.integers(len(joined))])))
        elif slot.duplicate_of is not None:
            subject_of.append(subject_of[slot.duplicate_of])
        elif slot.legal_hold:
            if legal_hold_subject is None:
                first_at = min(received[-1], end - seconds(np.asarray(420 * DAY)))
                legal_hold_subject = pick_homeowner(first_at)
            subject_of.append(("homeowner", legal_hold_subject))
        elif slot.dispute:
            subject_of.append(("homeowner", pick_disputed(at)))
        elif slot.ready:
            subject_of.append(("homeowner", pick_reviewed(at)))
        else:
            idle = slot.type == "erasure" and slot.status == "completed"
            subject_of.append(("homeowner", pick_homeowner(at, idle=idle)))
    outcome.legal_hold = legal_hold_subject
    outcome.subjects = set(used)
    if legal_hold_subject is not None:
        homeowners.legal_hold[legal_hold_subject] = LEGAL_HOLD

    out = RequestRows()
    channel_p = np.array((0.5, 0.12, 0.04, 0.30, 0.04))
    order = np.argsort(np.array(received, dtype="datetime64[s]"), kind="stable")
    new_id = {int(old): new + 1 for new, old in enumerate(order.tolist())}
    last_moment = end - np.timedelta64(60, "s")
    for old in order.tolist():
        slot, subject, rec = slots[old], subject_of[old], received[old]
        due = rec + np.timedelta64(30 * DAY, "s")
        row: dict = {
            "id": new_id[old],
            "type": slot.type,
            "subject_type": None,
            "subject_id": None,
            "no_record_found": slot.no_record,
            "channel": REQUEST_CHANNELS[int(rng.choice(len(REQUEST_CHANNELS), p=channel_p))],
            "received_at": rec,
            "due_at": due,
            "original_due_at": due,
            "extended": False,
            "extension_reason": None,
            "extension_notice_at": None,
            "status": slot.status,
            "verification_method": None,
            "verification_outcome": None,
            "verification_evidence": None,
            "verified_by": None,
            "verified_at": None,
            "assignee_id": None if slot.status == "received" else PRIVACY_USER,
            "denial_reason": slot.denial,
            "resolution_note": None,
            "response_text": None,
            "closed_at": None,
            "duplicate_of_id": None,
            "message": MESSAGES[slot.type],
        }
        if subject is None:
            first = ("Lindiwe", "Pieter", "Sizwe", "Megan")[int(rng.integers(4))]
            last = ("Zungu", "Badenhorst", "Moagi", "Fisher")[int(rng.integers(4))]
            row |= {
                "given_name": f"{first} {last}",
                "given_email": f"{first.lower()}.{last.lower()}@mailbox.co.za",
                "given_phone": None,
            }
        elif subject[0] == "partner":
            p = subject[1]
            row |= {
                "subject_type": "partner",
                "subject_id": p + 1,
                "given_name": partners.contact_name[p],
                "given_email": _given_email(rng, partners.email[p]),
                "given_phone": None,
            }
        else:
            h = subject[1]
            gives = int(rng.choice(3, p=(0.55, 0.30, 0.15)))  # both, email only, phone only
            row |= {
                "subject_type": "homeowner",
                "subject_id": h + 1,
                "given_name": homeowners.full_name(h),
                "given_email": None if gives == 2 else _given_email(rng, homeowners.email[h]),
                "given_phone": None if gives == 1 else _given_phone(rng, homeowners.phone[h]),
            }

        method = VERIFICATION_METHODS[int(rng.integers(len(VERIFICATION_METHODS)))]
        verified_at = min(rec + seconds(np.asarray(rng.uniform(0.2, 5) * DAY)), last_moment)
        if slot.status == "verifying":
            row |= {"verification_method": method, "verification_outcome": "pending"}
        if slot.status in ("in_progress", "completed") or slot.denial in (
            "legal_hold",
            "manifestly_unfounded_or_repeated",
            "legal_obligation_to_retain",
        ):
            row |= {
                "verification_method": method,
                "verification_outcome": "verified",
                "verification_evidence": VERIFICATION_EVIDENCE[method],
                "verified_by": PRIVACY_USER,
                "verified_at": verified_at,
            }
        if slot.extended:
            notice = min(due - seconds(np.asarray(rng.uniform(2, 8) * DAY)), last_moment)
            row |= {
                "extended": True,
                "extension_reason": EXTENSION_REASON,
                "extension_notice_at": max(notice, verified_at),
                "due_at": due + np.timedelta64(30 * DAY, "s"),
            }
        if slot.status == "completed":
            closed = min(verified_at + seconds(np.asarray(rng.uniform(1, 20) * DAY)), last_moment)
            row |= {"closed_at": closed}
            if slot.no_record:
                row |= {"resolution_note": "No record of this person was found in any table."}
            elif slot.type == "access":
                row |= {
                    "resolution_note": "Access package (JSON and report) sent.",
                    "response_text": "Attached is a copy of the personal information we hold.",
                }
            else:
                row |= {"resolution_note": f"{slot.type.replace('_', ' ').capitalize()} done."}
            if subject is not None and subject[0] == "homeowner":
                h = subject[1]
                target = {
                    "erasure": outcome.erased,
                    "service_opt_out": outcome.service_opt_out,
                    "objection": outcome.objection,
                    "analytics_opt_out": outcome.analytics_opt_out,
                }.get(slot.type)
                if target is not None:
                    target[h] = closed
                if slot.type == "erasure":
                    # The request keeps type, dates and outcome only.
                    row |= {
                        "given_name": None,
                        "given_email": None,
                        "given_phone": None,
                        "message": None,
                        "verification_evidence": None,
                    }
        elif slot.status == "denied":
            closed = min(rec + seconds(np.asarray(rng.uniform(2, 25) * DAY)), last_moment)
            if slot.denial == "identity_not_verified":
                row |= {"verification_method": method, "verification_outcome": "failed"}
            row |= {"closed_at": closed, "resolution_note": DENIAL_NOTES[slot.denial or ""]}
        elif slot.status == "unverified":
            row |= {
                "verification_method": method,
                "verification_outcome": "expired",
                "closed_at": min(due, last_moment),
                "resolution_note": "Closed: identity not verified within 30 days.",
            }
        elif slot.status == "duplicate":
            original = new_id[slot.duplicate_of or 0]
            row |= {
                "duplicate_of_id": original,
                "closed_at": min(rec + np.timedelta64(DAY, "s"), last_moment),
                "resolution_note": f"Duplicate of request #{original}; not processed again.",
            }
        out.rows.append(row)

        closes = row["closed_at"] if row["closed_at"] is not None else last_moment
        for _ in range(int(rng.integers(0, 3))):
            span = max((closes - rec).astype(np.int64), 1)
            out.notes.append(
                {
                    "request_id": row["id"],
                    "author_id": PRIVACY_USER,
                    "at": rec + seconds(np.asarray(rng.uniform(0, 1) * span)),
                    "text": NOTE_TEXTS[int(rng.integers(len(NOTE_TEXTS)))],
                }
            )
    out.notes.sort(key=lambda n: (n["at"], n["request_id"]))
    return _request_table(out.rows), _note_table(out.notes), outcome


def _dt(values: list) -> np.ndarray:
    return np.array([NAT if v is None else v for v in values], dtype="datetime64[s]")


def _masked(values: list) -> np.ma.MaskedArray:
    return np.ma.array([0 if v is None else v for v in values], mask=[v is None for v in values])


def _request_table(rows: list[dict]) -> TableData:
    col = {key: [r[key] for r in rows] for key in rows[0]}
    return TableData(
        "privacy_request",
        {
            "id": np.array(col["id"]),
            "type": Cat(np.array([REQUEST_TYPES.index(t) for t in col["type"]]), REQUEST_TYPES),
            "given_name": col["given_name"],
            "given_email": col["given_email"],
            "given_phone": col["given_phone"],
            "message": col["message"],
            "subject_type": col["subject_type"],
            "subject_id": _masked(col["subject_id"]),
            "no_record_found": np.array(col["no_record_found"], dtype=bool),
            "channel": col["channel"],
            "received_at": _dt(col["received_at"]),
            "due_at": _dt(col["due_at"]),
            "original_due_at": _dt(col["original_due_at"]),
            "extended": np.array(col["extended"], dtype=bool),
            "extension_reason": col["extension_reason"],
            "extension_notice_at": _dt(col["extension_notice_at"]),
            "status": Cat(
                np.array([REQUEST_STATUSES.index(s) for s in col["status"]]), REQUEST_STATUSES
            ),
            "verification_method": col["verification_method"],
            "verification_outcome": col["verification_outcome"],
            "verification_evidence": col["verification_evidence"],
            "verified_by": _masked(col["verified_by"]),
            "verified_at": _dt(col["verified_at"]),
            "assignee_id": _masked(col["assignee_id"]),
            "denial_reason": Cat(
                np.array(
                    [
                        len(DENIAL_REASONS) if d is None else DENIAL_REASONS.index(d)
                        for d in col["denial_reason"]
                    ]
                ),
                (*DENIAL_REASONS, None),
            ),
            "resolution_note": col["resolution_note"],
            "response_text": col["response_text"],
            "closed_at": _dt(col["closed_at"]),
            "duplicate_of_id": _masked(col["duplicate_of_id"]),
            "version": np.ones(len(rows), dtype=np.int64),
        },
    )


def _note_table(notes: list[dict]) -> TableData:
    return TableData(
        "privacy_request_note",
        {
            "id": np.arange(1, len(notes) + 1),
            "request_id": np.array([n["request_id"] for n in notes], dtype=np.int64),
            "author_id": np.array([n["author_id"] for n in notes], dtype=np.int64),
            "at": _dt([n["at"] for n in notes]),
            "text": [n["text"] for n in notes],
        },
    )


def make_users(as_of: date, password_hash: str) -> TableData:
    """One account per role, created on ``as_of``; all share the one password hash given."""
    created = np.datetime64(datetime.combine(as_of, time.min), "s")
    return TableData(
        "app_user",
        {
            "id": np.arange(1, len(ROLES) + 1),
            "username": [USERNAMES[r] for r in ROLES],
            "password_hash": [password_hash] * len(ROLES),
            "role": list(ROLES),
            "active": np.ones(len(ROLES), dtype=bool),
            "created_at": np.full(len(ROLES), created),
            "last_login_at": np.full(len(ROLES), NAT),
        },
    )


def make_disclosures(
    window: Window, homeowners: Homeowners, partners: Partners, legal_hold: int | None
) -> TableData:
    """Two disclosures to authorities: police for the held homeowner, SARS for a partner."""
    rows = []
    if legal_hold is not None:
        rows.append(
            (
                "SAPS-CAS-412",
                "South African Police Service",
                "Criminal Procedure Act 51 of 1977, s205 subpoena",
                "Name, phone number and lead history of one homeowner",
                "homeowner",
                legal_hold + 1,
                max(homeowners.created_at[legal_hold], window.end - np.timedelta64(60 * DAY, "s")),
            )
        )
    rows.append(
        (
            "SARS-TAA-46-0193",
            "South African Revenue Service",
            "Tax Administration Act 28 of 2011, s46 request for relevant material",
            "Business details and lead fees of one partner for the tax year",
            "partner",
            1,
            max(partners.joined_at[0], window.end - np.timedelta64(120 * DAY, "s")),
        )
    )
    return TableData(
        "legal_disclosure",
        {
            "id": np.arange(1, len(rows) + 1),
            "reference": [r[0] for r in rows],
            "authority": [r[1] for r in rows],
            "legal_basis": [r[2] for r in rows],
            "data_released": [r[3] for r in rows],
            "subject_type": [r[4] for r in rows],
            "subject_id": np.array([r[5] for r in rows], dtype=np.int64),
            "by_user_id": np.full(len(rows), ADMIN_USER),
            "at": np.array([r[6] for r in rows], dtype="datetime64[s]"),
        },
    )
