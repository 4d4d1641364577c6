"""Shared builders for the consent and compliance tests: consent events and interactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from data.models import ConsentEvent, Interaction


def consent(
    session: Session,
    subject_id: int,
    purpose: str,
    granted: bool,
    at: datetime,
    *,
    subject_type: str = "homeowner",
    source: str = "web_form",
    evidence: str | None = None,
) -> ConsentEvent:
    row = ConsentEvent(
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=purpose,
        granted=granted,
        at=at,
        source=source,
        evidence=evidence or f"{source} test evidence",
    )
    session.add(row)
    session.flush()
    return row


def interaction(session: Session, at: datetime, **fields) -> Interaction:
    values = {"channel": "email", "parties": "homeowner-staff", "purpose": "service"}
    row = Interaction(at=at, **{**values, **fields})
    session.add(row)
    session.flush()
    return row
