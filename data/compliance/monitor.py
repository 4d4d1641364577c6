"""The compliance monitor: every rule counted over time and listed, by one piece of code.

Counts are ``GROUP BY`` month (South African months, ``data.sqlfuncs.month_start``) over each
rule's ``Select``; lists are the rule's rows, newest first, capped at :data:`LIST_LIMIT`. Who may
see a list with its people is the page's business (``data.roles`` ``see_people``); this module
refuses nothing and returns record ids only. :func:`violation_records` is the list without
them, for managers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from data.compliance import consent_rules, records
from data.compliance.common import VIOLATION_COLUMNS, Window
from data.db import session_scope
from data.erasure.retention import periods
from data.query_cache import MONITOR_CACHE
from data.sqlfuncs import month_start
from data.timeutil import utcnow

logger = logging.getLogger(__name__)
LIST_LIMIT = 500
#: Counts older than this are recounted in the background (they expire at ``MONITOR_CACHE.ttl``).
RECOUNT_AFTER = timedelta(seconds=30)
_RECOUNTING: set[tuple] = set()
_RECOUNTING_LOCK = threading.Lock()
COUNT_COLUMNS = ["rule", "period", "violations"]
RECORD_COLUMNS = ["at", "object_type", "object_id", "detail"]
#: Records that are a person, or a person's own request: their numbers are for the people page.
PERSONAL_RECORDS = ("homeowner", "privacy_request")


@dataclass(frozen=True)
class RuleSpec:
    code: str
    label: str
    in_window: bool  # True: events in the date range; False: the state of the records now
    build: Callable[[Session, Window], Select]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        "marketing_after_withdrawal",
        "Marketing after the purpose was withdrawn",
        True,
        lambda s, w: consent_rules.marketing_after_withdrawal(w),
    ),
    RuleSpec(
        "recordings_without_consent",
        "Calls recorded without call-recording consent",
        True,
        lambda s, w: consent_rules.recordings_without_consent(w),
    ),
    RuleSpec(
        "shares_after_withdrawal",
        "Leads shared after a withdrawal or service opt-out",
        True,
        lambda s, w: consent_rules.shares_after_withdrawal(s, w),
    ),
    RuleSpec(
        "past_retention",
        "Personal data kept past its retention period",
        False,
        lambda s, w: records.past_retention(w, periods(s)),
    ),
    RuleSpec(
        "suppressed_reappearing",
        "Suppressed contacts back as new homeowners",
        True,
        lambda s, w: records.suppressed_reappearing(w),
    ),
    RuleSpec(
        "access_past_due",
        "Access requests past their due date (deemed refusals)",
        False,
        lambda s, w: records.access_past_due(w),
    ),
)
RULE_BY_CODE = {r.code: r for r in RULES}


def rule_query(session: Session, code: str, w: Window) -> Select:
    """The violations of rule ``code`` (KeyError for an unknown code)."""
    return RULE_BY_CODE[code].build(session, w)


def violation_counts(session: Session, w: Window) -> pd.DataFrame:
    """Violations per rule and South African month (only months that have some)."""
    rows = []
    for rule in RULES:
        found = rule.build(session, w).subquery("violations")
        period = month_start(found.c.at)
        query = select(period, func.count()).group_by(period).order_by(period)
        rows += [(rule.code, str(p), int(n)) for p, n in session.execute(query)]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def monitor_counts(session: Session, w: Window) -> tuple[pd.DataFrame, datetime]:
    """:func:`violation_counts` and the moment they were counted, shared by every viewer for up
    to ``MONITOR_CACHE.ttl`` seconds (or until a rollup write bumps the data version): under
    many users the monitor was the largest single cost per view. The page says when it counted.

    Counts older than :data:`RECOUNT_AFTER` are still served, and recounted in the background
    for the next viewer, so a page that people keep opening never waits for a recount."""
    key = ("compliance-monitor", w.start_at, w.end_before)
    counts, counted_at = MONITOR_CACHE.get_or_compute(
        session.connection(), key, lambda: (violation_counts(session, w), w.now)
    )
    if w.now - counted_at > RECOUNT_AFTER:
        recount_behind(key, w)
    return counts, counted_at


def recount_behind(key: tuple, w: Window) -> None:
    """Recount ``key``'s window on a thread of its own and store the result; nothing when a
    recount of it is already running in this process."""
    with _RECOUNTING_LOCK:
        if key in _RECOUNTING:
            return
        _RECOUNTING.add(key)

    def recount() -> None:
        try:
            with session_scope() as session:
                fresh = Window(w.start_at, w.end_before, utcnow())
                MONITOR_CACHE.put(
                    session.connection(), key, (violation_counts(session, fresh), fresh.now)
                )
        except SQLAlchemyError as exc:  # the next viewer counts it instead
            logger.warning("compliance monitor: background recount failed: %s", exc)
        finally:
            with _RECOUNTING_LOCK:
                _RECOUNTING.discard(key)

    threading.Thread(target=recount, name="monitor-recount", daemon=True).start()


def violation_list(session: Session, code: str, w: Window, limit: int = LIST_LIMIT) -> pd.DataFrame:
    """Rule ``code``'s violations, newest first (then by record id), at most ``limit``."""
    found = rule_query(session, code, w).subquery("violations")
    query = select(*found.c).order_by(found.c.at.desc(), found.c.object_id.desc()).limit(limit)
    return pd.DataFrame([tuple(r) for r in session.execute(query)], columns=VIOLATION_COLUMNS)


def violation_records(
    session: Session, code: str, w: Window, limit: int = LIST_LIMIT
) -> pd.DataFrame:
    """:func:`violation_list` without the people, for roles that see no person (managers):
    when, the kind of record and the detail code; the record's number only where the record
    is not a person or a person's request (:data:`PERSONAL_RECORDS`), and no subject at all.
    A manager can follow a share or an interaction up with the partner or the team involved;
    who the homeowner was stays on the people page."""
    found = violation_list(session, code, w, limit)
    personal = found["object_type"].isin(PERSONAL_RECORDS)
    return pd.DataFrame(
        {
            "at": found["at"],
            "object_type": found["object_type"],
            "object_id": found["object_id"].astype("Int64").mask(personal),
            "detail": found["detail"],
        },
        columns=RECORD_COLUMNS,
    )
