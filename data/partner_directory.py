"""The partner directory: names, vetting status, registered trades and served provinces.

Every ranking needs it, and reading and grouping it was a third of the ranking's time at 1M
leads (5 000 partners, their trade links and areas: 30–45 ms). It changes only when someone
edits a partner, their trades or areas, or the trade names, while the rollups change with every
share and review. So it has its own version counter (``directory`` in ``rollup_state``): a
session hook bumps it, and the rollups' version too (so cached rankings show the new names at
once), whenever such a row is written; a rebuild after a bulk load bumps it as well. Each
process keeps the directory it last read per vetting filter and reuses it while the counter in
the database is unchanged (one primary-key read per call), so every process sees every edit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain
from typing import Any

import pandas as pd
from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from data.models import Partner, PartnerArea, PartnerTrade, Trade
from data.rollups import DIRECTORY, bump_version, current_version
from data.sqlfuncs import tuples_of

DIRECTORY_MODELS = (Partner, PartnerTrade, PartnerArea, Trade)
ERASED_NAME = "(erased partner)"

_lock = threading.Lock()
_cache: dict[tuple[str, ...], tuple[int, pd.DataFrame]] = {}


def load_directory(
    conn: Connection, vetting: Sequence[str] = (), partner_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Candidate partners indexed by id: ``business_name``, ``vetting_status``, ``trades`` and
    ``provinces`` as text, ``trade_ids`` and ``province_list`` as sorted tuples.

    ``vetting`` narrows by status (empty: every partner); ``partner_ids`` reads only those
    partners, whatever their status (the detail page; not cached).
    """
    if partner_ids is not None:
        return _read(conn, (), partner_ids)
    key = tuple(vetting)
    version = current_version(conn, DIRECTORY)
    with _lock:
        found = _cache.get(key)
    if found is not None and found[0] == version and version != 0:
        return found[1]
    frame = _read(conn, key, None)
    with _lock:
        _cache[key] = (version, frame)
    return frame


def clear_directory_cache() -> None:
    with _lock:
        _cache.clear()


def _read(conn: Connection, vetting: Sequence[str], partner_ids: Sequence[int] | None) -> Any:
    """Three narrow reads (the trade links come from their primary-key index) grouped in
    Python: cheaper than aggregating strings in the database, which needs temporary B-trees."""
    query = select(Partner.id, Partner.business_name, Partner.vetting_status)
    links_q = select(PartnerTrade.partner_id, PartnerTrade.trade_id)
    areas_q = select(PartnerArea.partner_id, PartnerArea.province)
    if vetting:
        query = query.where(Partner.vetting_status.in_(list(vetting)))
    if partner_ids is not None:
        query = query.where(Partner.id.in_(list(partner_ids)))
        links_q = links_q.where(PartnerTrade.partner_id.in_(list(partner_ids)))
        areas_q = areas_q.where(PartnerArea.partner_id.in_(list(partner_ids)))
    trade_names = dict(tuples_of(conn.execute(select(Trade.id, Trade.name))))
    rows = tuples_of(conn.execute(query))
    trade_ids: dict[int, list[int]] = {}
    for pid, tid in tuples_of(conn.execute(links_q)):
        trade_ids.setdefault(pid, []).append(tid)
    provinces: dict[int, set[str]] = {}
    for pid, province in tuples_of(conn.execute(areas_q)):
        provinces.setdefault(pid, set()).add(province)
    ids = [r[0] for r in rows]
    tids = [tuple(sorted(trade_ids.get(pid, ()))) for pid in ids]
    provs = [tuple(sorted(provinces.get(pid, ()))) for pid in ids]
    texts: dict[tuple[int, ...], str] = {}  # a few dozen distinct trade sets: format each once
    for ts in tids:
        if ts not in texts:
            texts[ts] = ", ".join(sorted(trade_names.get(t, "?") for t in ts))
    return pd.DataFrame(
        {
            "business_name": [r[1] if r[1] is not None else ERASED_NAME for r in rows],
            "vetting_status": [r[2] for r in rows],
            "trades": [texts[ts] for ts in tids],
            "provinces": [", ".join(p) for p in provs],
            "trade_ids": tids,
            "province_list": provs,
        },
        index=pd.Index(ids, name="partner_id"),
    )


# --- keeping the counter current ---------------------------------------------------------------

_TOUCHED = "directory_touched"  # session.info flag: a directory row changed in this transaction


#: The partner columns the directory shows; editing any other (a website, a phone) changes
#: nothing cached.
_PARTNER_COLUMNS = ("business_name", "vetting_status")


def _changes_directory(obj: object, dirty: bool) -> bool:
    if not isinstance(obj, DIRECTORY_MODELS):
        return False
    if dirty and isinstance(obj, Partner):
        state = inspect(obj)
        return any(state.attrs[c].history.has_changes() for c in _PARTNER_COLUMNS)
    return True


def _note_after_flush(session: Session, _context: Any) -> None:
    if any(_changes_directory(o, False) for o in chain(session.new, session.deleted)) or any(
        _changes_directory(o, True) for o in session.dirty
    ):
        session.info[_TOUCHED] = True


def _bump_before_commit(session: Session) -> None:
    session.flush()
    if session.info.pop(_TOUCHED, False):
        connection = session.connection()
        bump_version(connection, DIRECTORY)
        bump_version(connection)  # cached rankings carry names and trades: drop them too


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


_HOOKS = (
    ("after_flush", _note_after_flush),
    ("before_commit", _bump_before_commit),
    ("after_rollback", _forget_after_rollback),
)


def install_directory_hooks(target: sessionmaker[Any] | Session) -> None:
    """Bump the directory's counter for every session ``target`` makes that writes a partner,
    a trade link, an area or a trade (``data.db`` installs it on the application's factory)."""
    for name, hook in _HOOKS:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)
