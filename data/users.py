"""Staff accounts: creation, password checks, session versions and login rate limiting.

Passwords are hashed with werkzeug's scrypt (salted, memory-hard); ``PASSWORD_HASH_METHOD`` may
name cheaper parameters where no real password lives (the test suite logs in thousands of times and
sets ``scrypt:1024:8:1``). A stored hash names its own parameters, so changing the setting never
locks anyone out. Login attempts are
kept in the database rather than in process memory so that the limit holds across several
gunicorn workers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from data import audit, submissions, throttle
from data.models import ROLES, User
from data.timeutil import utcnow

MAX_FAILURES = throttle.MAX_FAILURES
USERNAME_MAX = 80
PASSWORD_MIN = 4
# Accounts created or reset on the users page: the password policy of the trust issue.
NEW_PASSWORD_MIN = 12
PASSWORD_MAX = 200
# Usernames appear in the audit log, grids and messages: plain characters only, so a name can
# never carry markup or look like another (no spaces, no lookalike punctuation).
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")

DEFAULT_HASH_METHOD = "scrypt"  # werkzeug's cost: N=32768, r=8, p=1
HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)


def hash_password(password: str) -> str:
    """The stored form of a password, with the configured method and a fresh salt."""
    return generate_password_hash(password, method=HASH_METHOD)


# Checked against when the username is unknown, so that a miss costs as much as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


class UserError(ValueError):
    """A user operation was refused; the message is safe to show."""


@dataclass(frozen=True)
class SessionUser:
    """What the web layer keeps about the logged-in user (no ORM object outlives its session)."""

    id: int
    username: str
    role: str
    session_version: int = 0


@dataclass(frozen=True)
class LoginResult:
    user: SessionUser | None
    error: str | None


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    actor: str,
    *,
    min_password: int = PASSWORD_MIN,
    token: str | None = None,
) -> User:
    """Create an active account. ``min_password`` is raised to :data:`NEW_PASSWORD_MIN` by the
    users page; ``token`` is that form's one-time token (``data.submissions``), so a
    double-click creates one account."""
    claimed = submissions.claim(session, token, "user_create", actor) if token is not None else None
    username = username.strip()
    if not username or len(username) > USERNAME_MAX:
        raise UserError(f"Enter a username of 1 to {USERNAME_MAX} characters.")
    if not USERNAME_RE.match(username):
        raise UserError(
            "A username may contain only letters, digits, dots, dashes and underscores."
        )
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < min_password:
        raise UserError(f"The password must be at least {min_password} characters long.")
    if len(password) > PASSWORD_MAX:
        raise UserError(f"The password must be at most {PASSWORD_MAX} characters long.")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    if claimed is not None:
        submissions.settle(claimed, "user", user.id)
    audit.record(session, actor, "user.create", "user", user.id, {"role": role})
    return user


def load_session_user(db: Session | Connection, user_id: int) -> SessionUser | None:
    """The active user with this id, or None (deactivated users lose their sessions).

    Run for every request (``auth.load_user``), so it reads the four columns it needs with one
    query and builds no ORM object (issue 17)."""
    row = db.execute(
        select(User.id, User.username, User.role, User.session_version, User.active).where(
            User.id == user_id
        )
    ).first()
    if row is None or not row.active:
        return None
    return SessionUser(row.id, row.username, row.role, row.session_version or 0)


def authenticate(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a login: the attempt is recorded first, then the throttle decides
    (``data.throttle``), and only then is the password checked. A failure is audited under the
    username when such a user exists, else as ``anonymous`` (never the typed text)."""
    username = (username or "").strip()[:USERNAME_MAX]
    address = (address or "unknown")[:64]
    now = utcnow()
    attempt, decision = throttle.record_and_decide(session, username, address, now)
    user = session.scalar(select(User).where(User.username == username))
    actor = user.username if user is not None else audit.ANONYMOUS
    if not decision.allowed:
        audit.record(session, actor, "login.throttled", details={"limit": decision.reason})
        if decision.reason == "user":
            minutes = int(throttle.FAILURE_WINDOW.total_seconds() // 60)
            return LoginResult(None, f"Too many failed attempts. Try again in {minutes} minutes.")
        seconds = max(1, int(decision.wait.total_seconds() + 0.999))
        return LoginResult(
            None, f"Too many failed attempts from your network. Try again in {seconds} seconds."
        )
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = bool(user and user.active and valid)
    attempt.success = ok
    if not ok:
        audit.record(session, actor, "login.failed", details={})
        return LoginResult(None, "Unknown user or wrong password.")
    assert user is not None
    user.last_login_at = now
    audit.record(session, user.username, "login", "user", user.id, {})
    return LoginResult(session_user(user), None)


def session_user(user: User) -> SessionUser:
    return SessionUser(user.id, user.username, user.role, user.session_version or 0)


def end_sessions(user: User) -> None:
    """End every session of ``user`` (all its cookies, copies included) on their next request."""
    user.session_version = (user.session_version or 0) + 1


# --- user administration (the /admin/users page) --------------------------------------------
# The actor is named by username, as in ``create_user``. Administrators cannot lock themselves
# out (deactivate or demote their own account), and the last active administrator stays one.


def _user_or_error(session: Session, user_id: object) -> User:
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise UserError("unknown user")
    user = session.get(User, user_id)
    if user is None:
        raise UserError("unknown user")
    return user


def _other_active_admins(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.id != user_id)
        )
        or 0
    )


def set_active(session: Session, user_id: object, active: bool, actor: str) -> User:
    """Deactivate or reactivate an account; either way its sessions end (a cookie copied before
    a deactivation must not come back to life with the account)."""
    user = _user_or_error(session, user_id)
    if user.active == active:
        raise UserError(f"user {user.username!r} is already {'active' if active else 'inactive'}")
    if not active:
        if user.username == actor:
            raise UserError("you cannot deactivate your own account")
        if user.role == "admin" and _other_active_admins(session, user.id) == 0:
            raise UserError("the last active administrator cannot be deactivated")
    user.active = active
    end_sessions(user)
    action = "user.activate" if active else "user.deactivate"
    audit.record(session, actor, action, "user", user.id, {})
    return user


def change_role(session: Session, user_id: object, role: object, actor: str) -> User:
    user = _user_or_error(session, user_id)
    if not isinstance(role, str) or role not in ROLES:
        raise UserError(f"unknown role; choose one of {', '.join(ROLES)}")
    if user.role == role:
        raise UserError(f"user {user.username!r} already has the role {role}")
    if user.username == actor:
        raise UserError("you cannot change your own role")
    if user.role == "admin" and user.active and _other_active_admins(session, user.id) == 0:
        raise UserError("the last active administrator must stay an administrator")
    previous = user.role
    user.role = role
    end_sessions(user)
    details = {"from": previous, "to": role}
    audit.record(session, actor, "user.role_change", "user", user.id, details)
    return user


def reset_password(
    session: Session,
    user_id: object,
    password: object,
    actor: str,
    *,
    min_password: int = PASSWORD_MIN,
) -> User:
    """Set a new password (to hand over out of band); the audit entry holds no secret."""
    user = _user_or_error(session, user_id)
    if not isinstance(password, str) or len(password) < min_password:
        raise UserError(f"password must be at least {min_password} characters")
    if len(password) > 200:
        raise UserError("password must be at most 200 characters")
    user.password_hash = hash_password(password)
    end_sessions(user)
    audit.record(session, actor, "user.password_reset", "user", user.id, {})
    return user


def list_users(session: Session) -> list[dict[str, object]]:
    """Every account (no password hashes), for the users page."""
    rows = session.execute(
        select(
            User.id, User.username, User.role, User.active, User.created_at, User.last_login_at
        ).order_by(User.username)
    ).all()
    return [
        {
            "id": r[0],
            "username": r[1],
            "role": r[2],
            "active": bool(r[3]),
            "created_at": r[4],
            "last_login_at": r[5],
        }
        for r in rows
    ]
