"""The export ledger (migration 0010): one row per de-identified file that left the console.

It records the exact specification, the size of the population the table counted, a digest of
that population and a digest of the released table, so that (a) anyone can later prove what a
marketing partner received and (b) a new export whose population differs from an earlier one's
by fewer than k people can be refused (differencing, ``data.aggregates.ledger``). The digest of
the population is a SHA-256 over the sorted homeowner ids: it tells whether two populations are
the same without keeping a list of who was in them.

Differentially private exports (``data.aggregates.private``, migration 0019) also record the
mechanism, the ε they spent and the Johannesburg year whose budget they spent it from; the
three are empty for exact (k-suppressed) exports.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base, Homeowner

#: Every table of aggregates leaves out the erased homeowners (``query.excluded_ids``): a few
#: thousand of 800 000 at 1M leads, found through this index instead of a scan of the table.
HOMEOWNER_ERASED_INDEX = Index("ix_homeowner_erased_at", Homeowner.erased_at)


class AggregateExport(Base):
    """One released de-identified table (file or command-line export)."""

    __tablename__ = "aggregate_export"
    __table_args__ = (Index("ix_aggregate_export_period", "period_first", "period_last"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(80))
    format: Mapped[str] = mapped_column(String(10))
    spec: Mapped[dict] = mapped_column(JSON)
    period_first: Mapped[date] = mapped_column(Date)
    period_last: Mapped[date] = mapped_column(Date)
    k: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    population_digest: Mapped[str] = mapped_column(String(64))
    result_digest: Mapped[str] = mapped_column(String(64))
    mechanism: Mapped[str | None] = mapped_column(String(60), nullable=True)
    epsilon: Mapped[float | None] = mapped_column(Float, nullable=True)
    budget_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
