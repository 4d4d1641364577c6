"""Tables owned by the privacy desk (migration 0003), kept out of ``data/models.py``.

``privacy_correction`` holds the before/after values of a correction request. They are personal
information, which is why they live here and not in the audit log (whose ``details`` never hold
raw PII): the audit entry names the fields, this table holds the values, and erasure or the
closed-request retention sweep can null them like any other identifier.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from data.models import AuditLog, Base, Homeowner, PrivacyRequest


class PrivacyCorrection(Base):
    """One corrected field of a subject, made while fulfilling a correction request."""

    __tablename__ = "privacy_correction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_request.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    before_value: Mapped[str | None] = mapped_column(Text)
    after_value: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


# Duplicate detection and the access package look requests up by subject and type.
Index(
    "ix_privacy_request_subject",
    PrivacyRequest.subject_type,
    PrivacyRequest.subject_id,
    PrivacyRequest.type,
)

# Filtering the audit log by actor, and listing its distinct actors (migration 0003).
Index("ix_audit_log_actor_at", AuditLog.actor, AuditLog.at)

# Intake matches homeowners by lower-cased full name (migration 0003).
Index("ix_homeowner_name_lower", func.lower(Homeowner.last_name), func.lower(Homeowner.first_name))
