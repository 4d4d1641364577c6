"""Audit log reading: filters, prefixes, cap; and append-only in code (and on PostgreSQL by
the trigger of migration 0001)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from data import audit
from data.audit import MAINTENANCE_OPTION, AuditLogIsAppendOnly
from data.audit_queries import (
    AuditFilters,
    action_groups,
    audit_count,
    audit_entries,
    audit_facets,
    audit_page,
)
from data.db import read_connection, session_scope
from data.models import AuditLog


@pytest.fixture
def entries(db):
    with session_scope(db) as s:
        for day, actor, action, obj in [
            (1, "olivia", "login", None),
            (2, "olivia", "privacy_request.create", ("privacy_request", 7)),
            (3, "oscar", "privacy_request.verify", ("privacy_request", 7)),
            (4, "ada", "user.create", ("user", 3)),
            (5, "system", "privacy_request.close_unverified", ("privacy_request", 8)),
            (20, "ada", "export.partners", None),
        ]:
            audit.record(
                s,
                actor,
                action,
                obj[0] if obj else None,
                obj[1] if obj else None,
                {"n": day},
                at=datetime(2026, 5, day, 10),
            )


def listing(db, **filters):
    base = {"start": date(2026, 5, 1), "end": date(2026, 5, 10)}
    with read_connection(db) as conn:
        return audit_entries(conn, AuditFilters(**{**base, **filters}))


def test_listing_is_newest_first_within_the_period(db, entries):
    df = listing(db)
    assert list(df["action"]) == [
        "privacy_request.close_unverified",
        "user.create",
        "privacy_request.verify",
        "privacy_request.create",
        "login",
    ]
    # stored 10:00 UTC, listed as Johannesburg wall time like the period's days
    assert df.iloc[0]["details"] == '{"n": 5}' and df.iloc[0]["at"] == "2026-05-05 12:00:00"


def test_the_period_is_made_of_south_african_days(db):
    """Issue 12, point 6: 21:59:59 UTC on 1 June is still 1 June in Johannesburg, 22:00 UTC is
    already 2 June there."""
    with session_scope(db) as s:
        audit.record(s, "ada", "late", at=datetime(2026, 6, 1, 21, 59, 59))
        audit.record(s, "ada", "after_midnight", at=datetime(2026, 6, 1, 22, 0, 0))
    first = listing(db, start=date(2026, 6, 1), end=date(2026, 6, 1))
    second = listing(db, start=date(2026, 6, 2), end=date(2026, 6, 2))
    assert (list(first["action"]), list(second["action"])) == (["late"], ["after_midnight"])


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"actor": "olivia"}, 2),
        ({"action": "privacy_request.*"}, 3),
        ({"action": "privacy_request.verify"}, 1),
        ({"action": "privacy%"}, 0),  # LIKE wildcards are literal
        ({"object_type": "privacy_request", "object_id": "7"}, 2),
        ({"start": date(2026, 5, 20), "end": date(2026, 5, 20)}, 1),
    ],
)
def test_filters(db, entries, filters, count):
    assert len(listing(db, **filters)) == count
    with read_connection(db) as conn:
        base = {"start": date(2026, 5, 1), "end": date(2026, 5, 10)}
        assert audit_count(conn, AuditFilters(**{**base, **filters})) == count


def test_cap_paging_and_facets(db, entries):
    may = AuditFilters(date(2026, 5, 1), date(2026, 5, 31))
    with read_connection(db) as conn:
        capped = audit_entries(conn, may, cap=2)
        second_page = audit_page(conn, may, 2, 2)
        facets = audit_facets(conn)
    assert list(capped["details"]) == ['{"n": 20}', '{"n": 5}']
    assert list(second_page["details"]) == ['{"n": 4}', '{"n": 3}']
    assert facets.actors == ["ada", "olivia", "oscar", "system"]
    assert action_groups(facets.actions) == ["export.*", "privacy_request.*", "user.*"]
    assert facets.object_types == ["privacy_request", "user"]


def test_describe_for_exports():
    f = AuditFilters(date(2026, 5, 1), date(2026, 5, 2), actor="ada")
    assert f.describe() == {"from": "2026-05-01", "to": "2026-05-02", "actor": "ada"}


def test_the_orm_refuses_to_change_or_delete_audit_entries(db, entries):
    with pytest.raises(AuditLogIsAppendOnly), session_scope(db) as s:
        s.scalars(select(AuditLog)).first().actor = "someone else"
    with pytest.raises(AuditLogIsAppendOnly), session_scope(db) as s:
        s.delete(s.scalars(select(AuditLog)).first())
    with pytest.raises(AuditLogIsAppendOnly), session_scope(db) as s:
        s.execute(update(AuditLog).values(actor="x"))
    with pytest.raises(AuditLogIsAppendOnly), session_scope(db) as s:
        s.execute(delete(AuditLog))
    assert len(listing(db)) == 5


def test_postgresql_trigger_refuses_update_and_delete(db, entries):
    if db.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        # the application refuses first; past it (as a migration may), the trigger still does
        with pytest.raises(AuditLogIsAppendOnly), db.begin() as conn:
            conn.execute(text(statement))
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execution_options(**{MAINTENANCE_OPTION: True}).execute(text(statement))
    assert len(listing(db)) == 5
