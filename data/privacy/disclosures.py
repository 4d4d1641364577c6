"""The legal disclosures register: personal information released to an authority (police,
courts, the Information Regulator, SARS …), with the reference, the legal basis, what was
released and by whom. Each entry is listed on the subject's request timeline and in their
access package; the audit log records that an entry was made, not its content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from data import audit, submissions
from data.models import Homeowner, LegalDisclosure, Partner, User
from data.privacy.intake import parse_subject_key
from data.privacy.validation import Errors, clean_staff_datetime, clean_text
from data.privacy.workflow import Actor, require_privacy_role
from data.timeutil import utcnow

SUBJECT_REQUIRED = "Find the person the information was about and choose them."
COLUMNS = [
    "id",
    "at",
    "reference",
    "authority",
    "legal_basis",
    "data_released",
    "subject",
    "recorded_by",
]


def record_disclosure(
    session: Session,
    actor: Actor,
    raw: Mapping[str, object],
    now: datetime | None = None,
    *,
    token: str | None = None,
) -> LegalDisclosure:
    """Validate and add one register entry about a subject (``"homeowner:12"``).

    The subject is required: an entry about nobody can never reach the person's timeline or
    access package, which is the register's purpose. ``token`` is the form's one-time token
    (``data.submissions``): the same form sent twice records one entry."""
    now = now or utcnow()
    require_privacy_role(actor)
    claimed = (
        submissions.claim(session, token, "legal_disclosure", actor.username, now)
        if token is not None
        else None
    )
    errors = Errors()
    reference = clean_text(errors, "reference", raw.get("reference"), required=True, max_bytes=80)
    authority = clean_text(errors, "authority", raw.get("authority"), required=True, max_bytes=160)
    basis = clean_text(errors, "legal_basis", raw.get("legal_basis"), required=True)
    released = clean_text(
        errors, "data_released", raw.get("data_released"), required=True, label="data released"
    )
    at = clean_staff_datetime(errors, "at", raw.get("at"), now=now, label="disclosure date")
    subject = None
    subject_raw = raw.get("subject")
    if subject_raw in (None, ""):
        errors.add("subject", SUBJECT_REQUIRED)
    else:
        subject = parse_subject_key(subject_raw)
        if subject is None:
            errors.add("subject", "unknown subject")
        else:
            model = Homeowner if subject[0] == "homeowner" else Partner
            if session.get(model, subject[1]) is None:
                errors.add("subject", "no such subject")
    errors.raise_if_any()
    assert reference and authority and basis and released and at
    entry = LegalDisclosure(
        reference=reference,
        authority=authority,
        legal_basis=basis,
        data_released=released,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        by_user_id=actor.id,
        at=at,
    )
    session.add(entry)
    session.flush()
    if claimed is not None:
        submissions.settle(claimed, "legal_disclosure", entry.id)
    audit.record(
        session,
        actor.username,
        "legal_disclosure.create",
        "legal_disclosure",
        entry.id,
        {"subject_type": entry.subject_type, "subject_id": entry.subject_id},
        at=now,
    )
    return entry


def list_disclosures(
    conn: Connection | Session,
    subject_type: str | None = None,
    subject_id: int | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The register, newest first (optionally for one subject)."""
    query = (
        select(
            LegalDisclosure.id,
            LegalDisclosure.at,
            LegalDisclosure.reference,
            LegalDisclosure.authority,
            LegalDisclosure.legal_basis,
            LegalDisclosure.data_released,
            LegalDisclosure.subject_type,
            LegalDisclosure.subject_id,
            User.username,
        )
        .outerjoin(User, User.id == LegalDisclosure.by_user_id)
        .order_by(LegalDisclosure.at.desc(), LegalDisclosure.id.desc())
        .limit(limit)
    )
    if subject_type is not None and subject_id is not None:
        query = query.where(
            LegalDisclosure.subject_type == subject_type, LegalDisclosure.subject_id == subject_id
        )
    rows = conn.execute(query).all()
    records = [
        {
            "id": r[0],
            "at": r[1],
            "reference": r[2],
            "authority": r[3],
            "legal_basis": r[4],
            "data_released": r[5],
            "subject": f"{r[6]} #{r[7]}" if r[6] else "",
            "recorded_by": r[8] or "",
        }
        for r in rows
    ]
    return pd.DataFrame.from_records(records, columns=COLUMNS)
