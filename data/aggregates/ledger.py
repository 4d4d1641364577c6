"""The export ledger and the differencing rule.

Differencing: two tables whose populations differ by a handful of people give those people's
cells away when one is subtracted from the other, however well each table is suppressed. So
before a table leaves, its population is compared with that of every earlier export:

* the same population (same digest of the sorted homeowner ids) is fine, whatever the breakdown;
* the same period with another population (someone erased, objected or added since) differs by
  ``|n - n_earlier|`` people at least, and by at least 2 when the sizes are equal;
* another period: the number of homeowners in exactly one of the two periods, counted now.

A difference of at least one and fewer than k homeowners is refused (:class:`Refused`), with a
reason that does not say by how many. Refusals go in the audit log too, in their own
transaction, so a refused attempt is on record although nothing was exported.

Exports in the differentially private mode (``data.aggregates.private``) are ledgered with
their mechanism, the ε they spent and the budget year: :func:`epsilon_spent` sums a year's.
They take no part in the differencing check (either way): their noise protects each person
whatever else is known, and the yearly budget bounds what they add up to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from data import audit
from data.aggregates.dimensions import Period
from data.aggregates.models import AggregateExport
from data.aggregates.query import population_difference, population_ids
from data.aggregates.table import AggregateTable, Refused, Spec


class Released(Protocol):
    """What the ledger needs of a released table (exact or differentially private)."""

    @property
    def spec(self) -> Spec: ...

    @property
    def digest(self) -> str: ...


@dataclass(frozen=True)
class Population:
    size: int
    digest: str


@dataclass(frozen=True)
class PrivateSpend:
    """What a differentially private export spent, for its ledger row."""

    mechanism: str
    epsilon: float
    year: int


#: PostgreSQL advisory-lock key serialising the budget check and the ledger row (any constant).
BUDGET_LOCK = 0x14D9


def lock_budget(session: Session) -> None:
    """Serialise budget checks until the transaction ends, so two concurrent exports cannot
    both fit in what remains. PostgreSQL: an advisory transaction lock. SQLite: a write that
    changes nothing takes the database's single write lock now, before the budget is read (a
    second export waits for the first to commit, then reads its row)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BUDGET_LOCK})
    else:
        session.execute(text("UPDATE aggregate_export SET id = id WHERE 0 = 1"))


def epsilon_spent(session: Session, year: int) -> float:
    """The ε the ledger records for ``year`` (Johannesburg calendar year of the export)."""
    query = select(func.coalesce(func.sum(AggregateExport.epsilon), 0.0)).where(
        AggregateExport.budget_year == year
    )
    return float(session.execute(query).scalar_one())


def population_of(session: Session, period: Period) -> Population:
    ids = population_ids(session, period)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    return Population(len(ids), digest)


def _difference(
    session: Session,
    spec: Spec,
    now: Population,
    earlier: AggregateExport,
    cache: dict[Period, int],
) -> int:
    if earlier.population_digest == now.digest:
        return 0
    before = Period(earlier.period_first, earlier.period_last)
    if before == spec.period:
        return abs(now.size - earlier.population) or 2
    if before not in cache:
        cache[before] = population_difference(session, before, spec.period)
    return cache[before]


def check_differencing(session: Session, spec: Spec, now: Population) -> None:
    """Raise :class:`Refused` when ``now`` differs from an earlier export's population by at
    least one and fewer than k homeowners (the larger of the two exports' k)."""
    cache: dict[Period, int] = {}
    earlier: Iterable[AggregateExport] = session.scalars(
        select(AggregateExport)
        .where(AggregateExport.mechanism.is_(None))
        .order_by(AggregateExport.id)
    )
    for row in earlier:
        k = max(spec.k, row.k)
        diff = _difference(session, spec, now, row, cache)
        if 0 < diff < k:
            raise Refused(
                f"Refused (differencing): the homeowners counted in this table differ from "
                f"those of export #{row.id} ({row.at:%Y-%m-%d}) by fewer than k = {k}; the two "
                "side by side could reveal those people. Choose the same period as that export "
                "or one that differs by more."
            )


def record_export(
    session: Session,
    table: AggregateTable | Released,
    population: Population,
    *,
    actor: str,
    fmt: str,
    at: datetime,
    private: PrivateSpend | None = None,
) -> AggregateExport:
    """Add the ledger row, in the caller's transaction (with the export's audit entry)."""
    row = AggregateExport(
        at=at,
        actor=actor,
        format=fmt,
        spec={**table.spec.as_dict(), **({"dp_epsilon": private.epsilon} if private else {})},
        period_first=table.spec.period.first,
        period_last=table.spec.period.last,
        k=table.spec.k,
        population=population.size,
        population_digest=population.digest,
        result_digest=table.digest,
        mechanism=private.mechanism if private else None,
        epsilon=private.epsilon if private else None,
        budget_year=private.year if private else None,
    )
    session.add(row)
    session.flush()
    return row


def record_refusal(actor: str, spec: Spec, reason: str) -> None:
    """Audit a refused export in a transaction of its own (the export's was rolled back)."""
    from data.db import session_scope

    with session_scope() as session:
        audit.record(
            session,
            actor,
            "aggregates.export_refused",
            "aggregate_export",
            None,
            {"spec": spec.as_dict(), "reason": reason.split(":")[0]},
        )
