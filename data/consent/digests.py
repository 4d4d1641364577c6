"""Each homeowner's contact digests: the do-not-contact list's keyed HMAC
(:func:`data.do_not_contact.stored_form_digest`) of their stored email and phone, kept on the
row (``homeowner.email_digest`` / ``phone_digest``, indexed).

Why: the compliance rule "suppressed contacts back as new homeowners" matches homeowners
against the do-not-contact list, which holds only digests. An HMAC has no SQL form, so without
stored digests every homeowner created in the period was digested in Python at every view
(139 000 for 90 days at 1M leads: 1.2 s). Stored, the rule is an indexed join.

Staying right: a digest is a function of the stored value and the key, so it is recomputed
whenever the value may have been written, in the writer's transaction (hooks installed when
``data.consent`` is imported):

* ORM flushes: homeowners added, or whose email or phone changed, get their digests set before
  the flush writes them;
* bulk ``UPDATE`` statements on ``homeowner`` through a session (the erasure's, which clears
  email and phone): the rows the statement's ``WHERE`` matched are recomputed after it;
  bulk ``INSERT`` statements: every row still missing its digests is filled after it;
* loads that bypass sessions carry them (the demo builder loads :func:`digest_columns`) or
  call :func:`fill` after (migration 0017 does).

The key is the one in force (:func:`data.do_not_contact.suppression_key`); it is never
rotated (losing it already makes the do-not-contact list unmatchable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, event, func, inspect, or_, select, text, true
from sqlalchemy.orm import ORMExecuteState, Session

from data.consent.rollup_upkeep import statement_table
from data.do_not_contact import stored_form_digest, suppression_key
from data.models import Homeowner

BATCH = 2_000  # rows per UPDATE … FROM (VALUES …) (bound parameters per statement)
SPAN = 50_000  # ids per read when filling a whole table
MISSING = or_(
    and_(Homeowner.email.isnot(None), Homeowner.email_digest.is_(None)),
    and_(Homeowner.phone.isnot(None), Homeowner.phone_digest.is_(None)),
)
Digests = tuple[str | None, str | None]


def digests(email: str | None, phone: str | None, key: bytes) -> Digests:
    """The (email, phone) digests of stored values (None for a missing value)."""
    return (
        stored_form_digest("email", email, key) if email else None,
        stored_form_digest("phone", phone, key) if phone else None,
    )


def digest_columns(
    emails: list[str | None], phones: list[str | None], key: bytes
) -> dict[str, list[str | None]]:
    """The two digest columns of homeowners about to be loaded in bulk (the demo builder: an
    ``UPDATE`` pass after the load took minutes at 1M leads; this is 1.6M HMACs, seconds)."""
    pairs = [digests(e, p, key) for e, p in zip(emails, phones, strict=True)]
    return {"email_digest": [d[0] for d in pairs], "phone_digest": [d[1] for d in pairs]}


def _write(conn: Connection, rows: list[tuple[int, str | None, str | None]]) -> None:
    """Set many homeowners' digests, one ``UPDATE … FROM (VALUES …)`` per batch (both
    databases name a ``VALUES`` list's columns ``column1``…): row by row, or as an
    ``executemany``, would be a round trip per homeowner on PostgreSQL."""
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        params: dict[str, Any] = {}
        values = []
        for n, (homeowner_id, email_digest, phone_digest) in enumerate(part):
            values.append(f"(:i{n}, :e{n}, :p{n})")
            params |= {f"i{n}": homeowner_id, f"e{n}": email_digest, f"p{n}": phone_digest}
        # Only placeholders are formatted in; every value is a bound parameter. (SQLAlchemy's
        # ``values()`` names the columns ``AS v(a, b)``, which SQLite cannot parse.)
        rows_sql = ", ".join(values)
        statement = f"UPDATE homeowner SET email_digest = v.column2, phone_digest = v.column3 FROM (VALUES {rows_sql}) AS v WHERE homeowner.id = v.column1"  # noqa: S608, E501
        conn.execute(text(statement), params)


def refresh(conn: Connection, where: Any, key: bytes | None = None) -> int:
    """Recompute the digests of the homeowners matching ``where``; the number changed."""
    secret = key or suppression_key()
    rows = conn.execute(
        select(
            Homeowner.id,
            Homeowner.email,
            Homeowner.phone,
            Homeowner.email_digest,
            Homeowner.phone_digest,
        ).where(where)
    )
    changed = []
    for homeowner_id, email, phone, *stored in rows:
        now = digests(email, phone, secret)
        if now != tuple(stored):
            changed.append((int(homeowner_id), *now))
    _write(conn, changed)
    return len(changed)


def fill(conn: Connection, key: bytes | None = None, where: Any = MISSING) -> int:
    """Recompute the digests of the rows matching ``where`` (by default: those missing
    theirs) over the whole table, in spans of ids; the number changed."""
    low, high = conn.execute(select(func.min(Homeowner.id), func.max(Homeowner.id))).one()
    if low is None:
        return 0
    secret = key or suppression_key()
    return sum(
        refresh(conn, and_(Homeowner.id >= start, Homeowner.id < start + SPAN, where), secret)
        for start in range(int(low), int(high) + 1, SPAN)
    )


# --- the hooks ---------------------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: object, _instances: object) -> None:
    written = [o for o in session.new if isinstance(o, Homeowner)]
    for obj in session.dirty:
        if isinstance(obj, Homeowner):
            state = inspect(obj)
            if any(state.attrs[c].history.has_changes() for c in ("email", "phone")):
                written.append(obj)
    if not written:
        return
    key = suppression_key()
    for obj in written:
        obj.email_digest, obj.phone_digest = digests(obj.email, obj.phone, key)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_insert):
        return None
    table = statement_table(state.statement)
    if table is None or table.name != "homeowner":
        return None
    conn = state.session.connection()
    where = getattr(state.statement, "whereclause", None)
    params = state.parameters
    if state.is_insert or where is None or not (params is None or isinstance(params, Mapping)):
        result = state.invoke_statement()
        fill(conn, where=true() if state.is_update else MISSING)
        return result
    ids = [i for (i,) in conn.execute(select(table.c.id).where(where), dict(params or {}))]
    result = state.invoke_statement()
    for start in range(0, len(ids), BATCH):
        refresh(conn, Homeowner.id.in_(ids[start : start + BATCH]))
    return result
