"""Contact digests on homeowners (issue 15): ``homeowner.email_digest`` and ``phone_digest``,
the do-not-contact list's keyed HMAC of the stored email and phone, indexed, so that the
compliance rule "suppressed contacts back as new homeowners" is a join
(``data/consent/digests.py``, ``data/compliance/records.py``).

Data step: every existing homeowner's digests are computed with the key in force
(``data.do_not_contact.suppression_key``) before the indexes are built; an empty database
needs no key. Also drops the consent rollup's population rows that count nothing (the rollup
now keeps none: ``data/consent/rollup.py``), and adds a covering index for coverage's sums
over ``consent_day`` (``ix_consent_day_totals``).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from data.consent.digests import fill

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("email_digest", "phone_digest")
#: A covering index for coverage's sums over days (data/consent/models.py, ConsentDay).
_TOTALS = ("subject_type", "purpose", "site", "day", "granted_delta", "withdrawn_delta")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("homeowner", sa.Column(name, sa.String(64), nullable=True))
    fill(op.get_bind())
    for name in _COLUMNS:
        op.create_index(f"ix_homeowner_{name}", "homeowner", [name])
    op.execute("DELETE FROM consent_population_day WHERE delta = 0")
    op.create_index("ix_consent_day_totals", "consent_day", list(_TOTALS))


def downgrade() -> None:
    op.drop_index("ix_consent_day_totals", table_name="consent_day")
    for name in reversed(_COLUMNS):
        op.drop_index(f"ix_homeowner_{name}", table_name="homeowner")
        op.drop_column("homeowner", name)
