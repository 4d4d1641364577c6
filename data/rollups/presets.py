"""Per-partner totals of the standard periods, ready to read (``rollup_share_partner_preset``).

Why: managers mostly open the ranking for a standard period ending today (last 30, 90 or 365
days, or this year), over everything, one trade or one province. From the running totals that
costs one to three index searches per partner and boundary (about half of the ranking's time
at 1M leads); here it is one row per partner, read in key order.

A row is kept per preset, filter (everything, one trade or one province: the filters the page
offers one at a time; a trade and a province together reads the running totals, quick for the
few partners such a view has) and partner. It holds, for the preset ending on the filter's
stored day (``rollup_preset_day``), every share count over the period (:data:`SHARE_COUNTS`),
the published reviews and their rating sum over the period of the same length just before,
and the published reviews over the 365 days ending that day: exactly the three ranges the
ranking asks for (:func:`ranking_ranges`), so both paths compute the same numbers from the same
rollups.

Kept current three ways:

* a write: :func:`refresh_partner_presets` recomputes the touched partner's rows, for every
  stored filter, inside the writer's transaction (called by
  :func:`data.rollups.maintain.refresh_partner`);
* the day: the first ranking of a filter asked for a later day than its stored one recomputes
  that filter's rows for the day (:func:`ensure_presets`: four look-ups over the running
  totals, in a short transaction of its own) and then reads them; a nightly
  :func:`warm_presets` does it for every filter before anyone asks;
* a rebuild recomputes every stored filter for its day.

On PostgreSQL a filter's recompute holds an exclusive advisory lock and each partner refresh a
shared one, so a recompute waits for writers in flight and sees what they committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, text

from data.geography import PROVINCE_NAMES
from data.models import Trade
from data.rollups.counting import SHARES
from data.rollups.read import _counts_frame, range_totals
from data.rollups.tables import (
    ALL_PROVINCES,
    ALL_TRADES,
    PRESET_COLUMNS,
    SHARE_COUNTS,
    Scope,
    rollup_key,
    rollup_preset_day,
    share_partner_preset,
)
from data.sqlfuncs import fetch_tuples, tuples_of
from data.timeutil import as_date

YEAR_DAYS = 365
#: Period presets as the pages name them: days ending on the day, or ``None`` for this year.
PRESETS: dict[str, int | None] = {"30d": 30, "90d": 90, "365d": 365, "ytd": None}
#: The columns asked of each range of :func:`ranking_ranges`, in order.
RANGE_COLUMNS: tuple[tuple[str, ...], ...] = (
    SHARE_COUNTS,
    ("rv_published", "rv_rating_sum"),
    ("rv_published",),
)
_LOCK_KEY = 0x5E7_0000_0001
#: A preset row's counts: one little-endian int64 array (read with one ``frombuffer`` for all
#: partners, where 28 integer columns cost a conversion each per row).
COUNTS_DTYPE = np.dtype("<i8")


def ranking_ranges(start: date, end: date) -> list[tuple[date, date]]:
    """The period, the period of the same length just before it, and the 365 days ending on
    ``end`` (the period itself when it is those days: boundary days are looked up once, so
    that costs one more column, not another search)."""
    length = end - start
    before_end = start - timedelta(days=1)
    return [
        (start, end),
        (before_end - length, before_end),
        (end - timedelta(days=YEAR_DAYS - 1), end),
    ]


def preset_period(preset: str, day: date) -> tuple[date, date]:
    days = PRESETS[preset]
    start = date(day.year, 1, 1) if days is None else day - timedelta(days=days - 1)
    return start, day


def preset_for(start: date, end: date) -> str | None:
    """The preset whose period ending on ``end`` is ``start``..``end``, if any."""
    for name in PRESETS:
        if preset_period(name, end) == (start, end):
            return name
    return None


Filter = tuple[int, str]  # (trade id or ALL_TRADES, province or ALL_PROVINCES)


def _filter(trade_id: int | None, province: str | None) -> Filter:
    return (trade_id or ALL_TRADES, province or ALL_PROVINCES)


def stored_day(
    conn: Connection, trade_id: int | None = None, province: str | None = None
) -> date | None:
    """The day a filter's preset rows end on (``None``: not stored)."""
    trade, prov = _filter(trade_id, province)
    t = rollup_preset_day
    value = conn.execute(
        select(t.c.day).where(t.c.trade_id == trade, t.c.province == prov)
    ).scalar()
    return None if value is None else as_date(value)


def _rows(
    conn: Connection, day: date, key: Filter, partner_ids: Sequence[int] | None
) -> list[dict[str, object]]:
    """A filter's preset rows for ``day`` (of these partners only, when given)."""
    trade, prov = key
    scope = Scope(
        partner_ids=None if partner_ids is None else tuple(partner_ids),
        trade_ids=None if trade == ALL_TRADES else (trade,),
        province=None if prov == ALL_PROVINCES else prov,
    )
    out: list[dict[str, object]] = []
    for name in PRESETS:
        ranges = ranking_ranges(*preset_period(name, day))
        columns = [list(c) for c in RANGE_COLUMNS]
        ids, values = range_totals(conn, SHARES, ranges, scope, columns)
        matrix = np.hstack(values)
        for pid, row in zip(ids.tolist(), matrix.tolist(), strict=True):
            if any(row):
                counts = np.asarray(row, dtype=COUNTS_DTYPE).tobytes()
                out.append(
                    {"preset": name, "trade_id": trade, "province": prov, "partner_id": pid,
                     "counts": counts}
                )  # fmt: skip
    return out


def _write(conn: Connection, rows: list[dict[str, object]]) -> None:
    if rows:
        conn.execute(insert(share_partner_preset), rows)


def _of_filter(key: Filter) -> Any:
    t = share_partner_preset
    return (t.c.trade_id == key[0]) & (t.c.province == key[1])


def recompute_presets(conn: Connection, day: date, key: Filter) -> None:
    """A filter's preset rows for ``day``, from the running totals (in ``conn``'s
    transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    conn.execute(delete(share_partner_preset).where(_of_filter(key)))
    _write(conn, _rows(conn, day, key, None))
    t = rollup_preset_day
    conn.execute(delete(t).where(t.c.trade_id == key[0], t.c.province == key[1]))
    conn.execute(insert(t).values(trade_id=key[0], province=key[1], day=day))


def recompute_all_presets(conn: Connection) -> None:
    """Every stored filter for its own day (after a rebuild)."""
    t = rollup_preset_day
    for trade, prov, day in tuples_of(conn.execute(select(t.c.trade_id, t.c.province, t.c.day))):
        recompute_presets(conn, as_date(day), (trade, prov))


def ensure_presets(
    conn: Connection, day: date, trade_id: int | None = None, province: str | None = None
) -> bool:
    """Whether the filter's presets hold ``day``, recomputing them first (in a transaction of
    their own) when ``day`` is later than the stored day or none is stored; an earlier day
    than the stored one: no (the caller reads the running totals)."""
    stored = stored_day(conn, trade_id, province)
    if stored == day:
        return True
    if stored is not None and day < stored:
        return False
    key = _filter(trade_id, province)
    with conn.engine.begin() as writer:
        if stored_day(writer, trade_id, province) != day:  # another process may have done it
            recompute_presets(writer, day, key)
    return stored_day(conn, trade_id, province) == day


def warm_presets(engine: Engine, day: date, *, exactly: bool = False) -> int:
    """Every filter the page offers one at a time (everything, each trade, each province),
    brought to ``day``; returns how many were recomputed. Run once a day after midnight
    (``flask --app app rollups-warm``), so that no manager's first ranking of the day pays
    the recompute (1–2 s per filter at 1M leads).

    ``exactly``: a filter stored for a later day is brought back to ``day`` too (the pages
    never do that; the benchmark harness times the views on the demo's own day, which the app
    moves past when it runs on a later one)."""
    with engine.connect() as conn:
        trade_ids = [row[0] for row in conn.execute(select(Trade.id).order_by(Trade.id))]
    keys: list[tuple[int | None, str | None]] = [(None, None)]
    keys += [(t, None) for t in trade_ids] + [(None, p) for p in PROVINCE_NAMES]
    recomputed = 0
    for trade_id, province in keys:
        with engine.connect() as conn:
            stored = stored_day(conn, trade_id, province)
            if stored == day:
                continue
            recomputed += 1
            if exactly and stored is not None and stored > day:
                with engine.begin() as writer:
                    recompute_presets(writer, day, _filter(trade_id, province))
            else:
                ensure_presets(conn, day, trade_id, province)
    return recomputed


def refresh_partner_presets(conn: Connection, partner_ids: Sequence[int]) -> None:
    """Recompute these partners' rows for every stored filter, each for its own day."""
    if not partner_ids:
        return
    t = rollup_preset_day
    stored = tuples_of(conn.execute(select(t.c.trade_id, t.c.province, t.c.day)))
    if not stored:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _LOCK_KEY})
    conn.execute(
        delete(share_partner_preset).where(share_partner_preset.c.partner_id.in_(list(partner_ids)))
    )
    # Only the filters these partners have data in can hold rows of theirs.
    keys = select(rollup_key.c.trade_id, rollup_key.c.province).where(
        rollup_key.c.partner_id.in_(list(partner_ids))
    )
    pairs = tuples_of(conn.execute(keys.distinct()))
    trades = {t_ for t_, _ in pairs}
    provinces = {p for _, p in pairs}
    for trade, prov, day in stored:
        relevant = (trade == ALL_TRADES or trade in trades) and (
            prov == ALL_PROVINCES or prov in provinces
        )
        if relevant:
            _write(conn, _rows(conn, as_date(day), (trade, prov), partner_ids))


def preset_counts(
    conn: Connection, preset: str, trade_id: int | None = None, province: str | None = None
) -> list[pd.DataFrame]:
    """Per range of :func:`ranking_ranges`, a frame of
    :data:`RANGE_COLUMNS` indexed by partner, without partners that have nothing: what
    :func:`data.rollups.period_counts_many` returns for those ranges, over everything or one
    trade or one province (not both). Call :func:`ensure_presets` first: this reads whatever
    day is stored."""
    if trade_id is not None and province is not None:
        raise ValueError("presets are kept per trade or per province, not both")
    table = share_partner_preset
    query = select(table.c.partner_id, table.c.counts).where(
        table.c.preset == preset, _of_filter(_filter(trade_id, province))
    )
    rows = fetch_tuples(conn.execute(query))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    blob = b"".join(bytes(r[1]) for r in rows)
    matrix = np.frombuffer(blob, dtype=COUNTS_DTYPE).astype(np.int64)
    matrix = matrix.reshape(len(rows), len(PRESET_COLUMNS))
    out: list[pd.DataFrame] = []
    offset = 0
    for cols in RANGE_COLUMNS:
        values = matrix[:, offset : offset + len(cols)]
        out.append(_counts_frame(ids, values, "partner_id", cols))
        offset += len(cols)
    return out
