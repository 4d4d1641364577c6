"""The consent rollup's tables (derived data, rebuilt from ``consent_event`` and the subject
tables by :mod:`data.consent.rollup`; see there for why they exist and how they stay right).

* ``consent_day``: per South African day, subject type, purpose, channel (the event's source)
  and homeowner source site (``''`` for partners): the opt-ins and opt-outs recorded, and how
  the number of subjects whose current consent is granted / withdrawn changed that day.
* ``consent_population_day``: per day, subject type and site, subjects created minus subjects
  erased (the population coverage is measured against).
* ``consent_rollup_state``: one row; ``version`` is bumped by every write that can change the
  rollup, ``built_version`` is the version the tables were built from.

Also the indexes the compliance rules need on the core tables (``data.compliance``): the
withdrawals of a purpose, marketing interactions and recorded calls in a period, homeowners
created in a period, homeowners by their do-not-contact digests, call recordings still kept
(a partial index: the retention rule's recordings, few among the calls).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base, ConsentEvent, Homeowner, Interaction


class ConsentDay(Base):
    __tablename__ = "consent_day"
    # Coverage and consent by source site sum every day up to the period's end: with this
    # covering index that is an index-only range per subject type (about 40 → 8 ms of CPU
    # on SQLite at 1M leads; migration 0017).
    __table_args__ = (
        Index("ix_consent_day_totals", "subject_type", "purpose", "site", "day",
              "granted_delta", "withdrawn_delta"),
    )  # fmt: skip

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    site: Mapped[str] = mapped_column(String(60), primary_key=True)
    opt_ins: Mapped[int] = mapped_column(Integer)
    opt_outs: Mapped[int] = mapped_column(Integer)
    granted_delta: Mapped[int] = mapped_column(Integer)
    withdrawn_delta: Mapped[int] = mapped_column(Integer)


class ConsentPopulationDay(Base):
    __tablename__ = "consent_population_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    site: Mapped[str] = mapped_column(String(60), primary_key=True)
    delta: Mapped[int] = mapped_column(Integer)


class ConsentRollupState(Base):
    __tablename__ = "consent_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    built_version: Mapped[int] = mapped_column(Integer)


COMPLIANCE_INDEXES = (
    Index("ix_consent_event_purpose_granted_at", ConsentEvent.purpose, ConsentEvent.granted,
          ConsentEvent.at),
    Index("ix_interaction_purpose_at", Interaction.purpose, Interaction.at),
    Index("ix_interaction_recorded_at", Interaction.recorded, Interaction.at),
    # recordings not cleared yet (retention's "recordings" rule, data/erasure/retention.py;
    # migration 0020): without it both databases read every call before the cut-off, 80 ms
    # (PostgreSQL) to 300 ms (SQLite) at 1M leads, for a few hundred references
    Index("ix_interaction_recording_kept", Interaction.at,
          sqlite_where=Interaction.recording_ref.isnot(None),
          postgresql_where=Interaction.recording_ref.isnot(None)),
    Index("ix_homeowner_created_at", Homeowner.created_at),
    # the do-not-contact digests of each homeowner (data.consent.digests, migration 0017)
    Index("ix_homeowner_email_digest", Homeowner.email_digest),
    Index("ix_homeowner_phone_digest", Homeowner.phone_digest),
)  # fmt: skip
