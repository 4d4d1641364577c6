"""Lead-flow rollups: per creation day and lead "cell", how far the day's leads got, and their
status transitions (the lead-flow page, :mod:`data.leadflow`).

Why: every number of the lead-flow page is about the leads *created* in a period (the funnel,
the cohorts, the time to first contact, the Sankey). Counting them from the base tables means
visiting each lead's shares, reviews and events: seconds at 1M leads. Here each lead is counted
once, on the South African day it was created (``data.sqlfuncs.day_of``), with the steps it
reached within :data:`WINDOW_DAYS` of its creation and a histogram of the time each step took.

Tables ("levels"), so that a look-up never visits more rows than its filters need:

* ``rollup_flow_{level}``: counts per day and the level's keys; the finest level (``full``) has
  every filter dimension of the page, the coarser ones are sums of it.
* ``rollup_flow_trans_{level}``: status transitions (``from`` → ``to``, in the order of the
  events' times, whatever order they were written in) of the leads created that day; only the
  two coarse levels (finer ones would hold millions of rows); other filters are counted from the
  base tables (:func:`transition_source`).

Maintenance, like ``rollup_lead_day``: a day's rows are recounted from the base tables (about
1 400 leads at 1M) whenever a lead created that day, or one of its shares, reviews or events,
is written through a session (:func:`lead_ids_touched` after each flush, :func:`recount_flow_days`
before the commit, in the writer's transaction); :func:`rebuild_lead_flow` recounts everything
after bulk loads. A day's change is a delete and an insert per level; on PostgreSQL a
transaction-scoped advisory lock per day serialises two writers of the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from data.models import Base, Homeowner, Lead, LeadEvent, LeadShare, Review
from data.sqlfuncs import day_of, minutes_between
from data.timeutil import sa_date, start_of

#: A step counts only if it happened within this many days of the lead's creation.
WINDOW_DAYS = 30
WINDOW_MINUTES = WINDOW_DAYS * 1440
#: Upper bounds (minutes, inclusive) of the time histograms; the last bucket is open-ended.
#: 60 and 1440 are bounds so that "within 1 h / 24 h" are exact sums of buckets.
TIME_BOUNDS: tuple[int, ...] = (15, 60, 240, 720, 1440, 2880, 4320, 7200, 10080, 20160, 43200)
N_BUCKETS = len(TIME_BOUNDS) + 1
#: Funnel steps in order; each is the count column of the leads that reached it.
STEPS: tuple[str, ...] = (
    "leads",
    "shared",
    "contacted",
    "quoted",
    "hired",
    "completed",
    "reviewed",
)
#: Histograms: the time of each step after the previous one (``h_shared`` … ``h_reviewed``),
#: from creation to the first contact (``h_first_contact``) and to the hire (``h_to_hire``).
HISTOGRAMS: tuple[str, ...] = (*(f"h_{s}" for s in STEPS[1:]), "h_first_contact", "h_to_hire")
FLAGS: tuple[str, ...] = (*STEPS, "prospective")
FLOW_COUNTS: tuple[str, ...] = (
    *FLAGS,
    *(f"{h}_{i}" for h in HISTOGRAMS for i in range(N_BUCKETS)),
)

#: Levels, coarsest first (a query reads the first level holding its filters and grouping):
#: the key columns after ``day``.
_SINGLE: dict[str, tuple[str, ...]] = {
    "trade": ("trade_id",),
    "province": ("province",),
    "channel": ("channel",),
    "service": ("service_type_id",),
    "site": ("source_site",),
}
FLOW_LEVELS: dict[str, tuple[str, ...]] = {
    "all": (),
    **_SINGLE,
    "trade_channel": ("trade_id", "channel"),
    "province_channel": ("province", "channel"),
    "trade_province": ("trade_id", "province"),
    "trade_province_channel": ("trade_id", "province", "channel"),
    "full": ("trade_id", "province", "channel", "service_type_id", "source_site"),
}
#: Transitions have no finer levels: per lead "cell" they would be millions of rows.
TRANSITION_LEVELS: dict[str, tuple[str, ...]] = {
    "all": (),
    **_SINGLE,
    "trade_province": ("trade_id", "province"),
}
DIMENSIONS = FLOW_LEVELS["full"]
START = ""  # the ``from_status`` of a lead's first event
_KEY_TYPES: dict[str, Any] = {
    "trade_id": Integer,
    "service_type_id": Integer,
    "province": lambda: String(40),
    "channel": lambda: String(20),
    "source_site": lambda: String(60),
    "from_status": lambda: String(20),
    "to_status": lambda: String(20),
}


def _table(name: str, keys: Sequence[str], counts: Sequence[str]) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("day", Date, primary_key=True),
        *(Column(k, _KEY_TYPES[k](), primary_key=True) for k in keys),
        *(Column(c, Integer, nullable=False) for c in counts),
        sqlite_with_rowid=False,
    )


FLOW_TABLES: dict[str, Table] = {
    level: _table(f"rollup_flow_{level}", keys, FLOW_COUNTS) for level, keys in FLOW_LEVELS.items()
}
TRANSITION_TABLES: dict[str, Table] = {
    level: _table(f"rollup_flow_trans_{level}", (*keys, "from_status", "to_status"), ("n",))
    for level, keys in TRANSITION_LEVELS.items()
}

# --- counting from the base tables --------------------------------------------------------------


def _bucket(minutes: Any) -> Any:
    """The histogram bucket of a duration (negative durations, from events written out of
    order, count as the first bucket)."""
    return case(
        *((minutes <= bound + 1e-4, i) for i, bound in enumerate(TIME_BOUNDS)),
        else_=len(TIME_BOUNDS),
    )


def _lead_times(where: Any = None) -> Any:
    """One row per lead (filtered by ``where`` on ``lead``): its dimensions, whether it was
    shared with a prospective partner, and the minutes from its creation to the first time
    each step happened (``NULL``: never). Materialised, so that the minutes are computed once
    per lead rather than once per histogram column that reads them."""
    wanted = None if where is None else select(Lead.id).where(where)
    shares = select(
        LeadShare.lead_id.label("lead_id"),
        func.min(LeadShare.shared_at).label("shared"),
        func.min(LeadShare.first_contact_at).label("contacted"),
        func.min(LeadShare.quoted_at).label("quoted"),
        func.min(LeadShare.hired_at).label("hired"),
        func.min(LeadShare.completed_at).label("completed"),
        func.max(case((LeadShare.partner_was_prospective, 1), else_=0)).label("prospective"),
    )
    reviews = select(
        Review.lead_id.label("lead_id"), func.min(Review.created_at).label("reviewed")
    ).where(Review.author_side == "homeowner_about_partner")
    if wanted is not None:
        # a day's recount: aggregate only that day's leads' shares and reviews
        shares = shares.where(LeadShare.lead_id.in_(wanted))
        reviews = reviews.where(Review.lead_id.in_(wanted))
    shares = shares.group_by(LeadShare.lead_id).subquery("s")
    reviews = reviews.group_by(Review.lead_id).subquery("r")
    at = {
        "shared": shares.c.shared,
        "contacted": shares.c.contacted,
        "quoted": shares.c.quoted,
        "hired": shares.c.hired,
        "completed": shares.c.completed,
        "reviewed": reviews.c.reviewed,
    }
    query = (
        select(
            day_of(Lead.created_at).label("day"),
            Lead.trade_id,
            Lead.province,
            Lead.channel,
            Lead.service_type_id,
            Homeowner.source_site,
            func.coalesce(shares.c.prospective, 0).label("prospective"),
            *(minutes_between(Lead.created_at, value).label(step) for step, value in at.items()),
        )
        .select_from(Lead)
        .join(Homeowner, Homeowner.id == Lead.homeowner_id)
        .outerjoin(shares, shares.c.lead_id == Lead.id)
        .outerjoin(reviews, reviews.c.lead_id == Lead.id)
    )
    if where is not None:
        query = query.where(where)
    return query.cte("lead_times").prefix_with("MATERIALIZED")


def _lead_steps(where: Any = None) -> Any:
    """One row per lead: its dimensions, a 0/1 flag per step reached (within the window, and
    nested: a step counts only when every earlier one does) and the histogram bucket of each
    duration (``NULL`` when not reached). Materialised like :func:`_lead_times`, so that the
    sums over them compare small integers."""
    t = _lead_times(where).c
    reached: dict[str, Any] = {}
    previous: Any = None
    for step in STEPS[1:]:
        inside = and_(t[step].is_not(None), t[step] <= WINDOW_MINUTES)
        reached[step] = inside if previous is None else and_(previous, inside)
        previous = reached[step]
    columns: list[Any] = [*(t[k] for k in ("day", *DIMENSIONS)), t.prospective]
    before: Any = literal(0.0)
    for step in STEPS[1:]:
        columns.append(case((reached[step], 1), else_=0).label(step))
        columns.append(case((reached[step], _bucket(t[step] - before))).label(f"h_{step}"))
        before = t[step]
    first_contact = and_(t.contacted.is_not(None), t.contacted <= WINDOW_MINUTES)
    columns.append(case((first_contact, _bucket(t.contacted))).label("h_first_contact"))
    columns.append(case((reached["hired"], _bucket(t.hired))).label("h_to_hire"))
    return select(*columns).cte("lead_steps").prefix_with("MATERIALIZED")


def flow_source(keys: Sequence[str] = ("day", *DIMENSIONS), where: Any = None) -> Any:
    """The flow counts grouped by ``keys``, straight from the base tables (what the rollups
    hold; also the oracle the tests compare with). ``where`` filters ``lead``.

    A step counts when it happened within the window and every earlier step did too (nested);
    its duration is the time since the previous step (since creation for "shared")."""
    c = _lead_steps(where).c
    counts: list[Any] = [func.count().label("leads")]
    counts += [func.coalesce(func.sum(c[f]), 0).label(f) for f in FLAGS[1:]]
    for hist in HISTOGRAMS:
        counts += [
            func.coalesce(func.sum(case((c[hist] == i, 1), else_=0)), 0).label(f"{hist}_{i}")
            for i in range(N_BUCKETS)
        ]
    group = [c[k] for k in keys]
    return select(*group, *counts).group_by(*group)


def _transition_events(where: Any = None) -> Any:
    """One row per event of the leads matching ``where`` (on ``lead``): the lead's creation
    day and dimensions, the status before the event (``START`` for the first, by time) and the
    status it recorded."""
    previous = func.lag(LeadEvent.to_status).over(
        partition_by=LeadEvent.lead_id, order_by=(LeadEvent.at, LeadEvent.id)
    )
    events = (
        select(
            day_of(Lead.created_at).label("day"),
            Lead.trade_id,
            Lead.province,
            Lead.channel,
            Lead.service_type_id,
            Homeowner.source_site,
            func.coalesce(previous, START).label("from_status"),
            LeadEvent.to_status.label("to_status"),
        )
        .select_from(LeadEvent)
        .join(Lead, Lead.id == LeadEvent.lead_id)
        .join(Homeowner, Homeowner.id == Lead.homeowner_id)
    )
    return events if where is None else events.where(where)


def transition_source(keys: Sequence[str] = ("day",), where: Any = None) -> Any:
    """Status transitions of the leads (filtered by ``where`` on ``lead``) grouped by ``keys``
    and (from, to): each event's ``from`` is the status of the lead's previous event by time
    (``START`` for its first), whatever order the events were written in."""
    e = _transition_events(where).subquery("events")
    group = [e.c[k] for k in (*keys, "from_status", "to_status")]
    return select(*group, func.count().label("n")).group_by(*group)


# --- rebuild and recount ------------------------------------------------------------------------
#
# Where a rebuild's time goes: the finest flow level has about one row per lead (a day's leads
# rarely share all five dimensions) and 115 count columns, and SQLite spends ~100 ns per
# aggregated column and row, so summing the levels column by column cost more than reading the
# leads. The sums below therefore add *packed* integers: three counts side by side in one
# 63-bit integer (:data:`PACK_BITS` bits each), a third of the additions, unpacked with shifts
# when the level's rows are written. A field cannot carry into the next while every group
# holds fewer than ``2**PACK_BITS`` leads: every count is a count of a group's leads, and a
# group is at most one day (:func:`_packable` checks, and the sums fall back to one column per
# integer for the data that would not fit).
#
# Intermediate grains that no query reads (:data:`_FLOW_SCRATCH`, :data:`_TRANSITION_SCRATCH`)
# sit between the finest level and the small ones, so that those are summed from a few rows a
# day rather than from the finest level again. Transitions have no finest *level*: per lead
# cell they are about one row per event, so the levels are summed from the events themselves
# (one scratch table, no grouping of its own).

#: Bits per packed count; :func:`_packable` keeps each field below this.
PACK_BITS = 21
_PER_WORD = 3  # 3 × 21 = 63 bits: a signed 64-bit integer on both databases
#: Scratch grains: summed from the finest data, then summed into the levels holding fewer keys.
_FLOW_SCRATCH: dict[str, tuple[str, ...]] = {"service_site": ("service_type_id", "source_site")}
_TRANSITION_SCRATCH: dict[str, tuple[str, ...]] = {
    "channel_service_site": ("channel", "service_type_id", "source_site"),
    "full": DIMENSIONS,
}
#: The flow counts in packing order: each family (the flags, each histogram) chunked on its own,
#: so that a word of one histogram's buckets is one ``CASE`` per lead.
_FAMILIES: tuple[tuple[str, ...], ...] = (
    FLAGS,
    *(tuple(f"{h}_{i}" for i in range(N_BUCKETS)) for h in HISTOGRAMS),
)


def _words(per_word: int) -> list[tuple[str, ...]]:
    return [f[i : i + per_word] for f in _FAMILIES for i in range(0, len(f), per_word)]


def _int(value: int) -> Any:
    """An integer constant typed ``BIGINT`` (so that PostgreSQL multiplies in 64 bits; SQLite
    folds the constant once per statement)."""
    return cast(literal_column(str(value)), BigInteger)


def _pack(values: Sequence[Any]) -> Any:
    """One integer holding ``values[j]`` in field ``j`` (each a non-negative count)."""
    out = values[0]
    for j, value in enumerate(values[1:], start=1):
        out = out + value * _int(1 << (PACK_BITS * j))
    return out


def _unpacked(total: Any, width: int) -> list[Any]:
    """The fields of a summed packed integer (a plain sum when ``width`` is 1)."""
    if width == 1:
        return [total]
    mask = literal_column(str((1 << PACK_BITS) - 1))
    fields = [total.op(">>")(literal_column(str(PACK_BITS * j))) for j in range(1, width)]
    return [f.op("&")(mask) for f in (total, *fields)]


def _packed_insert(
    conn: Connection,
    target: Table,
    group: Sequence[Any],
    words: Sequence[tuple[Sequence[str], Any]],
    source: Any,
    where: Sequence[Any] = (),
) -> None:
    """``INSERT INTO target`` the ``SUM`` of each packed word (its columns, its value per
    source row) grouped by ``group``, unpacked into the target's columns."""
    summed = (
        select(
            *group,
            *(_summed(names, value).label(f"w{i}") for i, (names, value) in enumerate(words)),
        )
        .select_from(source)
        .where(*where)
        .group_by(*group)
        .subquery("packed")
    )
    keys = [g.name for g in group]
    columns: list[str] = []
    values: list[Any] = []
    for i, (names, _) in enumerate(words):
        columns += names
        values += _unpacked(summed.c[f"w{i}"], len(names))
    rows = select(*(summed.c[k] for k in keys), *values)
    conn.execute(insert(target).from_select([*keys, *columns], rows))


def _summed(names: Sequence[str], value: Any) -> Any:
    """``SUM(value)``, as a 64-bit integer when it is packed (PostgreSQL sums ``BIGINT`` as
    ``NUMERIC``)."""
    return func.sum(value) if len(names) == 1 else cast(func.sum(value), BigInteger)


def _lead_words(c: Any, per_word: int) -> list[tuple[Sequence[str], Any]]:
    """Each packed word's value for one lead of :func:`_lead_steps`."""
    out: list[tuple[Sequence[str], Any]] = []
    for names in _words(per_word):
        hist, _, first = names[0].rpartition("_")
        if hist in HISTOGRAMS:  # one CASE on the lead's bucket
            start = int(first)
            whens = [(c[hist] == start + j, _int(1 << (PACK_BITS * j))) for j in range(len(names))]
            out.append((names, case(*whens, else_=0)))
        else:
            flags = [literal(1) if n == "leads" else c[n] for n in names]
            out.append((names, _pack(flags)))
    return out


def _level_words(source: Table, counts: Sequence[str], per_word: int) -> list[tuple]:
    """Each packed word's value for one row of a level (or scratch) table."""
    if tuple(counts) != FLOW_COUNTS:
        return [((n,), source.c[n]) for n in counts]
    return [(names, _pack([source.c[n] for n in names])) for names in _words(per_word)]


def _packable(conn: Connection, where: Any) -> bool:
    """Whether every day of the leads matching ``where`` has fewer than ``2**PACK_BITS``
    leads (cheap: their total is, unless there are millions)."""
    limit = 1 << PACK_BITS
    total = conn.execute(select(func.count()).select_from(Lead).where(where)).scalar_one()
    if total < limit:
        return True
    day = day_of(Lead.created_at)
    busiest = select(func.count().label("n")).select_from(Lead).where(where).group_by(day)
    return conn.execute(select(func.max(busiest.subquery().c.n))).scalar_one() < limit


def _scratch(name: str, keys: Sequence[str], counts: Sequence[str]) -> Table:
    """A temporary table of ``keys`` and integer ``counts`` (created empty)."""
    return Table(
        f"tmp_rollup_flow_{name}",
        MetaData(),
        Column("day", Date),
        *(Column(k, _KEY_TYPES[k]()) for k in keys),
        *(Column(c, Integer) for c in counts),
        prefixes=["TEMPORARY"],
    )


def _sum_levels(
    conn: Connection,
    levels: dict[str, tuple[str, ...]],
    tables: dict[str, Table],
    built: dict[str, tuple[Table, tuple[str, ...]]],
    extra: tuple[str, ...],
    counts: Sequence[str],
    days: Sequence[date] | None,
    per_word: int,
) -> None:
    """Fill each level (finest first) as the sums of the smallest table already filled that
    holds its keys (``built``: those filled so far, by name), reading ``days`` only when given:
    each GROUP BY reads as few rows as it can."""
    for level in sorted(levels, key=lambda name: -len(levels[name])):
        if level in built:
            continue
        wanted = set(levels[level])
        source, _ = min(
            (entry for entry in built.values() if wanted <= set(entry[1])),
            key=lambda entry: len(entry[1]),
        )
        keys = ("day", *levels[level], *extra)
        where = [] if days is None else [source.c.day.in_(days)]
        words = _level_words(source, counts, per_word)
        _packed_insert(conn, tables[level], [source.c[k] for k in keys], words, source, where)
        built[level] = (tables[level], levels[level])


def _with_scratch(
    conn: Connection,
    prefix: str,
    scratch: dict[str, tuple[str, ...]],
    extra: tuple[str, ...],
    counts: Any,
) -> dict[str, Table]:
    """The scratch tables of ``scratch`` (by name), created empty."""
    tables = {
        name: _scratch(f"{prefix}{name}", (*keys, *extra), counts) for name, keys in scratch.items()
    }
    for table in tables.values():
        table.drop(conn, checkfirst=True)
        table.create(conn)
    return tables


def _fill(conn: Connection, where: Any, days: Sequence[date] | None) -> None:
    """Insert the flow and transition rows of the leads matching ``where`` (created on one of
    ``days``, or every lead when both are ``None``): the finest flow level from the leads, the
    coarser ones as sums; the transition levels as sums of the events."""
    per_word = _PER_WORD if _packable(conn, true() if where is None else where) else 1
    full = FLOW_TABLES["full"]
    steps = _lead_steps(where)
    group = [steps.c[k] for k in ("day", *DIMENSIONS)]
    _packed_insert(conn, full, group, _lead_words(steps.c, per_word), steps)
    # a recount's days hold a few thousand leads: no intermediate grains to pay for
    grains = _FLOW_SCRATCH if days is None else {}
    flow_scratch = _with_scratch(conn, "", grains, (), FLOW_COUNTS)
    levels = {**FLOW_LEVELS, **grains}
    built = {"full": (full, DIMENSIONS)}
    tables = {**FLOW_TABLES, **flow_scratch}
    _sum_levels(conn, levels, tables, built, (), FLOW_COUNTS, days, per_word)
    statuses = ("from_status", "to_status")
    grains = _TRANSITION_SCRATCH if days is None else {"full": DIMENSIONS}
    trans_scratch = _with_scratch(conn, "trans_", grains, statuses, ("n",))
    events = trans_scratch["full"]
    keys = ["day", *DIMENSIONS, *statuses, "n"]
    each = _transition_events(where).add_columns(literal(1))
    conn.execute(insert(events).from_select(keys, each))
    levels = {**TRANSITION_LEVELS, **grains}
    built = {"full": (events, DIMENSIONS)}
    tables = {**TRANSITION_TABLES, **trans_scratch}
    _sum_levels(conn, levels, tables, built, statuses, ("n",), days, 1)
    for table in chain(flow_scratch.values(), trans_scratch.values()):
        table.drop(conn)


def rebuild_lead_flow(conn: Connection) -> None:
    """Recount every day from the base tables (part of the full rebuild; idempotent)."""
    for table in chain(FLOW_TABLES.values(), TRANSITION_TABLES.values()):
        conn.execute(delete(table))
    _fill(conn, None, None)


_LOCK_NAMESPACE = 0xF10E << 32
#: Days recounted by one pass of statements. One pass per day cost ~150 ms of building the
#: 40-odd statements alone, which made a flush touching a month of leads take seconds; a pass
#: over many days costs about the same as one. Bounded because SQLite parses a long ``OR`` of
#: day ranges as a deep tree, whose depth it limits.
DAYS_PER_PASS = 60


def recount_flow_days(conn: Connection, days: Iterable[date]) -> None:
    """Make each day's rows equal to what the base tables say about the leads created that
    day (no leads: no rows)."""
    ordered = sorted(set(days))
    if conn.dialect.name == "postgresql":
        for day in ordered:  # in day order, as every writer takes them: no deadlock
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": _LOCK_NAMESPACE + day.toordinal()},
            )
    for start in range(0, len(ordered), DAYS_PER_PASS):
        chunk = ordered[start : start + DAYS_PER_PASS]
        for table in chain(FLOW_TABLES.values(), TRANSITION_TABLES.values()):
            conn.execute(delete(table).where(table.c.day.in_(chunk)))
        within = or_(
            *(
                and_(
                    Lead.created_at >= start_of(day),
                    Lead.created_at < start_of(day + timedelta(days=1)),
                )
                for day in chunk
            )
        )
        _fill(conn, within, chunk)


# --- what a flush touched ------------------------------------------------------------------------


def _history(obj: Any, attr: str) -> list[Any]:
    hist = inspect(obj).attrs[attr].history
    return [v for v in chain(hist.added or (), hist.unchanged or (), hist.deleted or ()) if v]


def lead_days_touched(session: Session) -> set[date]:
    """The creation days of every lead written in this flush, directly or through one of its
    shares, reviews or events (a homeowner's ``source_site`` change: all their leads)."""
    days: set[date] = set()
    lead_ids: set[int] = set()
    homeowner_ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Lead):
            days.update(sa_date(v) for v in _history(obj, "created_at"))
        elif isinstance(obj, LeadShare | Review | LeadEvent):
            lead_ids.update(v for v in _history(obj, "lead_id") if isinstance(v, int))
        elif isinstance(obj, Homeowner) and inspect(obj).attrs["source_site"].history.deleted:
            homeowner_ids.add(obj.id)
    if lead_ids or homeowner_ids:
        conn = session.connection()
        matches = or_(Lead.id.in_(sorted(lead_ids)), Lead.homeowner_id.in_(sorted(homeowner_ids)))
        found = conn.execute(select(Lead.created_at).where(matches).distinct()).scalars()
        days.update(sa_date(v) for v in found if v is not None)
    return days
