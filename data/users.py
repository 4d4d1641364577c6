"""Staff accounts: creation, password checks and login rate limiting.

Passwords are hashed with werkzeug's default (scrypt, salted, memory-hard). Login attempts are
kept in the database rather than in process memory so that the limit holds across several
gunicorn workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from data import audit
from data.models import ROLES, LoginAttempt, User
from data.timeutil import utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
USERNAME_MAX = 80
PASSWORD_MIN = 4

# Checked against when the username is unknown, so that a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserError(ValueError):
    """A user operation was refused; the message is safe to show."""


@dataclass(frozen=True)
class SessionUser:
    """What the web layer keeps about the logged-in user (no ORM object outlives its session)."""

    id: int
    username: str
    role: str


@dataclass(frozen=True)
class LoginResult:
    user: SessionUser | None
    error: str | None


def create_user(session: Session, username: str, password: str, role: str, actor: str) -> User:
    username = username.strip()
    if not username or len(username) > USERNAME_MAX:
        raise UserError(f"username must be 1–{USERNAME_MAX} characters")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < PASSWORD_MIN:
        raise UserError(f"password must be at least {PASSWORD_MIN} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, {"role": role})
    return user


def load_session_user(session: Session, user_id: int) -> SessionUser | None:
    """The active user with this id, or None (deactivated users lose their sessions)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return SessionUser(user.id, user.username, user.role)


def _recent_failures(session: Session, column, value: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(column == value, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
        )
        or 0
    )


def authenticate(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a login, rate limited per username and per address; every attempt is recorded."""
    username = (username or "").strip()[:USERNAME_MAX]
    address = (address or "unknown")[:64]
    if (
        _recent_failures(session, LoginAttempt.username, username) >= MAX_FAILURES
        or _recent_failures(session, LoginAttempt.address, address) >= MAX_FAILURES * 4
    ):
        audit.record(session, username or "anonymous", "login.throttled", details={})
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        return LoginResult(None, f"Too many failed attempts. Try again in {minutes} minutes.")
    user = session.scalar(select(User).where(User.username == username))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = bool(user and user.active and valid)
    session.add(LoginAttempt(username=username, address=address, at=utcnow(), success=ok))
    if not ok:
        audit.record(session, username or "anonymous", "login.failed", details={})
        return LoginResult(None, "Unknown user or wrong password.")
    assert user is not None
    user.last_login_at = utcnow()
    audit.record(session, user.username, "login", "user", user.id, {})
    return LoginResult(SessionUser(user.id, user.username, user.role), None)
