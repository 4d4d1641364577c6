"""Redacted twins recomputed where an email address hid a format character.

``data.redaction`` used to read invisible format characters (zero-width spaces and joiners,
soft hyphens) as spaces before looking for email addresses, so ``jabu.mokoena@out<ZWSP>look.com``
was stored in ``*_redacted`` as typed. The email search now sees the text as a reader does.
This recomputes the stored twin of every text that could hold such an address (an ``@``, a
full-width ``＠`` or an ``at``, and a format character) and writes the ones that changed.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _may_hold_an_address(text: sa.ColumnElement) -> sa.ColumnElement[bool]:
    return sa.or_(*(sa.func.lower(text).contains(c) for c in ("@", "\uff20", "at")))


def _has_format_character(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" for ch in text)


def upgrade() -> None:
    from data.free_text import rewrite_stored_twins

    rewrite_stored_twins(
        op.get_bind(),
        where=_may_hold_an_address,
        only=_has_format_character,
    )


def downgrade() -> None:
    """Nothing to undo: the twins are what the redaction of this version computes."""
