"""Erasing one homeowner with a typical history (two to four leads, their shares, reviews and
interactions), as the request page and ``flask erase`` do: the statements alone, and with the
residue scan that proves nothing is left (issue 13's target: ≤ 1 s at 1M leads, scan included).

Each repetition erases the next of a handful of such homeowners inside a transaction that is
then rolled back, so the database is unchanged and no repetition profits from another's cache.

The retention sweep's rate (issue 13: ≥ 1 000 subjects a minute) is timed as one batch of the
sweep (:data:`BATCH_SIZES` homeowners erased set-wise, then one residue scan over all their
identifiers, exactly the sweep's ``homeowners`` rule), also rolled back: the subjects a minute
are ``60 × batch size / seconds``, and the batch's time is how long its transaction holds the
write lock (readers are not blocked at all: WAL on SQLite, MVCC on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import cycle
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benchmarks.cases import BenchContext, Case
from data.erasure.execute import blockers_of, erase_subject
from data.erasure.retention import DEFAULT_BATCH, _erase_homeowners
from data.models import Homeowner, Lead
from data.timeutil import utcnow

SUBJECTS = 12
#: Batches the sweep cases cycle through (each rolled back).
BATCHES = 3
#: The sweep's default batch, and a larger one (``flask retention-sweep --batch-size``).
BATCH_SIZES = (DEFAULT_BATCH, 500)


def typical_homeowners(ctx: BenchContext, wanted: int = SUBJECTS) -> list[int]:
    """Homeowners (not erased, not blocked) with two to four leads, from the newest."""
    with Session(ctx.engine) as session:
        candidates = session.scalars(
            select(Lead.homeowner_id)
            .join(Homeowner, Homeowner.id == Lead.homeowner_id)
            .where(Homeowner.erased_at.is_(None), Homeowner.email.is_not(None))
            .group_by(Lead.homeowner_id)
            .having(func.count().between(2, 4))
            .order_by(Lead.homeowner_id.desc())
            .limit(wanted * 2)
        ).all()
        blocked = blockers_of(session, "homeowner", candidates)
        return [h for h in candidates if not blocked[h]][:wanted]


def _erasing(ctx: BenchContext, subjects: list[int], verify: bool) -> Callable[[], Any]:
    upcoming = cycle(subjects)

    def run() -> Any:
        with Session(ctx.engine) as session:
            try:
                return erase_subject(session, "homeowner", next(upcoming), verify=verify)
            finally:
                session.rollback()

    return run


def _sweeping(ctx: BenchContext, subjects: list[int], size: int) -> Callable[[], Any]:
    batches = cycle([subjects[i : i + size] for i in range(0, len(subjects), size)])

    def run() -> Any:
        with Session(ctx.engine) as session:
            try:
                return _erase_homeowners(session, next(batches), utcnow(), None)
            finally:
                session.rollback()

    return run


def cases(ctx: BenchContext) -> list[Case]:
    subjects = typical_homeowners(ctx)
    if not subjects:
        return []
    found = typical_homeowners(ctx, max(BATCH_SIZES) * BATCHES)
    return [
        Case("erasure.homeowner, statements", "typical history", _erasing(ctx, subjects, False)),
        Case("erasure.homeowner, with scan", "typical history", _erasing(ctx, subjects, True)),
        *(
            Case(
                f"retention.sweep batch of {size}",
                "typical history",
                _sweeping(ctx, found[: size * BATCHES], size),
            )
            for size in BATCH_SIZES
        ),
    ]
