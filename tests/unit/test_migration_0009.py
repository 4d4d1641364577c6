"""Migration 0009 on a database that already holds data (issue 12, points 1, 4 and 6).

A database is migrated to 0008, filled the way the code before issue 12 stored things (emails
lower-cased by hand, an internationalised domain left in punycode, an opt-out digest of that
form, free text with a phone number, audit entries without hashes), then upgraded. Expected
values are written out by hand; the digests are computed here with the standard library.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import text

from data.audit_chain import verify
from data.db import make_engine, upgrade_database

KEY = b"migration-test-key"


def _digest(message: str) -> str:
    return hmac.new(KEY, message.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def at_0008(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPRESSION_KEY", KEY.decode())
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_database(engine, "0008")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO homeowner (id, first_name, last_name, email, phone, street, "
                "whatsapp_opt_in, source_site, created_at, last_activity_at) VALUES "
                "(1, 'Thandi', 'Nkosi', 'thandi@xn--mnchen-3ya.de', '+27821234567', "
                "'12 Jacaranda Street', 0, 'main', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO suppression (kind, digest, reason, created_at) VALUES "
                "('email', :d, 'opt_out', '2026-02-01')"
            ),
            {"d": _digest("email:thandi@xn--mnchen-3ya.de")},
        )
        conn.execute(text("INSERT INTO trade (id, code, name) VALUES (1, 'plumbing', 'Plumbing')"))
        conn.execute(text("INSERT INTO service_type (id, code, name) VALUES (1, 'q', 'Quote')"))
        conn.execute(
            text(
                "INSERT INTO lead (id, homeowner_id, trade_id, service_type_id, description, "
                "province, channel, created_at, status) VALUES (1, 1, 1, 1, "
                "'Leaking geyser, Thandi here: cell0821234567', 'Gauteng', 'organic', "
                "'2026-01-02', 'created')"
            )
        )
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action) "
                    f"VALUES ('2026-01-0{i + 1} 10:00:00', 'admin', 'login')"
                )
            )
    yield engine
    engine.dispose()


def test_upgrade_renormalises_identifiers_and_pairs_their_digests(at_0008):
    upgrade_database(at_0008)
    with at_0008.connect() as conn:
        email = conn.scalar(text("SELECT email FROM homeowner WHERE id = 1"))
        digests = set(conn.scalars(text("SELECT digest FROM suppression")))
    assert email == "thandi@münchen.de"
    assert digests == {
        _digest("email:thandi@xn--mnchen-3ya.de"),
        _digest("email:thandi@münchen.de"),
    }


def test_upgrade_redacts_existing_text_and_chains_existing_audit_entries(at_0008):
    upgrade_database(at_0008)
    with at_0008.connect() as conn:
        redacted = conn.scalar(text("SELECT description_redacted FROM lead WHERE id = 1"))
        verdict = verify(conn)
    assert redacted == "Leaking geyser, [name removed] here: cell[phone removed]"
    assert (verdict.ok, verdict.checked) == (True, 3)
