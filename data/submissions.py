"""One-time submission tokens: a create form is applied at most once.

Each create form (privacy intake, legal disclosure, staff account) is rendered with a fresh
random token and sends it with every post. :func:`claim` inserts the token as the *first*
write of the transaction that creates the record, and :func:`settle` names the record it made.
A second post with the same token — a double-click, a network retry, a second worker handling
the same click — hits the primary key and gets :class:`AlreadySubmitted` naming the record the
first post made, so the page can show the same result instead of creating a copy.

Why the first write: on PostgreSQL a concurrent insert of the same key waits for the first
transaction and fails once it commits; on SQLite the insert takes the write lock at once, so the
second writer waits (``busy_timeout``) and then fails the same way. In both cases the waiting
transaction has done nothing else yet. A form whose transaction failed (validation, refusal)
rolls the token back with everything else, so the officer can correct the form and send it again.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.models import SubmissionToken
from data.timeutil import utcnow

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STALE_FORM = "This form is out of date. Reload the page and enter it again."


class SubmissionError(ValueError):
    """The token is missing or malformed; the message is safe to show."""


class AlreadySubmitted(SubmissionError):
    """This form was already applied; ``object_id`` is what the first submission created."""

    def __init__(self, form: str, object_type: str | None, object_id: int | None) -> None:
        self.form = form
        self.object_type = object_type
        self.object_id = object_id
        super().__init__("This form was already sent; it was not applied a second time.")


def new_token() -> str:
    """A fresh token for a newly rendered (or just reset) form: 128 random bits."""
    return secrets.token_urlsafe(16)


def check_token(token: object) -> str:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise SubmissionError(STALE_FORM)
    return token


def claim(
    session: Session, token: object, form: str, actor: str, now: datetime | None = None
) -> SubmissionToken:
    """Record ``token`` as used by ``form``; AlreadySubmitted if it was used before.

    The failed insert dooms the caller's transaction (PostgreSQL aborts it), so the first
    submission's row is read on a separate connection: by then it is committed, since the
    conflict is only reported once the first transaction has ended. No savepoint is used:
    with Python's sqlite3 driver a savepoint opened before any other statement is committed
    on release, which would keep the token of a form that then failed validation.
    """
    token_ = check_token(token)
    row = SubmissionToken(token=token_, form=form, actor=actor[:80], at=now or utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        with session.get_bind().connect() as conn:
            first = conn.execute(
                select(
                    SubmissionToken.form, SubmissionToken.object_type, SubmissionToken.object_id
                ).where(SubmissionToken.token == token_)
            ).first()
        if first is None:  # pragma: no cover - the conflicting row was committed
            raise AlreadySubmitted(form, None, None) from None
        raise AlreadySubmitted(first[0], first[1], first[2]) from None
    return row


def settle(row: SubmissionToken, object_type: str, object_id: int) -> None:
    """Name the record the submission created (shown to a repeated submission)."""
    row.object_type = object_type
    row.object_id = object_id
