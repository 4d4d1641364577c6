"""Login throttling that holds when thirty attempts arrive at once.

The rule is *record first, then decide*: an attempt is inserted (as not successful) before
anything is counted, and the decision is taken while holding a lock per username and per
address, so attempts for one user are decided one after the other and each sees every attempt
decided before it (including ones still being checked, which count as failures until they
succeed). The lock is ``pg_advisory_xact_lock`` on PostgreSQL (released at commit) and, on
SQLite, the database write lock the INSERT has already taken (SQLite serialises writers).

Two limits, kept apart so that one cannot be used against the other:

* per username: :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` refuse further
  attempts for that username (a hard limit: a password is never guessed in more than five
  tries per quarter hour);
* per address: after :data:`ADDRESS_FREE_FAILURES` failed checks within the window, each further
  attempt must wait a delay that doubles with every further failure (1 s, 2 s, 4 s … at most
  :data:`ADDRESS_MAX_DELAY`), counted from the address's last failed check. Many people sit
  behind one proxy address, so the address is slowed down rather than locked out, and attempts
  the throttle refused do not grow the delay.

The address is whatever ``request.remote_addr`` says after ``BEHIND_PROXY=N`` trusted hops
(``app.py``), so a forged ``X-Forwarded-For`` cannot pick a fresh address per attempt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from data.models import LoginAttempt

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
ADDRESS_FREE_FAILURES = 10
ADDRESS_BASE_DELAY = timedelta(seconds=1)
ADDRESS_MAX_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Decision:
    """Whether the password may be checked; ``reason`` is ``"user"`` or ``"address"`` when
    not, with ``wait`` the time until the address may try again."""

    allowed: bool
    reason: str | None = None
    wait: timedelta = timedelta(0)


def lock_key(kind: str, value: str) -> int:
    """A signed 64-bit advisory-lock key for ``kind:value`` (PostgreSQL)."""
    digest = hashlib.sha256(f"login-throttle:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _serialise(session: Session, username: str, address: str) -> None:
    """Take the per-user, then the per-address lock (always in this order: no deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the INSERT already holds the database's single write lock
    for kind, value in (("user", username), ("address", address)):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(kind, value)})


def address_delay(failures: int) -> timedelta:
    """The wait before an address's next attempt, after ``failures`` failed checks."""
    if failures < ADDRESS_FREE_FAILURES:
        return timedelta(0)
    steps = min(failures - ADDRESS_FREE_FAILURES, 20)
    return min(ADDRESS_BASE_DELAY * (2**steps), ADDRESS_MAX_DELAY)


def record_and_decide(
    session: Session, username: str, address: str, now: datetime
) -> tuple[LoginAttempt, Decision]:
    """Insert this attempt, serialise, and decide whether its password may be checked."""
    attempt = LoginAttempt(username=username, address=address, at=now, success=False)
    session.add(attempt)
    session.flush()
    _serialise(session, username, address)
    since = now - FAILURE_WINDOW
    not_ok = (
        LoginAttempt.id != attempt.id,
        LoginAttempt.at >= since,
        LoginAttempt.success.is_(False),
    )
    user_failures = (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.username == username, *not_ok)
        )
        or 0
    )
    if user_failures >= MAX_FAILURES:
        attempt.throttled = True
        return attempt, Decision(False, "user", FAILURE_WINDOW)
    checked = (LoginAttempt.throttled.is_(None)) | (LoginAttempt.throttled.is_(False))
    count, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.address == address, checked, *not_ok
        )
    ).one()
    delay = address_delay(count or 0)
    if delay and last is not None and now < last + delay:
        attempt.throttled = True
        return attempt, Decision(False, "address", last + delay - now)
    attempt.throttled = False
    return attempt, Decision(True)
