"""Migration 0021: the residue scan's GIN indexes without a pending list (PostgreSQL), and the
partial index through which every erasure finds the placeholder homeowner (both databases).

A fresh database of the suite's kind is migrated to 0020 and its word indexes made as they were
before (PostgreSQL's default ``fastupdate = on``, a homeowner's entries waiting in the pending
list); what 0021 must change is written out by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from data.db import downgrade_database, make_engine, upgrade_database
from data.erasure import coverage
from tests.scratch_db import scratch_database

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_homeowner_name_lower"
)

GIN = (
    "ix_audit_log_search",
    "ix_consent_event_search",
    "ix_homeowner_search",
    "ix_interaction_search",
    "ix_lead_search",
    "ix_partner_search",
    "ix_review_search",
    "ix_suppression_search",
)
PLACEHOLDER_QUERY = "SELECT id FROM homeowner WHERE source_site = 'erased-placeholder' ORDER BY id"


@pytest.fixture
def at_0020(database_url: str, tmp_path) -> Iterator[Engine]:
    """A scratch database migrated to 0020, GIN pending lists on, with one homeowner."""
    with scratch_database(database_url, "m0021", tmp_path / "old.db") as url:
        engine = make_engine(url)
        upgrade_database(engine, "0020")
        upgrade_database(engine, "0003")
        with engine.begin() as conn:
            coverage.ensure(conn)
            if engine.dialect.name == "postgresql":
                for name in GIN:
                    conn.execute(text(f"ALTER INDEX {name} RESET (fastupdate)"))
            conn.execute(
                text(
                    "INSERT INTO homeowner (id, first_name, last_name, email, phone, street, "
                    "whatsapp_opt_in, source_site, created_at, last_activity_at) VALUES "
                    "(1, 'Jabu', 'Mokoena', 'jabu@example.com', '+27821234567', "
                    "'3 Oak Lane', false, 'main', '2026-01-01', '2026-01-01')"
                )
            )
        yield engine
        engine.dispose()


def _fastupdate_off(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.scalars(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'i' "
                    "AND 'fastupdate=off' = ANY(reloptions)"
                )
            )
        )


def test_0021_turns_the_pending_lists_off_and_indexes_the_placeholder(at_0020):
    engine = at_0020
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        assert _fastupdate_off(engine) == set()
    upgrade_database(engine, "0021")
    assert "ix_homeowner_placeholder" in {
        i["name"] for i in inspect(engine).get_indexes("homeowner")
    }
    with engine.connect() as conn:
        if postgresql:
            assert _fastupdate_off(engine) == set(GIN)
            # the homeowner's entries were moved out of the pending list by the migration
            cleaned = conn.scalar(text("SELECT gin_clean_pending_list('ix_homeowner_search')"))
            assert cleaned == 0
        else:
            plan = " ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + PLACEHOLDER_QUERY)
            )
            assert "ix_homeowner_placeholder" in plan
    downgrade_database(engine, "0020")
    assert "ix_homeowner_placeholder" not in {
        i["name"] for i in inspect(engine).get_indexes("homeowner")
    }
    if postgresql:
        assert _fastupdate_off(engine) == set()
