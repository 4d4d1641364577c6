"""SQLAlchemy 2 typed models for the lead/review database.

The schema is created by Alembic (``migrations/``), never by ``create_all`` in production
code paths; the same models run on SQLite and PostgreSQL, so only portable types are used
(strings for enumerations, ``JSON`` for structured details, timezone-naive UTC datetimes).

Enumerated values live in the ``*_VALUES`` tuples below so that forms, demo data and tests
share one definition.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("admin", "manager", "privacy_officer", "marketing")
SERVICE_TYPES = ("quotation", "installation", "certificate", "maintenance")
VETTING_STATUSES = ("prospective", "vetted", "suspended", "offboarded")
LEAD_CHANNELS = ("organic", "paid_search", "sub_brand", "referral", "repeat")
LEAD_STATUSES = (
    "created",
    "shared",
    "contacted",
    "quoted",
    "hired",
    "completed",
    "reviewed",
    "closed",
)
SHARE_RESPONSES = ("accepted", "declined")
SHARE_OUTCOMES = ("won", "lost", "no_response", "cancelled", "open")
INTERACTION_CHANNELS = ("call", "email", "whatsapp")
INTERACTION_PURPOSES = ("quality_control", "training", "dispute", "service", "marketing")
REVIEW_SIDES = ("homeowner_about_partner", "partner_about_homeowner")
MODERATION_STATUSES = ("published", "hidden", "flagged")
CONSENT_PURPOSES = (
    "service_contact",
    "share_with_partners",
    "marketing_email",
    "marketing_phone",
    "marketing_whatsapp",
    "analytics_tracking",
    "ad_cookies",
    "call_recording",
)
CONSENT_SOURCES = ("web_form", "cookie_banner", "email", "phone", "privacy_request")
SUBJECT_TYPES = ("homeowner", "partner")
REQUEST_TYPES = (
    "access",
    "erasure",
    "correction",
    "objection",
    "service_opt_out",
    "analytics_opt_out",
)
REQUEST_STATUSES = (
    "received",
    "verifying",
    "in_progress",
    "completed",
    "denied",
    "unverified",
    "duplicate",
)
REQUEST_CHANNELS = ("email", "phone", "post", "web_form", "in_person")
DENIAL_REASONS = (
    "identity_not_verified",
    "manifestly_unfounded_or_repeated",
    "legal_obligation_to_retain",
    "legal_hold",
)
PROPERTY_TYPES = ("house", "townhouse", "apartment", "farm", "commercial")
GENDERS = ("female", "male", "other")


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


class Trade(Base):
    __tablename__ = "trade"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class ServiceType(Base):
    __tablename__ = "service_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class Homeowner(Base):
    """A person who asked for a job. Identifying fields are nulled or replaced on erasure."""

    __tablename__ = "homeowner"
    # the erasure's one anonymous placeholder (data.erasure.execute.placeholder_homeowner,
    # migration 0021), looked up by every erasure: without it a read of every homeowner
    __table_args__ = (
        Index(
            "ix_homeowner_placeholder",
            "id",
            sqlite_where=text("source_site = 'erased-placeholder'"),
            postgresql_where=text("source_site = 'erased-placeholder'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    # Stored normalised (lower-case email; E.164 phone such as +27821234567) so that
    # privacy-request matching is an index look-up.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    whatsapp_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    street: Mapped[str | None] = mapped_column(String(160))
    suburb: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(80))
    province: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    gender: Mapped[str | None] = mapped_column(String(10))
    property_type: Mapped[str | None] = mapped_column(String(20))
    source_site: Mapped[str] = mapped_column(String(60), default="main")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    legal_hold: Mapped[str | None] = mapped_column(String(200))
    # Keyed HMACs of email and phone (the do-not-contact digests), kept by data.consent.digests
    # so matching new homeowners against the do-not-contact list is a join (issue 15).
    email_digest: Mapped[str | None] = mapped_column(String(64))
    phone_digest: Mapped[str | None] = mapped_column(String(64))


class Partner(Base):
    """A trade business that receives leads. Payment details are a token plus last four digits."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_name: Mapped[str] = mapped_column(String(160))
    contact_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    whatsapp_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    website: Mapped[str | None] = mapped_column(String(200))
    skills: Mapped[str | None] = mapped_column(Text)
    certifications: Mapped[str | None] = mapped_column(Text)
    working_preferences: Mapped[str | None] = mapped_column(Text)
    biography: Mapped[str | None] = mapped_column(Text)
    payment_token: Mapped[str | None] = mapped_column(String(64))
    payment_last4: Mapped[str | None] = mapped_column(String(4))
    vetting_status: Mapped[str] = mapped_column(String(20), index=True)
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(80))
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    legal_hold: Mapped[str | None] = mapped_column(String(200))


class PartnerTrade(Base):
    __tablename__ = "partner_trade"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), primary_key=True)


class PartnerArea(Base):
    """A province (and optionally a city) a partner serves."""

    __tablename__ = "partner_area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    province: Mapped[str] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(80))


class Lead(Base):
    """A job request. Trade, service type, month, province and city survive erasure."""

    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_created_trade_province", "created_at", "trade_id", "province"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    homeowner_id: Mapped[int] = mapped_column(ForeignKey("homeowner.id"), index=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    service_type_id: Mapped[int] = mapped_column(ForeignKey("service_type.id"))
    description: Mapped[str | None] = mapped_column(Text)
    #: ``description`` without contact details or the homeowner's name (``data.redaction``).
    description_redacted: Mapped[str | None] = mapped_column(Text)
    suburb: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(80))
    province: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))


class LeadShare(Base):
    """One (lead, partner) pair. ``trade_id`` and ``province`` copy the lead's (they never change)
    so that partner metrics filter by trade and province without a join."""

    __tablename__ = "lead_share"
    __table_args__ = (
        UniqueConstraint("lead_id", "partner_id", name="uq_lead_share_lead_partner"),
        Index("ix_lead_share_partner_shared", "partner_id", "shared_at"),
        Index("ix_lead_share_shared_trade_province", "shared_at", "trade_id", "province"),
        # The lead-flow operations list: recent shares to prospective partners (migration 0011).
        Index("ix_lead_share_prospective_shared", "partner_was_prospective", "shared_at"),
        # The partner detail page's prospective-leads list (migration 0002).
        Index(
            "ix_lead_share_partner_prospective",
            "partner_id",
            "partner_was_prospective",
            "shared_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    province: Mapped[str] = mapped_column(String(40))
    shared_at: Mapped[datetime] = mapped_column(DateTime)
    viewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    response: Mapped[str | None] = mapped_column(String(10))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(DateTime)
    quoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    quote_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    hired_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    partner_was_prospective: Mapped[bool] = mapped_column(Boolean, default=False)


class LeadEvent(Base):
    """Append-only status transitions of a lead (optionally for one partner)."""

    __tablename__ = "lead_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))


class Interaction(Base):
    """A call, email or WhatsApp message between homeowner, partner and staff."""

    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)
    homeowner_id: Mapped[int | None] = mapped_column(ForeignKey("homeowner.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    parties: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    #: ``notes`` without contact details or the homeowner's name (``data.redaction``).
    notes_redacted: Mapped[str | None] = mapped_column(Text)


class Review(Base):
    """A review in either direction. ``trade_id`` copies the lead's for trade averages."""

    __tablename__ = "review"
    __table_args__ = (
        Index("ix_review_partner_created", "partner_id", "created_at"),
        Index("ix_review_trade_created", "trade_id", "created_at"),
        # The partner detail page's reviews by author side (migration 0002).
        Index("ix_review_partner_side_created", "partner_id", "author_side", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    homeowner_id: Mapped[int] = mapped_column(ForeignKey("homeowner.id"), index=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    author_side: Mapped[str] = mapped_column(String(30))
    rating: Mapped[int] = mapped_column(SmallInteger)
    quality: Mapped[int | None] = mapped_column(SmallInteger)
    timeliness: Mapped[int | None] = mapped_column(SmallInteger)
    value: Mapped[int | None] = mapped_column(SmallInteger)
    communication: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    #: ``comment`` without contact details or the homeowner's name (``data.redaction``).
    comment_redacted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    moderation_status: Mapped[str] = mapped_column(String(20), default="published")
    dispute: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsentEvent(Base):
    """Append-only consent history; current consent is the latest event per subject and purpose."""

    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_subject", "subject_type", "subject_id", "purpose", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(String(400))


class Suppression(Base):
    """Keyed HMAC of a normalised email or phone that must never be contacted or imported again."""

    __tablename__ = "suppression"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PrivacyRequest(Base):
    """A data-subject request and its clock; ``version`` stops two officers acting at once."""

    __tablename__ = "privacy_request"
    __table_args__ = (Index("ix_privacy_request_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    given_name: Mapped[str | None] = mapped_column(String(160))
    given_email: Mapped[str | None] = mapped_column(String(254))
    given_phone: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    subject_type: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    no_record_found: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    original_due_at: Mapped[datetime] = mapped_column(DateTime)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_notice_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    verification_method: Mapped[str | None] = mapped_column(String(30))
    verification_outcome: Mapped[str | None] = mapped_column(String(20))
    verification_evidence: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    denial_reason: Mapped[str | None] = mapped_column(String(40))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    response_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_request.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class PrivacyRequestNote(Base):
    """Internal notes on a request (kept apart from the audit log, which holds no raw text)."""

    __tablename__ = "privacy_request_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_request.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    text: Mapped[str] = mapped_column(Text)


class LegalDisclosure(Base):
    """A disclosure of personal information to an authority."""

    __tablename__ = "legal_disclosure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    authority: Mapped[str] = mapped_column(String(160))
    legal_basis: Mapped[str] = mapped_column(Text)
    data_released: Mapped[str] = mapped_column(Text)
    subject_type: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime)


class AuditLog(Base):
    """Append-only record of every action. ``details`` never holds raw PII.

    On PostgreSQL triggers refuse UPDATE and DELETE (migration 0001) and TRUNCATE (0009). Each
    entry carries the hash of its predecessor and its own hash over its canonical content
    (``data.audit_chain``), so an edit made behind the application's back is found by
    ``flask --app app audit-verify``.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row holding the audit chain's last hash. Every transaction that appends audit
    entries updates it first, which serialises appenders on both databases (a row lock on
    PostgreSQL, the write lock on SQLite), and lets the verifier notice a removed tail."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)


class User(Base):
    """A staff account (table ``app_user``: ``user`` is reserved on PostgreSQL)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Bumped on logout, password reset, role change, deactivation and reactivation; a session
    #: carrying another number is refused (``auth.py``), so copied cookies die with it.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginAttempt(Base):
    """Recent login attempts, for rate limiting per username and per address across workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    success: Mapped[bool] = mapped_column(Boolean)
    #: Refused by the throttle before any password check (``data.throttle``); such attempts
    #: do not grow the address delay. NULL on rows written before migration 0009.
    throttled: Mapped[bool | None] = mapped_column(Boolean)


class Setting(Base):
    """Operational settings (k, retention periods, performance criteria) overriding defaults."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


class DataMeta(Base):
    """Facts about the dataset itself, e.g. the demo data's seed and as-of date."""

    __tablename__ = "data_meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


class SubmissionToken(Base):
    """A form submission already applied (``data.submissions``): each create form carries a
    one-time token, and its primary key makes a second write with the same token impossible,
    whether it comes from a double-click, a retry or two workers at once."""

    __tablename__ = "submission_token"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
