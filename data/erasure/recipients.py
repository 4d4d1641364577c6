"""The partners who received a homeowner's details, listed with every erasure so that the privacy
officer can tell them (POPIA s24(3): whoever deletes personal information must, where reasonably
practicable, inform those it was disclosed to).

A homeowner's details reach a partner when one of their leads is shared with it
(``lead_share``). The list is read before the erasure's statements run (the shares themselves
are kept, de-identified, for the statistics, so it could be read afterwards too, but the
preview and the receipt must agree).

Only ids, counts and days go into the receipt, and so into the audit log. Names and contact
details are read when the list is shown (:func:`contacts`): a partner erased later must not
live on in an old receipt, where the residue scan of that partner's own erasure would find it.
A partner erases only their own data; the homeowners they received leads from are not told,
so a partner subject has no recipients.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Lead, LeadShare, Partner
from data.timeutil import as_date, sa_date


@dataclass(frozen=True)
class Recipient:
    """One partner that received the subject's leads: how many, first and last (SA days)."""

    partner_id: int
    shares: int
    first_shared: date
    last_shared: date

    def as_receipt(self) -> dict[str, Any]:
        return {
            "partner_id": self.partner_id,
            "shares": self.shares,
            "first_shared": self.first_shared.isoformat(),
            "last_shared": self.last_shared.isoformat(),
        }


@dataclass(frozen=True)
class Contact:
    """A recipient as it is on record now, for the officer who tells it."""

    partner_id: int
    business_name: str
    email: str
    phone: str
    shares: int
    first_shared: str
    last_shared: str


def recipients_of(
    session: Session, subject_type: str, subject_ids: Collection[int]
) -> dict[int, tuple[Recipient, ...]]:
    """Per homeowner, every partner a lead of theirs was shared with, by partner id (one
    grouped query for a whole batch)."""
    out: dict[int, list[Recipient]] = {int(i): [] for i in subject_ids}
    if subject_type != "homeowner" or not out:
        return {i: () for i in out}
    rows = session.execute(
        select(
            Lead.homeowner_id,
            LeadShare.partner_id,
            func.count(),
            func.min(LeadShare.shared_at),
            func.max(LeadShare.shared_at),
        )
        .join(Lead, Lead.id == LeadShare.lead_id)
        .where(Lead.homeowner_id.in_(sorted(out)))
        .group_by(Lead.homeowner_id, LeadShare.partner_id)
        .order_by(Lead.homeowner_id, LeadShare.partner_id)
    ).all()
    for owner, pid, n, first, last in rows:
        out[int(owner)].append(Recipient(int(pid), int(n), sa_date(first), sa_date(last)))
    return {i: tuple(found) for i, found in out.items()}


def recipients(session: Session, subject_type: str, subject_id: int) -> tuple[Recipient, ...]:
    """Every partner a lead of the homeowner was shared with, by partner id."""
    return recipients_of(session, subject_type, [subject_id])[subject_id]


def contacts(session: Session, entries: list[dict[str, Any]]) -> list[Contact]:
    """Receipt entries (or :meth:`Recipient.as_receipt` dicts) with each partner's current
    business name, email and phone ("–" once that partner has been erased or is gone)."""
    ids = [int(e["partner_id"]) for e in entries]
    found = {p.id: p for p in session.scalars(select(Partner).where(Partner.id.in_(ids)))}
    out = []
    for entry in entries:
        partner = found.get(int(entry["partner_id"]))
        erased = partner is None or partner.erased_at is not None
        out.append(
            Contact(
                int(entry["partner_id"]),
                "–" if erased else partner.business_name,
                "–" if erased or not partner.email else partner.email,
                "–" if erased or not partner.phone else partner.phone,
                int(entry["shares"]),
                as_date(entry["first_shared"]).isoformat(),
                as_date(entry["last_shared"]).isoformat(),
            )
        )
    return out
