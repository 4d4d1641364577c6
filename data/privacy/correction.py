"""Correction requests: edit a subject's contact and profile fields with before/after recorded,
and list the partners that received the old details so they can be told (POPIA s24(3)).

The before/after values go to ``privacy_correction`` (they are personal information); the audit
log records which fields changed. Values are validated and normalised like intake identifiers
(emails lower-cased, South African phones as ``+27…``) because matching relies on that form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.geography import PROVINCE_NAMES
from data.identifiers import normalise_email, normalise_phone
from data.models import GENDERS, PROPERTY_TYPES, Homeowner, Lead, LeadShare, Partner
from data.privacy.models import PrivacyCorrection
from data.privacy.validation import Errors, ValidationError, clean_text, looks_like_email
from data.privacy.workflow import Actor, begin_transition, log_transition
from data.timeutil import utcnow


@dataclass(frozen=True)
class FieldSpec:
    """A correctable field: how to validate it and whether it may be cleared."""

    name: str
    label: str
    kind: str = "text"  # text | email | phone | choice | year
    max_bytes: int = 80
    choices: tuple[str, ...] = ()
    required: bool = False


HOMEOWNER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("first_name", "First name"),
    FieldSpec("last_name", "Last name"),
    FieldSpec("email", "Email", "email", 254),
    FieldSpec("phone", "Phone", "phone", 40),
    FieldSpec("street", "Street address", max_bytes=160),
    FieldSpec("suburb", "Suburb"),
    FieldSpec("city", "City"),
    FieldSpec("province", "Province", "choice", choices=PROVINCE_NAMES),
    FieldSpec("postal_code", "Postal code", max_bytes=10),
    FieldSpec("birth_year", "Birth year", "year"),
    FieldSpec("gender", "Gender", "choice", choices=GENDERS),
    FieldSpec("property_type", "Property type", "choice", choices=PROPERTY_TYPES),
)
PARTNER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("business_name", "Business name", max_bytes=160, required=True),
    FieldSpec("contact_name", "Contact person", max_bytes=120),
    FieldSpec("email", "Email", "email", 254),
    FieldSpec("phone", "Phone", "phone", 40),
    FieldSpec("website", "Website", max_bytes=200),
    FieldSpec("province", "Province", "choice", choices=PROVINCE_NAMES),
    FieldSpec("city", "City"),
)


def correctable_fields(subject_type: str) -> tuple[FieldSpec, ...]:
    return HOMEOWNER_FIELDS if subject_type == "homeowner" else PARTNER_FIELDS


def _subject(session: Session, subject_type: str, subject_id: int) -> Homeowner | Partner | None:
    model = Homeowner if subject_type == "homeowner" else Partner
    return session.get(model, subject_id)


def current_values(session: Session, subject_type: str, subject_id: int) -> dict[str, Any]:
    """The subject's correctable fields as they are now (prefills the correction form)."""
    subject = _subject(session, subject_type, subject_id)
    if subject is None:
        return {}
    return {spec.name: getattr(subject, spec.name) for spec in correctable_fields(subject_type)}


def _clean_value(errors: Errors, spec: FieldSpec, value: object, now: datetime) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and spec.kind == "year":
        value = str(value)
    text = clean_text(errors, spec.name, value, max_bytes=spec.max_bytes, label=spec.label)
    if spec.name in errors.errors:
        return None
    if text is None:
        if spec.required:
            errors.add(spec.name, f"{spec.label} cannot be empty")
        return None
    if spec.kind == "email":
        if not looks_like_email(text):
            errors.add(spec.name, f"{spec.label} is malformed")
            return None
        return normalise_email(text)
    if spec.kind == "phone":
        phone = normalise_phone(text)
        if phone is None:
            errors.add(spec.name, f"{spec.label} is not a number we accept")
        return phone
    if spec.kind == "choice":
        if text not in spec.choices:
            errors.add(spec.name, f"{spec.label} must be one of: {', '.join(spec.choices)}")
            return None
        return text
    if spec.kind == "year":
        if not text.isdigit() or not 1900 <= int(text) <= now.year:
            errors.add(spec.name, f"{spec.label} must be a year between 1900 and {now.year}")
            return None
        return int(text)
    return text


@dataclass(frozen=True)
class PartnerToTell:
    partner_id: int
    business_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    shares: int
    last_shared_at: datetime


@dataclass(frozen=True)
class CorrectionResult:
    fields: tuple[str, ...]
    partners_to_tell: tuple[PartnerToTell, ...]


def partners_to_tell(session: Session, subject_type: str, subject_id: int) -> list[PartnerToTell]:
    """Partners that received this homeowner's details (through a shared lead). Partners are not
    shared with anyone, so a partner subject has nobody to tell."""
    if subject_type != "homeowner":
        return []
    rows = session.execute(
        select(
            Partner.id,
            Partner.business_name,
            Partner.contact_name,
            Partner.email,
            Partner.phone,
            func.count(LeadShare.id),
            func.max(LeadShare.shared_at),
        )
        .join(LeadShare, LeadShare.partner_id == Partner.id)
        .join(Lead, Lead.id == LeadShare.lead_id)
        .where(Lead.homeowner_id == subject_id, Partner.erased_at.is_(None))
        .group_by(Partner.id, Partner.business_name, Partner.contact_name, Partner.email)
        .group_by(Partner.phone)
        .order_by(func.max(LeadShare.shared_at).desc())
    ).all()
    return [PartnerToTell(*row) for row in rows]


def correct_subject(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    changes: Mapping[str, object],
    now: datetime | None = None,
) -> CorrectionResult:
    """Apply the changed fields of a verified correction request, recording before and after."""
    now = now or utcnow()
    if not isinstance(changes, Mapping):
        raise ValidationError({"fields": "no changes were sent"})
    req = begin_transition(session, request_id, version, actor, "correct", now)
    assert req.subject_type is not None and req.subject_id is not None
    subject = _subject(session, req.subject_type, req.subject_id)
    if subject is None or subject.erased_at is not None:
        raise ValidationError({"fields": "the subject's record no longer exists"})
    specs = {spec.name: spec for spec in correctable_fields(req.subject_type)}
    unknown = sorted(set(changes) - set(specs))
    if unknown:
        raise ValidationError({"fields": f"these fields cannot be corrected: {', '.join(unknown)}"})
    errors = Errors()
    cleaned = {
        name: _clean_value(errors, specs[name], value, now) for name, value in changes.items()
    }
    errors.raise_if_any()
    changed: list[str] = []
    for name, after in cleaned.items():
        before = getattr(subject, name)
        if before == after:
            continue
        session.add(
            PrivacyCorrection(
                request_id=req.id,
                subject_type=req.subject_type,
                subject_id=req.subject_id,
                field=name,
                before_value=None if before is None else str(before),
                after_value=None if after is None else str(after),
                at=now,
                by_user_id=actor.id,
            )
        )
        setattr(subject, name, after)
        changed.append(name)
    if not changed:
        raise ValidationError({"fields": "nothing changed: every value is the same as held"})
    session.flush()
    log_transition(
        session,
        actor,
        "correct",
        req,
        {"subject_type": req.subject_type, "subject_id": req.subject_id, "fields": changed},
        now,
    )
    return CorrectionResult(
        tuple(changed), tuple(partners_to_tell(session, req.subject_type, req.subject_id))
    )


def corrections_of_request(session: Session, request_id: int) -> list[PrivacyCorrection]:
    return list(
        session.scalars(
            select(PrivacyCorrection)
            .where(PrivacyCorrection.request_id == request_id)
            .order_by(PrivacyCorrection.at, PrivacyCorrection.id)
        )
    )
