"""Small row builders for hand-computed test fixtures (not the demo generator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from data.models import (
    Homeowner,
    Lead,
    LeadShare,
    Partner,
    PrivacyRequest,
    Review,
    ServiceType,
    Trade,
)

_ids = count(1)
EPOCH = datetime(2025, 1, 1)


def _insert(session: Session, model: type, values: dict[str, Any], fields: dict[str, Any]) -> Any:
    """Build ``model`` from defaults overridden by ``fields``, add it and flush (ids assigned)."""
    row = model(**{**values, **fields})
    session.add(row)
    session.flush()
    return row


@dataclass
class BaseRows:
    trade: Trade
    service: ServiceType
    homeowner: Homeowner
    partners: list[Partner]


def base_rows(session: Session, partners: int = 3) -> BaseRows:
    """A trade, a service type, a homeowner and ``partners`` vetted partners."""
    trade = Trade(code="plumbing", name="Plumbing")
    service = ServiceType(code="quotation", name="Quotation")
    homeowner = add_homeowner(session)
    session.add_all([trade, service])
    made = [add_partner(session, business_name=f"Partner {i}") for i in range(partners)]
    session.flush()
    return BaseRows(trade, service, homeowner, made)


def add_homeowner(session: Session, **fields: Any) -> Homeowner:
    n = next(_ids)
    values: dict[str, Any] = {
        "first_name": "Thandi",
        "last_name": f"Nkosi{n}",
        "email": f"thandi{n}@example.co.za",
        "phone": f"+2782{n:07d}",
        "suburb": "Sandton",
        "city": "Johannesburg",
        "province": "Gauteng",
        "created_at": EPOCH,
        "last_activity_at": EPOCH,
    }
    return _insert(session, Homeowner, values, fields)


def add_partner(session: Session, **fields: Any) -> Partner:
    n = next(_ids)
    values: dict[str, Any] = {
        "business_name": f"Business {n}",
        "email": f"partner{n}@example.co.za",
        "phone": f"+2711{n:07d}",
        "vetting_status": "vetted",
        "joined_at": EPOCH,
    }
    return _insert(session, Partner, values, fields)


def add_lead(session: Session, rows: BaseRows, **fields: Any) -> Lead:
    values: dict[str, Any] = {
        "homeowner_id": rows.homeowner.id,
        "trade_id": rows.trade.id,
        "service_type_id": rows.service.id,
        "province": "Gauteng",
        "city": "Johannesburg",
        "channel": "organic",
        "created_at": EPOCH,
        "status": "created",
    }
    return _insert(session, Lead, values, fields)


def add_share(
    session: Session, rows: BaseRows, lead: Lead, partner: Partner | None = None, **fields: Any
) -> LeadShare:
    values: dict[str, Any] = {
        "lead_id": lead.id,
        "partner_id": (partner or rows.partners[0]).id,
        "trade_id": lead.trade_id,
        "province": lead.province,
        "shared_at": lead.created_at + timedelta(minutes=5),
    }
    return _insert(session, LeadShare, values, fields)


def add_review(
    session: Session, rows: BaseRows, lead: Lead, partner: Partner | None = None, **fields: Any
) -> Review:
    values: dict[str, Any] = {
        "lead_id": lead.id,
        "partner_id": (partner or rows.partners[0]).id,
        "homeowner_id": lead.homeowner_id,
        "trade_id": lead.trade_id,
        "author_side": "homeowner_about_partner",
        "rating": 4,
        "created_at": lead.created_at + timedelta(days=7),
        "moderation_status": "published",
        "dispute": False,
    }
    return _insert(session, Review, values, fields)


def add_privacy_request(session: Session, **fields: Any) -> PrivacyRequest:
    received = fields.pop("received_at", EPOCH)
    values: dict[str, Any] = {
        "type": "access",
        "channel": "email",
        "given_email": "someone@example.co.za",
        "received_at": received,
        "due_at": received + timedelta(days=30),
        "original_due_at": received + timedelta(days=30),
        "status": "received",
    }
    return _insert(session, PrivacyRequest, values, fields)
