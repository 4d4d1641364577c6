"""Accounts: hashing, validation, rate limiting per user and per address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import AuditLog, User
from data.users import MAX_FAILURES, UserError, authenticate, create_user


def test_password_is_stored_as_a_slow_salted_hash(db):
    with session_scope(db) as s:
        create_user(s, "alice", "s3cret!", "manager", actor="test")
        create_user(s, "bob", "s3cret!", "manager", actor="test")
    with session_scope(db) as s:
        hashes = s.scalars(select(User.password_hash)).all()
    assert all(h.startswith("scrypt:") for h in hashes)
    assert hashes[0] != hashes[1]  # salted
    assert "s3cret!" not in "".join(hashes)


def test_real_passwords_get_werkzeugs_full_scrypt_cost():
    """The suite hashes cheaply (tests/conftest.py); without the setting the cost is N=32768."""
    from werkzeug.security import generate_password_hash

    from data.users import DEFAULT_HASH_METHOD

    assert generate_password_hash("x", method=DEFAULT_HASH_METHOD).startswith("scrypt:32768:8:1$")


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("", "pw12345", "manager", "username"),
        ("x" * 81, "pw12345", "manager", "username"),
        ("carol", "pw12345", "superuser", "unknown role"),
        ("carol", "pw", "manager", "at least"),
    ],
)
def test_create_user_validates(db, username, password, role, message):
    with pytest.raises(UserError, match=message), session_scope(db) as s:
        create_user(s, username, password, role, actor="test")


def test_duplicate_username_is_refused(db):
    with session_scope(db) as s:
        create_user(s, "alice", "pw12345", "manager", actor="test")
    with pytest.raises(UserError, match="already exists"), session_scope(db) as s:
        create_user(s, "alice", "pw12345", "admin", actor="test")


def test_authenticate_success_and_failure_are_audited(db):
    with session_scope(db) as s:
        create_user(s, "alice", "pw12345", "manager", actor="test")
    with session_scope(db) as s:
        ok = authenticate(s, "alice", "pw12345", "10.0.0.1")
        bad = authenticate(s, "alice", "nope", "10.0.0.1")
        unknown = authenticate(s, "mallory", "pw12345", "10.0.0.1")
    assert ok.user is not None and ok.user.role == "manager"
    assert bad.user is None and bad.error == unknown.error  # no user enumeration
    with session_scope(db) as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-3:] == ["login", "login.failed", "login.failed"]


def test_inactive_user_cannot_log_in(db):
    with session_scope(db) as s:
        create_user(s, "alice", "pw12345", "manager", actor="test").active = False
    with session_scope(db) as s:
        assert authenticate(s, "alice", "pw12345", "10.0.0.1").user is None


def test_rate_limit_per_username_blocks_even_the_right_password(db):
    with session_scope(db) as s:
        create_user(s, "alice", "pw12345", "manager", actor="test")
    for _ in range(MAX_FAILURES):
        with session_scope(db) as s:
            assert authenticate(s, "alice", "wrong", "10.0.0.1").user is None
    with session_scope(db) as s:
        result = authenticate(s, "alice", "pw12345", "10.0.0.2")
    assert result.user is None and "Too many" in (result.error or "")


def test_rate_limit_per_address_covers_many_usernames(db):
    with session_scope(db) as s:
        create_user(s, "alice", "pw12345", "manager", actor="test")
    for i in range(MAX_FAILURES * 4):
        with session_scope(db) as s:
            authenticate(s, f"guess{i}", "wrong", "10.0.0.9")
    with session_scope(db) as s:
        assert authenticate(s, "alice", "pw12345", "10.0.0.9").user is None
        assert authenticate(s, "alice", "pw12345", "10.0.0.8").user is not None
