"""The access package: everything held on one subject, as JSON and as a readable HTML report.

Only for an access request whose requester's identity is verified (``workflow.refusal_reason``
decides, from the database row, never from anything the browser sends). Every preview and every
download is written to the audit log with the section counts (no content).

What is included (docs/domain.md, "Access package"): the profile, leads with their descriptions and
status history, which partners received the details and when, interactions and recording
references, reviews by and about the subject, consent history, privacy requests, corrections and
disclosures to authorities. Other people are represented only by a partner's business name (the
recipient the subject is entitled to know); homeowners never appear in a partner's package.
Internal fields are left out: the legal-hold note, payment tokens, staff usernames.

The HTML report escapes every value (``html.escape``) and carries a Content-Security-Policy
that forbids scripts, so text typed by anyone (a lead description holding ``<script>``) is shown
as text wherever the file is opened.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit, subject_rows
from data.models import (
    Base,
    ConsentEvent,
    Homeowner,
    Interaction,
    Lead,
    LeadEvent,
    LeadShare,
    LegalDisclosure,
    Partner,
    PartnerArea,
    PartnerTrade,
    PrivacyRequest,
    Review,
    ServiceType,
    Trade,
)
from data.privacy.models import PrivacyCorrection
from data.privacy.workflow import (
    OBJECT_TYPE,
    Actor,
    NotFound,
    TransitionRefused,
    refusal_reason,
    require_privacy_role,
)
from data.timeutil import utcnow

FORMATS = ("json", "html")

SECTION_TITLES = {
    "profile": "Profile",
    "trades_and_areas": "Trades and service areas",
    "leads": "Job requests (leads)",
    "lead_history": "Status history of the job requests",
    "shares": "Partners who received your details",
    "leads_received": "Job requests shared with you",
    "interactions": "Calls, emails and messages (with recording references)",
    "reviews": "Reviews by and about you",
    "consent_history": "Consent history",
    "privacy_requests": "Privacy requests",
    "corrections": "Corrections made to your details",
    "disclosures": "Disclosures to authorities",
}

HOMEOWNER_PROFILE = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "whatsapp_opt_in",
    "street",
    "suburb",
    "city",
    "province",
    "postal_code",
    "birth_year",
    "gender",
    "property_type",
    "source_site",
    "created_at",
    "last_activity_at",
)
PARTNER_PROFILE = (
    "id",
    "business_name",
    "contact_name",
    "email",
    "phone",
    "whatsapp_opt_in",
    "website",
    "skills",
    "certifications",
    "working_preferences",
    "biography",
    "payment_last4",
    "vetting_status",
    "province",
    "city",
    "joined_at",
)


_Model = TypeVar("_Model", bound=Base)


class PackageRefused(TransitionRefused):
    """The package cannot be built for this request (identity not verified, wrong type …)."""


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {f: _value(getattr(obj, f)) for f in fields}


def _load_allowed(session: Session, request_id: int, actor: Actor) -> PrivacyRequest:
    require_privacy_role(actor)
    req = session.get(PrivacyRequest, request_id)
    if req is None:
        raise NotFound(f"There is no privacy request #{request_id}.")
    reason = refusal_reason(req, "access_package", utcnow())
    if reason is not None:
        raise PackageRefused(reason)
    return req


def _names(session: Session, model: Any, ids: set[int], column: str) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, getattr(model, column)).where(model.id.in_(ids)))
    return {r[0]: r[1] for r in rows}


def _rows(
    session: Session, model: type[_Model], subject_type: str, subject_id: int
) -> list[_Model]:
    """The subject's rows of ``model``'s table, oldest first: which rows, and their order, come
    from the registry (:mod:`data.subjects`), so the package reaches exactly the rows that the
    erasure and the residue scan will."""
    table = model.__table__.name
    query = (
        select(model)
        .where(subject_rows.subject_condition(subject_type, table, subject_id))
        .order_by(*subject_rows.time_order(subject_type, table))
    )
    return list(session.scalars(query).all())


def _homeowner_sections(session: Session, subject_id: int) -> dict[str, list[dict[str, Any]]]:
    person = session.get(Homeowner, subject_id)
    if person is None or person.erased_at is not None:
        raise PackageRefused("The subject's record no longer exists (erased).")
    leads = _rows(session, Lead, "homeowner", subject_id)
    trades = _names(session, Trade, {lead.trade_id for lead in leads}, "name")
    services = _names(session, ServiceType, {lead.service_type_id for lead in leads}, "name")
    shares = _rows(session, LeadShare, "homeowner", subject_id)
    events = _rows(session, LeadEvent, "homeowner", subject_id)
    interactions = _rows(session, Interaction, "homeowner", subject_id)
    reviews = _rows(session, Review, "homeowner", subject_id)
    partner_ids = (
        {s.partner_id for s in shares}
        | {r.partner_id for r in reviews}
        | {i.partner_id for i in interactions if i.partner_id}
    )
    partners = _names(session, Partner, partner_ids, "business_name")
    return {
        "profile": [_row(person, HOMEOWNER_PROFILE)],
        "leads": [
            {
                "lead_id": lead.id,
                "created_at": _value(lead.created_at),
                "trade": trades.get(lead.trade_id),
                "service_type": services.get(lead.service_type_id),
                "description": lead.description,
                "suburb": lead.suburb,
                "city": lead.city,
                "province": lead.province,
                "channel": lead.channel,
                "status": lead.status,
            }
            for lead in leads
        ],
        "lead_history": [
            {
                "lead_id": e.lead_id,
                "partner": partners.get(e.partner_id) if e.partner_id else None,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": _value(e.at),
            }
            for e in events
        ],
        "shares": [
            {
                "lead_id": s.lead_id,
                "partner": partners.get(s.partner_id),
                "shared_at": _value(s.shared_at),
                "viewed_at": _value(s.viewed_at),
                "response": s.response,
                "first_contact_at": _value(s.first_contact_at),
                "quoted_at": _value(s.quoted_at),
                "quote_amount": _value(s.quote_amount),
                "hired_at": _value(s.hired_at),
                "completed_at": _value(s.completed_at),
                "outcome": s.outcome,
            }
            for s in shares
        ],
        "interactions": [_interaction(i, partners) for i in interactions],
        "reviews": [_review(r, partners.get(r.partner_id)) for r in reviews],
    }


def _partner_sections(session: Session, subject_id: int) -> dict[str, list[dict[str, Any]]]:
    partner = session.get(Partner, subject_id)
    if partner is None or partner.erased_at is not None:
        raise PackageRefused("The subject's record no longer exists (erased).")
    trade_names = session.scalars(
        select(Trade.name)
        .join(PartnerTrade, PartnerTrade.trade_id == Trade.id)
        .where(subject_rows.subject_condition("partner", PartnerTrade.__tablename__, subject_id))
        .order_by(Trade.name)
    ).all()
    areas = _rows(session, PartnerArea, "partner", subject_id)
    shares = _rows(session, LeadShare, "partner", subject_id)
    trades = _names(session, Trade, {s.trade_id for s in shares}, "name")
    interactions = _rows(session, Interaction, "partner", subject_id)
    reviews = _rows(session, Review, "partner", subject_id)
    own = {subject_id: partner.business_name}
    return {
        "profile": [_row(partner, PARTNER_PROFILE)],
        "trades_and_areas": [{"trade": t, "province": None, "city": None} for t in trade_names]
        + [{"trade": None, "province": a.province, "city": a.city} for a in areas],
        "leads_received": [
            {
                "lead_id": s.lead_id,
                "trade": trades.get(s.trade_id),
                "province": s.province,
                "shared_at": _value(s.shared_at),
                "viewed_at": _value(s.viewed_at),
                "response": s.response,
                "first_contact_at": _value(s.first_contact_at),
                "quoted_at": _value(s.quoted_at),
                "quote_amount": _value(s.quote_amount),
                "hired_at": _value(s.hired_at),
                "completed_at": _value(s.completed_at),
                "outcome": s.outcome,
                "partner_was_prospective": s.partner_was_prospective,
            }
            for s in shares
        ],
        # Homeowners' words about the partner: their contact details and names are not the
        # partner's to receive, so the stored redacted forms go out (data.free_text).
        "interactions": [_interaction(i, own, redacted=True) for i in interactions],
        "reviews": [_review(r, partner.business_name, redacted=True) for r in reviews],
    }


def _interaction(
    i: Interaction, partners: dict[int, str], *, redacted: bool = False
) -> dict[str, Any]:
    return {
        "at": _value(i.at),
        "channel": i.channel,
        "parties": i.parties,
        "partner": partners.get(i.partner_id) if i.partner_id else None,
        "lead_id": i.lead_id,
        "duration_s": i.duration_s,
        "recorded": i.recorded,
        "recording_ref": i.recording_ref,
        "purpose": i.purpose,
        "notes": i.notes_redacted if redacted else i.notes,
    }


def _review(r: Review, partner: str | None, *, redacted: bool = False) -> dict[str, Any]:
    return {
        "created_at": _value(r.created_at),
        "lead_id": r.lead_id,
        "partner": partner,
        "author_side": r.author_side,
        "rating": r.rating,
        "quality": r.quality,
        "timeliness": r.timeliness,
        "value": r.value,
        "communication": r.communication,
        "comment": r.comment_redacted if redacted else r.comment,
        "moderation_status": r.moderation_status,
        "dispute": r.dispute,
    }


def _common_sections(
    session: Session, subject_type: str, subject_id: int
) -> dict[str, list[dict[str, Any]]]:
    consent = _rows(session, ConsentEvent, subject_type, subject_id)
    requests = _rows(session, PrivacyRequest, subject_type, subject_id)
    corrections = _rows(session, PrivacyCorrection, subject_type, subject_id)
    disclosures = _rows(session, LegalDisclosure, subject_type, subject_id)
    return {
        "consent_history": [
            _row(c, ("purpose", "granted", "at", "source", "evidence")) for c in consent
        ],
        "privacy_requests": [
            _row(
                r,
                (
                    "id",
                    "type",
                    "channel",
                    "received_at",
                    "given_name",
                    "given_email",
                    "given_phone",
                    "message",
                    "due_at",
                    "extended",
                    "status",
                    "denial_reason",
                    "response_text",
                    "closed_at",
                ),
            )
            for r in requests
        ],
        "corrections": [
            _row(c, ("at", "field", "before_value", "after_value")) for c in corrections
        ],
        "disclosures": [
            _row(d, ("at", "reference", "authority", "legal_basis", "data_released"))
            for d in disclosures
        ],
    }


def build_package(session: Session, request_id: int, actor: Actor) -> dict[str, Any]:
    """The package for a verified access request (refused otherwise, see the module doc)."""
    req = _load_allowed(session, request_id, actor)
    assert req.subject_type is not None and req.subject_id is not None
    if req.subject_type == "homeowner":
        sections = _homeowner_sections(session, req.subject_id)
    else:
        sections = _partner_sections(session, req.subject_id)
    sections.update(_common_sections(session, req.subject_type, req.subject_id))
    return {
        "package": {
            "request_id": req.id,
            "subject_type": req.subject_type,
            "subject_id": req.subject_id,
            "generated_at": _value(utcnow()),
            "legal_basis": "POPIA s23 / PAIA: right of access to personal information",
        },
        "sections": sections,
    }


def section_counts(package: dict[str, Any]) -> dict[str, int]:
    return {key: len(rows) for key, rows in package["sections"].items()}


def preview_package(session: Session, request_id: int, actor: Actor) -> dict[str, Any]:
    """The package for showing in the page; the preview is audited like a download."""
    package = build_package(session, request_id, actor)
    audit.record(
        session,
        actor.username,
        "privacy_request.access_package.preview",
        OBJECT_TYPE,
        request_id,
        {"sections": section_counts(package)},
    )
    return package


@dataclass(frozen=True)
class PackageFile:
    filename: str
    content: str
    mime_type: str


def download_package(session: Session, request_id: int, actor: Actor, fmt: str) -> PackageFile:
    """Build, render and audit one download (``fmt`` is ``json`` or ``html``)."""
    if fmt not in FORMATS:
        raise PackageRefused(f"Unknown format {fmt!r}.")
    package = build_package(session, request_id, actor)
    audit.record(
        session,
        actor.username,
        "privacy_request.access_package.download",
        OBJECT_TYPE,
        request_id,
        {"format": fmt, "sections": section_counts(package)},
    )
    stamp = utcnow().strftime("%Y%m%d")
    if fmt == "json":
        return PackageFile(
            f"access-package-request-{request_id}-{stamp}.json",
            to_json(package),
            "application/json",
        )
    return PackageFile(
        f"access-package-request-{request_id}-{stamp}.html", render_html(package), "text/html"
    )


def to_json(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False, indent=2, sort_keys=False)


# --- the readable report ---------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#212529}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dee2e6}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #dee2e6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}td{white-space:pre-wrap;word-break:break-word}.empty{color:#6c757d}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value), quote=True)


def _label(key: str) -> str:
    return html.escape(key.replace("_", " ").capitalize())


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<p class="empty">Nothing held.</p>'
    columns = list(rows[0])
    head = "".join(f"<th>{_label(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _definition_list(row: dict[str, Any]) -> str:
    items = "".join(f"<dt>{_label(k)}</dt><dd>{_cell(v)}</dd>" for k, v in row.items())
    return f"<dl>{items}</dl>"


def render_html(package: dict[str, Any]) -> str:
    """A self-contained HTML report; every value is escaped and scripts are forbidden by CSP."""
    meta = package["package"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Personal information held · request {_cell(meta['request_id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Personal information we hold about you</h1>",
        f"<p>Prepared for privacy request #{_cell(meta['request_id'])} on "
        f"{_cell(meta['generated_at'])} (UTC). {_cell(meta['legal_basis'])}.</p>",
    ]
    for key, rows in package["sections"].items():
        title = SECTION_TITLES.get(key, key.replace("_", " ").capitalize())
        parts.append(f'<h2 id="{html.escape(key)}">{html.escape(title)} ({len(rows)})</h2>')
        if key == "profile" and len(rows) == 1:
            parts.append(_definition_list(rows[0]))
        else:
            parts.append(_table(rows))
    parts.append("</body></html>")
    return "\n".join(parts)
