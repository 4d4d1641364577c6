"""Where free text lives, its stored redacted twin, and the rule that keeps the twin current.

Three columns hold text a homeowner (or staff about a homeowner) typed: ``lead.description``,
``review.comment`` and ``interaction.notes``. Each has a ``*_redacted`` twin holding
``data.redaction.redact`` of it, with the homeowner's own first name, last name and street
removed too. The twin is computed when the text is written, never when it is shown:

* every ORM write (a new row, a changed text, a changed homeowner id): a ``before_flush`` hook;
* a homeowner whose name or street changes (a correction): the twins of all their texts are
  recomputed, with the old *and* the new spelling removed;
* the demo generator's bulk loads (no ORM): ``data.demo.free_text`` calls :func:`redacted_for`;
* migrations that add the twins or change the redaction: :func:`rewrite_stored_twins`.

Readers for roles that may not see people (``data.roles``: ``see_people``) select the twin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.orm import Session

from data.models import Homeowner, Interaction, Lead, Review
from data.redaction import redact

#: model → (text column, redacted twin)
FREE_TEXT: dict[type, tuple[str, str]] = {
    Lead: ("description", "description_redacted"),
    Review: ("comment", "comment_redacted"),
    Interaction: ("notes", "notes_redacted"),
}
PERSON_FIELDS = ("first_name", "last_name", "street")


@dataclass(frozen=True)
class Person:
    """What of the homeowner is removed from their texts (several spellings when corrected)."""

    names: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()


def redacted_for(text: str | None, person: Person) -> str | None:
    """The stored redacted form of ``text`` written by or about ``person``."""
    if not text:
        return text
    out = redact(text)
    for street in person.streets:
        out = redact(out, street=street)
    return redact(out, first_name=" ".join(person.names)) if person.names else out


def _person(session: Session, homeowner_id: int | None, extra: Person | None = None) -> Person:
    if homeowner_id is None:
        return extra or Person()
    with session.no_autoflush:
        owner = session.get(Homeowner, homeowner_id)
    names = [n for n in (owner.first_name, owner.last_name) if n] if owner else []
    streets = [owner.street] if owner is not None and owner.street else []
    if extra is not None:
        names += extra.names
        streets += extra.streets
    return Person(tuple(names), tuple(streets))


def _homeowner_of(session: Session, obj: Any) -> int | None:
    if getattr(obj, "homeowner_id", None) is not None:
        return obj.homeowner_id
    lead_id = getattr(obj, "lead_id", None)
    if lead_id is None:
        return None
    with session.no_autoflush:
        return session.scalar(select(Lead.homeowner_id).where(Lead.id == lead_id))


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(n in attrs and attrs[n].history.has_changes() for n in names)


def _old_spellings(owner: Homeowner) -> Person:
    state = inspect(owner)
    old = {f: [v for v in state.attrs[f].history.deleted if v] for f in PERSON_FIELDS}
    return Person(tuple(old["first_name"] + old["last_name"]), tuple(old["street"]))


@event.listens_for(Session, "before_flush")
def _keep_twins_current(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        spec = FREE_TEXT.get(type(obj))
        if spec is None:
            continue
        source, twin = spec
        if obj in session.new or _changed(obj, (source, "homeowner_id", "lead_id")):
            person = _person(session, _homeowner_of(session, obj))
            setattr(obj, twin, redacted_for(getattr(obj, source), person))
    for owner in list(session.dirty):
        if isinstance(owner, Homeowner) and _changed(owner, PERSON_FIELDS):
            _recompute_for_homeowner(session, owner)


def _recompute_for_homeowner(session: Session, owner: Homeowner) -> None:
    person = _person(session, owner.id, _old_spellings(owner))
    with session.no_autoflush:
        for model, (source, twin) in FREE_TEXT.items():
            rows = session.scalars(select(model).where(model.homeowner_id == owner.id))
            for row in rows:
                setattr(row, twin, redacted_for(getattr(row, source), person))


#: rows per executemany when a migration rewrites twins (row-by-row UPDATEs took minutes on a
#: 1M-lead database: a round trip each on PostgreSQL)
REWRITE_CHUNK = 5_000


def rewrite_stored_twins(
    conn: Connection,
    *,
    where: Callable[[sa.ColumnElement[Any]], sa.ColumnElement[bool]] | None = None,
    only: Callable[[str], bool] | None = None,
) -> None:
    """Recompute the stored twin of existing texts and write those that change (migrations).

    Tables are named, not taken from the models: a migration must work on the schema of its
    own revision. ``where`` narrows the texts read, in SQL; ``only`` in Python."""
    owner = sa.table(
        "homeowner",
        *(sa.column(c, sa.String) for c in PERSON_FIELDS),
        sa.column("id", sa.Integer),
    )
    for model, (source, twin) in FREE_TEXT.items():
        table = sa.table(
            str(model.__tablename__),
            sa.column("id", sa.Integer),
            sa.column(source, sa.Text),
            sa.column(twin, sa.Text),
            sa.column("homeowner_id", sa.Integer),
        )
        text = table.c[source]
        rows = conn.execute(
            sa.select(table.c.id, text, table.c[twin], *(owner.c[c] for c in PERSON_FIELDS))
            .select_from(table.outerjoin(owner, owner.c.id == table.c.homeowner_id))
            .where(text.is_not(None) if where is None else where(text))
        ).all()
        changed = []
        for row_id, value, stored, first, last, street in rows:
            if only is not None and not only(value):
                continue
            person = Person(tuple(n for n in (first, last) if n), (street,) if street else ())
            new = redacted_for(value, person)
            if new != stored:
                changed.append({"_id": row_id, twin: new})
        by_id = table.update().where(table.c.id == sa.bindparam("_id"))
        for start in range(0, len(changed), REWRITE_CHUNK):
            conn.execute(by_id, changed[start : start + REWRITE_CHUNK])
