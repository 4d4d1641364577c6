"""Homeowners' stored contact digests (``data.consent.digests``) against HMACs computed here by
hand, through every way a homeowner is written, and the suppressed-reappearing rule's join
against an expectation listed by hand (with its near misses).

Window: March 2026 in South Africa (2026-02-28 22:00 UTC up to 2026-03-31 22:00 UTC).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import insert, select, update

from data.compliance import records
from data.compliance.common import Window
from data.consent.digests import fill
from data.db import session_scope
from data.do_not_contact import suppression_key
from data.erasure.execute import erase_subject
from data.models import Homeowner, Suppression
from tests.factories import add_homeowner
from tests.unit.test_demo import demo  # noqa: F401  (the demo build, a fixture)

W = Window(datetime(2026, 2, 28, 22), datetime(2026, 3, 31, 22), datetime(2026, 3, 31, 12))


def _hmac(kind: str, stored: str) -> str:
    """By hand: HMAC-SHA256 of ``kind:stored value`` under the key in force, as hex."""
    return hmac.new(suppression_key(), f"{kind}:{stored}".encode(), hashlib.sha256).hexdigest()


def _stored(db, homeowner_id: int) -> tuple:
    with db.connect() as conn:
        row = conn.execute(
            select(Homeowner.email_digest, Homeowner.phone_digest).where(
                Homeowner.id == homeowner_id
            )
        ).one()
    return tuple(row)


def test_digests_follow_every_write(db):
    with session_scope(db) as s:  # ORM insert
        h = add_homeowner(s, email="a@example.co.za", phone="+27825550101").id
        bare = add_homeowner(s, email=None, phone=None).id
    assert _stored(db, h) == (_hmac("email", "a@example.co.za"), _hmac("phone", "+27825550101"))
    assert _stored(db, bare) == (None, None)
    with session_scope(db) as s:  # ORM update of one value
        s.get(Homeowner, h).email = "b@example.co.za"
    assert _stored(db, h) == (_hmac("email", "b@example.co.za"), _hmac("phone", "+27825550101"))
    with session_scope(db) as s:  # bulk UPDATE statement
        s.execute(update(Homeowner).where(Homeowner.id == bare).values(phone="+27825550202"))
    assert _stored(db, bare) == (None, _hmac("phone", "+27825550202"))
    with session_scope(db) as s:  # bulk INSERT statement
        s.execute(insert(Homeowner).values(email="c@example.co.za", created_at=W.now,
                                           last_activity_at=W.now))  # fmt: skip
        added = s.scalar(select(Homeowner.id).where(Homeowner.email == "c@example.co.za"))
    assert _stored(db, added) == (_hmac("email", "c@example.co.za"), None)
    with session_scope(db) as s:  # the erasure clears email and phone: the digests go too
        erase_subject(s, "homeowner", h, now=W.now, verify=False)
    assert _stored(db, h) == (None, None)
    with db.begin() as conn:  # a load that bypassed sessions: fill() finds the missing ones
        conn.execute(update(Homeowner).values(email_digest=None, phone_digest=None))
        assert fill(conn) == 2
        assert fill(conn) == 0
    assert _stored(db, bare) == (None, _hmac("phone", "+27825550202"))
    assert _stored(db, added) == (_hmac("email", "c@example.co.za"), None)


def test_suppressed_reappearing_is_a_join_on_the_digests(db):
    entry_at = datetime(2026, 3, 5, 10)
    with session_scope(db) as s:
        for kind, stored, reason in (
            ("email", "gone@example.co.za", "erasure"),
            ("phone", "+27825550101", "service_opt_out"),
            ("email", "both@example.co.za", "objection"),
            ("phone", "+27825550303", "erasure"),
        ):
            s.add(Suppression(kind=kind, digest=_hmac(kind, stored), reason=reason,
                              created_at=entry_at))  # fmt: skip

        def new(at: datetime, **fields) -> int:
            return add_homeowner(s, created_at=at, **fields).id

        after = datetime(2026, 3, 6)
        expected = {
            new(after, email="gone@example.co.za"): "erased_earlier",
            new(after, email=None, phone="+27825550101"): "opted_out",
            # email from an objection, phone from an erasure: the erasure decides
            new(after, email="both@example.co.za", phone="+27825550303"): "erased_earlier",
        }
        new(entry_at, email="gone@example.co.za")  # not: created at the entry's instant
        new(datetime(2026, 3, 1), phone="+27825550101")  # not: before the entry
        new(datetime(2026, 4, 1), email="gone@example.co.za")  # not: after the window
        new(after, email="other@example.co.za", phone="+27825550909")  # not: no entry
        new(after, email="gone@example.co.za", erased_at=after)  # not: erased
        changed = new(after, email="fresh@example.co.za")
    with session_scope(db) as s:  # changes address to a suppressed one: found from now on
        s.get(Homeowner, changed).email = "gone@example.co.za"
        expected[changed] = "erased_earlier"
    with session_scope(db) as s:
        rows = s.execute(records.suppressed_reappearing(W)).all()
    assert {r.object_id: r.detail for r in rows} == expected
    assert all(r.subject_id == r.object_id and r.object_type == "homeowner" for r in rows)


def test_the_demo_loads_every_homeowners_digests(request):
    """The demo builder loads the digests with the homeowners (no session hooks there)."""
    built = request.getfixturevalue("demo")  # tests/unit/test_demo.py's build (key below)
    key = b"demo-test-key"
    with built.engine.connect() as conn:
        rows = conn.execute(
            select(Homeowner.email, Homeowner.phone, Homeowner.email_digest, Homeowner.phone_digest)
        ).all()
    assert rows and any(r.email_digest for r in rows)
    for email, phone, email_digest, phone_digest in rows:
        assert email_digest == (
            hmac.new(key, f"email:{email}".encode(), hashlib.sha256).hexdigest() if email else None
        )
        assert phone_digest == (
            hmac.new(key, f"phone:{phone}".encode(), hashlib.sha256).hexdigest() if phone else None
        )
