"""The one definition of "current consent": the latest event per subject and purpose.

Consent is an append-only log (``consent_event``); nothing stores a person's present state.
The state of a (subject, purpose) at an instant is the event with the greatest ``at`` at or
before that instant; when two events share ``at``, the one with the greater ``id`` (recorded
later) wins, so the answer never depends on the order in which a database returns ties. No
event means "never asked".

Everything that needs a consent state uses this module: the coverage and source-site figures
(:func:`current_events`, the state at one instant for many subjects), the compliance rules
(:func:`state_at`, the state at each of many instants, e.g. each interaction's time) and the
opt-out recording in ``data.privacy.optouts`` (:func:`consent_of`, one subject). Both queries
rank with :data:`LATEST_FIRST` through ``ROW_NUMBER()`` — one set-based statement, no loop per
person — so they cannot disagree on which event is the latest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Subquery, and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.models import ConsentEvent

#: The order that makes an event "the latest": later ``at`` first, then the later-recorded id.
LATEST_FIRST = (ConsentEvent.at.desc(), ConsentEvent.id.desc())
#: The same order read forwards (each event's predecessor, for the rollup's transitions).
EARLIEST_FIRST = (ConsentEvent.at.asc(), ConsentEvent.id.asc())
SUBJECT_KEY = (ConsentEvent.subject_type, ConsentEvent.subject_id, ConsentEvent.purpose)
_SUBJECT = SUBJECT_KEY


def current_events(
    *,
    as_of: datetime | None = None,
    subject_type: str | None = None,
    purposes: Sequence[str] = (),
    subject_ids: Sequence[int] = (),
) -> Subquery:
    """The latest event per (subject_type, subject_id, purpose) at or before ``as_of`` (all
    events when None), optionally for one subject type, some purposes or some subjects.

    Columns: ``event_id, subject_type, subject_id, purpose, granted, at, source, evidence``.
    """
    conditions: list[ColumnElement[bool]] = []
    if as_of is not None:
        conditions.append(ConsentEvent.at <= as_of)
    if subject_type is not None:
        conditions.append(ConsentEvent.subject_type == subject_type)
    if purposes:
        conditions.append(ConsentEvent.purpose.in_(list(purposes)))
    if subject_ids:
        conditions.append(ConsentEvent.subject_id.in_(list(subject_ids)))
    rank = func.row_number().over(partition_by=_SUBJECT, order_by=LATEST_FIRST)
    ranked = (
        select(
            ConsentEvent.id.label("event_id"),
            *_SUBJECT,
            ConsentEvent.granted,
            ConsentEvent.at,
            ConsentEvent.source,
            ConsentEvent.evidence,
            rank.label("rank"),
        )
        .where(*conditions)
        .subquery("ranked_consent")
    )
    columns = [c for c in ranked.c if c.name != "rank"]
    return select(*columns).where(ranked.c.rank == 1).subquery("current_consent")


def state_at(probes: Subquery) -> Subquery:
    """The consent state at each probe's instant, for many probes in one statement.

    ``probes`` must have the columns ``probe_id``, ``subject_type``, ``subject_id``,
    ``purpose`` and ``at`` ((probe_id, purpose) unique). The result has one row per probe that
    has an event at or before its instant: ``probe_id, purpose, granted, event_id, event_at``
    (a probe without a row: never asked).
    An event at exactly the probe's instant counts (it was known by then).
    """
    rank = func.row_number().over(
        partition_by=(probes.c.probe_id, probes.c.purpose), order_by=LATEST_FIRST
    )
    ranked = (
        select(
            probes.c.probe_id,
            probes.c.purpose,
            ConsentEvent.granted,
            ConsentEvent.id.label("event_id"),
            ConsentEvent.at.label("event_at"),
            rank.label("rank"),
        )
        .join(
            ConsentEvent,
            and_(
                ConsentEvent.subject_type == probes.c.subject_type,
                ConsentEvent.subject_id == probes.c.subject_id,
                ConsentEvent.purpose == probes.c.purpose,
                ConsentEvent.at <= probes.c.at,
            ),
        )
        .subquery("ranked_state")
    )
    return (
        select(
            ranked.c.probe_id,
            ranked.c.purpose,
            ranked.c.granted,
            ranked.c.event_id,
            ranked.c.event_at,
        )
        .where(ranked.c.rank == 1)
        .subquery("consent_state")
    )


@dataclass(frozen=True)
class Consent:
    """One subject's current state for one purpose, and the event that set it."""

    purpose: str
    granted: bool
    at: datetime
    source: str
    evidence: str | None
    event_id: int


def consent_of(
    session: Session, subject_type: str, subject_id: int, *, as_of: datetime | None = None
) -> dict[str, Consent]:
    """One subject's current consent: purpose → :class:`Consent` (purposes never asked are
    absent)."""
    current = current_events(as_of=as_of, subject_type=subject_type, subject_ids=(subject_id,))
    rows = session.execute(
        select(
            current.c.purpose,
            current.c.granted,
            current.c.at,
            current.c.source,
            current.c.evidence,
            current.c.event_id,
        )
    ).all()
    return {r[0]: Consent(r[0], bool(r[1]), r[2], r[3], r[4], r[5]) for r in rows}
