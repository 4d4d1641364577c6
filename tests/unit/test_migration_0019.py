"""Migration 0019: stored redacted twins that kept an email address with a hidden character.

The database is migrated to 0018 and filled as the redaction before 0019 stored things: the
twin of a description holding ``jabu.mokoena@out<ZERO WIDTH SPACE>look.com`` kept the address.
Expected twins are written out by hand.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from data.db import make_engine, upgrade_database

LEAKED = "Call Jabu, or mail jabu.mokoena@out\u200blook.com"
PLAIN = "Plumber arrived at 9, all good"


@pytest.fixture
def at_0018(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_database(engine, "0018")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO homeowner (id, first_name, last_name, email, phone, street, "
                "whatsapp_opt_in, source_site, created_at, last_activity_at) VALUES "
                "(1, 'Jabu', 'Mokoena', 'jabu@example.com', '+27821234567', "
                "'3 Oak Lane', 0, 'main', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(text("INSERT INTO trade (id, code, name) VALUES (1, 'plumbing', 'Plumbing')"))
        conn.execute(text("INSERT INTO service_type (id, code, name) VALUES (1, 'q', 'Quote')"))
        for lead_id, description, twin in (
            (1, LEAKED, "Call [name removed], or mail jabu.mokoena@out look.com"),
            (2, PLAIN, PLAIN),
            (3, "Left at the gate \u200b", "Left at the gate  "),  # no address: stays
        ):
            conn.execute(
                text(
                    "INSERT INTO lead (id, homeowner_id, trade_id, service_type_id, description, "
                    "description_redacted, province, channel, created_at, status) VALUES "
                    "(:id, 1, 1, 1, :d, :t, 'Gauteng', 'organic', '2026-01-02', 'created')"
                ),
                {"id": lead_id, "d": description, "t": twin},
            )
    yield engine
    engine.dispose()


def test_upgrade_removes_the_address_the_old_twin_kept(at_0018):
    upgrade_database(at_0018)
    with at_0018.connect() as conn:
        twins = dict(conn.execute(text("SELECT id, description_redacted FROM lead")).all())
    assert twins == {
        1: "Call [name removed], or mail [email removed]",
        2: PLAIN,
        3: "Left at the gate  ",
    }
