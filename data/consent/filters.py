"""The consent page's filters as one value the data functions take.

Days are South African days: ``start``..``end`` are inclusive calendar days, turned into
stored (UTC) instants with :func:`data.timeutil.start_of` on both ends. ``source`` is the
homeowner's source site; partners have none, so choosing a site leaves partners out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from data.models import CONSENT_PURPOSES, SUBJECT_TYPES
from data.timeutil import start_of

#: Ranges longer than this are bucketed by month, shorter ones by day.
DAILY_UP_TO_DAYS = 92


@dataclass(frozen=True)
class ConsentFilters:
    start: date
    end: date
    subject_type: str | None = None  # "homeowner" | "partner" | None (both)
    purpose: str | None = None
    source: str | None = None  # a homeowner source site

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the range ends before it starts")
        if self.subject_type not in (None, *SUBJECT_TYPES):
            raise ValueError(f"unknown subject type {self.subject_type!r}")
        if self.purpose not in (None, *CONSENT_PURPOSES):
            raise ValueError(f"unknown purpose {self.purpose!r}")

    @property
    def start_at(self) -> datetime:
        return start_of(self.start)

    @property
    def end_before(self) -> datetime:
        """The first instant after the range (exclusive upper bound)."""
        return start_of(self.end + timedelta(days=1))

    @property
    def as_of(self) -> datetime:
        """The instant coverage is measured at: the last one of the range."""
        return self.end_before - timedelta(microseconds=1)

    @property
    def purposes(self) -> tuple[str, ...]:
        return (self.purpose,) if self.purpose else CONSENT_PURPOSES

    @property
    def subject_types(self) -> tuple[str, ...]:
        if self.source is not None:
            return ("homeowner",) if self.subject_type in (None, "homeowner") else ()
        return (self.subject_type,) if self.subject_type else SUBJECT_TYPES

    @property
    def monthly(self) -> bool:
        return (self.end - self.start).days + 1 > DAILY_UP_TO_DAYS
