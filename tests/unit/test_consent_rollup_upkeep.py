"""The consent rollup kept in place (``data.consent.rollup_upkeep``) after erasures and
opt-outs: equal to a full rebuild, and to literal ``GROUP BY`` queries over the base tables
written here by hand (South African days are UTC+2, no daylight saving).

World (times UTC): homeowners H1 (main, created 2026-01-10), H2 (solar, 2026-02-01 23:30 =
2 February SA), H3 (main, 2026-03-01); partners P1 (joined 2025-12-01), P2 (2026-01-05).
Events over several purposes, days and channels; then H1 and P2 are erased (an erasure
deletes their events and stamps ``erased_at``), H3 opts out of marketing email, and H2's
analytics grant is recorded out of order (before its latest event).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from data.consent import rollup
from data.db import session_scope
from data.erasure.execute import erase_subject
from tests.consent_support import consent
from tests.factories import add_homeowner, add_partner

DAY = {
    "sqlite": "date(datetime({0}, '+2 hours'))",
    "postgresql": "CAST({0} + INTERVAL '2 hours' AS DATE)",
}
SITE = "COALESCE(h.source_site, '')"
EVENTS = (
    "FROM consent_event e LEFT JOIN homeowner h "
    "ON e.subject_type = 'homeowner' AND h.id = e.subject_id"
)
LATEST = (
    "NOT EXISTS (SELECT 1 FROM consent_event l WHERE l.subject_type = e.subject_type "
    "AND l.subject_id = e.subject_id AND l.purpose = e.purpose "
    "AND (l.at > e.at OR (l.at = e.at AND l.id > e.id)))"
)
GRANTED = "SUM(CASE WHEN e.granted THEN 1 ELSE 0 END)"
WITHDRAWN = "SUM(CASE WHEN e.granted THEN 0 ELSE 1 END)"


def _rows(conn, sql: str) -> set[tuple]:
    return {
        tuple(str(v) if i == 0 else v for i, v in enumerate(r)) for r in conn.execute(text(sql))
    }


def _literal(conn) -> tuple[set, set, set]:
    """Opt-ins/outs per day, population per day, subjects granted/withdrawn now: by hand."""
    day = DAY[conn.dialect.name]
    changes = _rows(
        conn,
        f"SELECT {day.format('e.at')}, e.subject_type, e.purpose, e.source, {SITE}, "
        f"{GRANTED}, {WITHDRAWN} {EVENTS} GROUP BY 1, 2, 3, 4, 5",
    )
    population = _rows(
        conn,
        f"SELECT d, st, site, SUM(n) FROM ("
        f"SELECT {day.format('created_at')} AS d, 'homeowner' AS st, source_site AS site, 1 AS n "
        f"FROM homeowner WHERE source_site <> 'erased-placeholder' UNION ALL "
        f"SELECT {day.format('erased_at')}, 'homeowner', source_site, -1 FROM homeowner "
        f"WHERE erased_at IS NOT NULL AND source_site <> 'erased-placeholder' UNION ALL "
        f"SELECT {day.format('joined_at')}, 'partner', '', 1 FROM partner UNION ALL "
        f"SELECT {day.format('erased_at')}, 'partner', '', -1 FROM partner "
        f"WHERE erased_at IS NOT NULL) moves GROUP BY d, st, site HAVING SUM(n) <> 0",
    )
    now = {(st, p, site, g, w) for st, p, site, g, w in conn.execute(text(
        f"SELECT e.subject_type, e.purpose, {SITE}, {GRANTED}, {WITHDRAWN} {EVENTS} "
        f"WHERE {LATEST} GROUP BY 1, 2, 3"))}  # fmt: skip
    return changes, population, now


def _rollup(conn) -> tuple[set, set, set]:
    """The rollup's rows, in the shapes of :func:`_literal`, plus its rows as stored."""
    changes = _rows(conn, "SELECT day, subject_type, purpose, channel, site, opt_ins, opt_outs "
                          "FROM consent_day")  # fmt: skip
    population = _rows(conn, "SELECT day, subject_type, site, delta FROM consent_population_day")
    now = {r for r in conn.execute(text(
        "SELECT subject_type, purpose, site, SUM(granted_delta), SUM(withdrawn_delta) "
        "FROM consent_day GROUP BY 1, 2, 3")) if r[3] or r[4]}  # fmt: skip
    return changes, population, now


def _stored(conn) -> tuple[set, set]:
    return (
        _rows(conn, "SELECT * FROM consent_day"),
        _rows(conn, "SELECT * FROM consent_population_day"),
    )


def test_incremental_equals_rebuild_equals_group_by_after_erasures(db):
    with session_scope(db) as s:
        h1 = add_homeowner(s, created_at=datetime(2026, 1, 10)).id
        h2 = add_homeowner(s, created_at=datetime(2026, 2, 1, 23, 30), source_site="solar").id
        h3 = add_homeowner(s, created_at=datetime(2026, 3, 1)).id
        p1 = add_partner(s, joined_at=datetime(2025, 12, 1)).id
        p2 = add_partner(s, joined_at=datetime(2026, 1, 5)).id
        for subject, purpose, granted, at, source in (
            (h1, "marketing_email", True, datetime(2026, 1, 10), "web_form"),
            (h1, "marketing_email", False, datetime(2026, 3, 2, 22, 30), "email"),
            (h1, "call_recording", True, datetime(2026, 1, 10), "phone"),
            (h2, "marketing_email", True, datetime(2026, 2, 1, 23, 30), "web_form"),
            (h2, "analytics_tracking", False, datetime(2026, 3, 2, 10), "cookie_banner"),
            (h3, "marketing_email", True, datetime(2026, 3, 1), "web_form"),
        ):
            consent(s, subject, purpose, granted, at, source=source)
        consent(s, p1, "service_contact", True, datetime(2025, 12, 1), subject_type="partner")
        consent(s, p2, "service_contact", True, datetime(2026, 1, 5), subject_type="partner")
        consent(s, p2, "marketing_email", False, datetime(2026, 2, 1), subject_type="partner")
    with db.begin() as conn:
        rollup.rebuild(conn)
    with session_scope(db) as s:
        erase_subject(s, "homeowner", h1, now=datetime(2026, 3, 4, 23), key=b"k", verify=False)
        erase_subject(s, "partner", p2, now=datetime(2026, 3, 5), key=b"k", verify=False)
        consent(s, h3, "marketing_email", False, datetime(2026, 3, 6), source="email")
        consent(s, h2, "analytics_tracking", True, datetime(2026, 3, 1), source="cookie_banner")
    with db.connect() as conn:
        assert rollup.is_fresh(conn)  # every write was followed: no rebuild is due
        incremental, stored = _rollup(conn), _stored(conn)
        literal = _literal(conn)
    with db.begin() as conn:
        rollup.rebuild(conn)
    with db.connect() as conn:
        rebuilt, stored_rebuilt = _rollup(conn), _stored(conn)
    assert stored == stored_rebuilt  # row for row, zero rows included
    assert incremental == rebuilt == literal
    changes, population, now = literal
    # Spot checks by hand: H1 and P2 left no events; H1 left on 5 March SA (23:00 UTC on 4th).
    assert not any(r[1] == "partner" and r[2] == "marketing_email" for r in changes)
    assert ("2026-03-05", "homeowner", "main", -1) in population
    assert ("2026-02-02", "homeowner", "solar", 1) in population
    assert ("homeowner", "marketing_email", "main", 0, 1) in now  # H3 withdrew; H1 is gone
    assert ("homeowner", "analytics_tracking", "solar", 0, 1) in now  # the grant is older
