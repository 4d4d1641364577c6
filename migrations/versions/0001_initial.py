"""Initial schema: every table of the data model (docs/domain.md), and the audit-log guard trigger.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:55:02.161381
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: UPDATE and DELETE are refused';
END;
$$ LANGUAGE plpgsql
"""
AUDIT_GUARD_TRIGGER = """
CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=40), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_action"), ["action"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_audit_log_object", ["object_type", "object_id"], unique=False
        )

    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_subject",
            ["subject_type", "subject_id", "purpose", "at"],
            unique=False,
        )

    op.create_table(
        "data_meta",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "homeowner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=True),
        sa.Column("last_name", sa.String(length=80), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("whatsapp_opt_in", sa.Boolean(), nullable=False),
        sa.Column("street", sa.String(length=160), nullable=True),
        sa.Column("suburb", sa.String(length=80), nullable=True),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.Column("province", sa.String(length=40), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("property_type", sa.String(length=20), nullable=True),
        sa.Column("source_site", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.Column("legal_hold", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("homeowner", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_homeowner_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_homeowner_last_activity_at"),
            ["last_activity_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_homeowner_phone"), ["phone"], unique=False)

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_address_at", ["address", "at"], unique=False
        )
        batch_op.create_index(
            "ix_login_attempt_username_at", ["username", "at"], unique=False
        )

    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_name", sa.String(length=160), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("whatsapp_opt_in", sa.Boolean(), nullable=False),
        sa.Column("website", sa.String(length=200), nullable=True),
        sa.Column("skills", sa.Text(), nullable=True),
        sa.Column("certifications", sa.Text(), nullable=True),
        sa.Column("working_preferences", sa.Text(), nullable=True),
        sa.Column("biography", sa.Text(), nullable=True),
        sa.Column("payment_token", sa.String(length=64), nullable=True),
        sa.Column("payment_last4", sa.String(length=4), nullable=True),
        sa.Column("vetting_status", sa.String(length=20), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=True),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.Column("legal_hold", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_partner_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_partner_vetting_status"), ["vetting_status"], unique=False
        )

    op.create_table(
        "service_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "trade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("homeowner_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("suburb", sa.String(length=80), nullable=True),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["homeowner_id"],
            ["homeowner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trade.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_created_trade_province",
            ["created_at", "trade_id", "province"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_lead_homeowner_id"), ["homeowner_id"], unique=False
        )

    op.create_table(
        "legal_disclosure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("authority", sa.String(length=160), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("data_released", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "partner_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner_area", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_area_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_trade",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trade.id"],
        ),
        sa.PrimaryKeyConstraint("partner_id", "trade_id"),
    )
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("given_name", sa.String(length=160), nullable=True),
        sa.Column("given_email", sa.String(length=254), nullable=True),
        sa.Column("given_phone", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("subject_type", sa.String(length=20), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("no_record_found", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("original_due_at", sa.DateTime(), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extension_notice_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("verification_method", sa.String(length=30), nullable=True),
        sa.Column("verification_outcome", sa.String(length=20), nullable=True),
        sa.Column("verification_evidence", sa.Text(), nullable=True),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("denial_reason", sa.String(length=40), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("response_text", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["privacy_request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_privacy_request_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("homeowner_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("parties", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("recording_ref", sa.String(length=200), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["homeowner_id"],
            ["homeowner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interaction_homeowner_id"), ["homeowner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interaction_lead_id"), ["lead_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interaction_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "lead_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_event_lead_id"), ["lead_id"], unique=False
        )

    op.create_table(
        "lead_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("shared_at", sa.DateTime(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=True),
        sa.Column("response", sa.String(length=10), nullable=True),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(), nullable=True),
        sa.Column("quoted_at", sa.DateTime(), nullable=True),
        sa.Column("quote_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("hired_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("partner_was_prospective", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trade.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "partner_id", name="uq_lead_share_lead_partner"),
    )
    with op.batch_alter_table("lead_share", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_share_partner_shared", ["partner_id", "shared_at"], unique=False
        )
        batch_op.create_index(
            "ix_lead_share_shared_trade_province",
            ["shared_at", "trade_id", "province"],
            unique=False,
        )

    op.create_table(
        "privacy_request_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_request_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_request_note_request_id"),
            ["request_id"],
            unique=False,
        )

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("homeowner_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("author_side", sa.String(length=30), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=True),
        sa.Column("timeliness", sa.SmallInteger(), nullable=True),
        sa.Column("value", sa.SmallInteger(), nullable=True),
        sa.Column("communication", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("moderation_status", sa.String(length=20), nullable=False),
        sa.Column("dispute", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["homeowner_id"],
            ["homeowner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trade.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_homeowner_id"), ["homeowner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_lead_id"), ["lead_id"], unique=False
        )
        batch_op.create_index(
            "ix_review_partner_created", ["partner_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_review_trade_created", ["trade_id", "created_at"], unique=False
        )

    if _is_postgresql():
        op.execute(AUDIT_GUARD_FUNCTION)
        op.execute(AUDIT_GUARD_TRIGGER)


def downgrade() -> None:
    if _is_postgresql():
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index("ix_review_trade_created")
        batch_op.drop_index("ix_review_partner_created")
        batch_op.drop_index(batch_op.f("ix_review_lead_id"))
        batch_op.drop_index(batch_op.f("ix_review_homeowner_id"))

    op.drop_table("review")
    with op.batch_alter_table("privacy_request_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_request_note_request_id"))

    op.drop_table("privacy_request_note")
    with op.batch_alter_table("lead_share", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_share_shared_trade_province")
        batch_op.drop_index("ix_lead_share_partner_shared")

    op.drop_table("lead_share")
    with op.batch_alter_table("lead_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_event_lead_id"))

    op.drop_table("lead_event")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_partner_id"))
        batch_op.drop_index(batch_op.f("ix_interaction_lead_id"))
        batch_op.drop_index(batch_op.f("ix_interaction_homeowner_id"))

    op.drop_table("interaction")
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_request_status_due")

    op.drop_table("privacy_request")
    op.drop_table("partner_trade")
    with op.batch_alter_table("partner_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_area_partner_id"))

    op.drop_table("partner_area")
    op.drop_table("legal_disclosure")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_homeowner_id"))
        batch_op.drop_index("ix_lead_created_trade_province")

    op.drop_table("lead")
    op.drop_table("trade")
    op.drop_table("suppression")
    op.drop_table("setting")
    op.drop_table("service_type")
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_vetting_status"))
        batch_op.drop_index(batch_op.f("ix_partner_phone"))
        batch_op.drop_index(batch_op.f("ix_partner_email"))

    op.drop_table("partner")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_username_at")
        batch_op.drop_index("ix_login_attempt_address_at")

    op.drop_table("login_attempt")
    with op.batch_alter_table("homeowner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_homeowner_phone"))
        batch_op.drop_index(batch_op.f("ix_homeowner_last_activity_at"))
        batch_op.drop_index(batch_op.f("ix_homeowner_email"))

    op.drop_table("homeowner")
    op.drop_table("data_meta")
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_subject")

    op.drop_table("consent_event")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_object")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
    op.drop_table("app_user")
