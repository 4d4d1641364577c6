"""User administration: deactivate/reactivate, change role, reset password, all logged, with
the lock-out guards (own account, last administrator)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import AuditLog, User
from data.users import (
    UserError,
    authenticate,
    change_role,
    create_user,
    list_users,
    reset_password,
    set_active,
)


@pytest.fixture
def ids(db):
    with session_scope(db) as s:
        return {
            name: create_user(s, name, "pw-12345", role, actor="test").id
            for name, role in (("ada", "admin"), ("olivia", "privacy_officer"), ("max", "manager"))
        }


def actions(db) -> list[tuple[str, str, str | None, dict | None]]:
    with session_scope(db) as s:
        rows = s.execute(
            select(AuditLog.actor, AuditLog.action, AuditLog.object_id, AuditLog.details)
            .where(AuditLog.action.startswith("user."), AuditLog.action != "user.create")
            .order_by(AuditLog.id)
        ).all()
    return [tuple(r) for r in rows]


def test_deactivate_blocks_login_and_reactivate_restores_it(db, ids):
    with session_scope(db) as s:
        set_active(s, ids["max"], False, actor="ada")
    with session_scope(db) as s:
        assert authenticate(s, "max", "pw-12345", "1.2.3.4").user is None
    with session_scope(db) as s:
        set_active(s, ids["max"], True, actor="ada")
    with session_scope(db) as s:
        assert authenticate(s, "max", "pw-12345", "1.2.3.4").user is not None
    assert [a[:3] for a in actions(db)[:2]] == [
        ("ada", "user.deactivate", str(ids["max"])),
        ("ada", "user.activate", str(ids["max"])),
    ]


def test_change_role_is_logged_with_from_and_to(db, ids):
    with session_scope(db) as s:
        change_role(s, ids["max"], "marketing", actor="ada")
    with session_scope(db) as s:
        assert s.get(User, ids["max"]).role == "marketing"
    assert actions(db) == [
        ("ada", "user.role_change", str(ids["max"]), {"from": "manager", "to": "marketing"})
    ]


def test_reset_password(db, ids):
    with session_scope(db) as s:
        reset_password(s, ids["olivia"], "new-secret", actor="ada")
    with session_scope(db) as s:
        assert authenticate(s, "olivia", "new-secret", "1.2.3.4").user is not None
        assert authenticate(s, "olivia", "pw-12345", "1.2.3.4").user is None
    entry = actions(db)[0]
    assert entry[1] == "user.password_reset" and "new-secret" not in str(entry)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, ids: set_active(s, ids["ada"], False, actor="ada"), "your own account"),
        (lambda s, ids: change_role(s, ids["ada"], "manager", actor="ada"), "your own role"),
        (lambda s, ids: set_active(s, ids["max"], True, actor="ada"), "already active"),
        (lambda s, ids: change_role(s, ids["max"], "manager", actor="ada"), "already has"),
        (lambda s, ids: change_role(s, ids["max"], "root", actor="ada"), "unknown role"),
        (lambda s, ids: reset_password(s, ids["max"], "x", actor="ada"), "at least"),
        (lambda s, ids: reset_password(s, ids["max"], "x" * 201, actor="ada"), "at most"),
        (lambda s, ids: set_active(s, 9999, False, actor="ada"), "unknown user"),
        (lambda s, ids: set_active(s, "1", False, actor="ada"), "unknown user"),
    ],
)
def test_refusals(db, ids, call, message):
    with pytest.raises(UserError, match=message), session_scope(db) as s:
        call(s, ids)


def test_the_last_active_admin_stays(db, ids):
    with session_scope(db) as s:
        other = create_user(s, "root2", "pw-12345", "admin", actor="ada").id
    with session_scope(db) as s:
        set_active(s, ids["ada"], False, actor="root2")  # another admin remains
    with pytest.raises(UserError, match="last active administrator"), session_scope(db) as s:
        change_role(s, other, "manager", actor="olivia")
    with pytest.raises(UserError, match="last active administrator"), session_scope(db) as s:
        set_active(s, other, False, actor="olivia")


def test_list_users_has_no_hashes(db, ids):
    with session_scope(db) as s:
        users = list_users(s)
    assert [u["username"] for u in users] == ["ada", "max", "olivia"]
    assert "password_hash" not in users[0]
