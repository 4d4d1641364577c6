"""What an erasure does to each table, derived from the registry of :mod:`data.subjects`.

Why derived
-----------
The columns an erasure clears are not listed here: every column the registry classifies as an
*identifier* or *free text* for the subject type is cleared, in every table of that subject's
registry. A column added to a table and classified in the registry is therefore erased without
a change here, and an unclassified one fails ``tests/unit/test_subjects.py``. What this module
adds is the few decisions the registry leaves "per table" (``docs/domain.md`` §5.8):

* :data:`DELETED_TABLES`: tables whose rows go entirely (consent history, replaced by
  do-not-contact entries);
* :data:`PLACEHOLDER_REFERENCES`: references moved to the shared anonymous placeholder (a
  homeowner's reviews, so partner ratings keep every rating);
* :data:`CONSEQUENCES`: flags that must follow a cleared column (no recording reference, so no
  recording).

Every other row is kept, de-identified: its statistic, counterparty and not-personal columns
stay as they were, which is what keeps lead counts and partner rollups unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import Boolean, Column, Integer, Table, delete, func, select, update
from sqlalchemy.orm import Session

from data.models import Base
from data.subject_rows import subject_condition, subject_owners
from data.subjects import FREE_TEXT, IDENTIFIER, REGISTRIES, SubjectRegistry, SubjectTable

TableAction = Literal["delete", "de-identify", "keep"]

#: Tables whose rows of the subject are deleted, with the reason.
DELETED_TABLES: Final[dict[str, str]] = {
    "consent_event": "consent history is replaced by do-not-contact entries (reason erasure)",
    "aggregate_cell": "the de-identified tables' copy of the person's leads and birth year, "
    "gender and property type: erased people are never counted (the leads' statistics stay "
    "in lead)",
}
#: (subject type, table, column): the reference moves to the shared placeholder homeowner.
PLACEHOLDER_REFERENCES: Final[frozenset[tuple[str, str, str]]] = frozenset(
    {("homeowner", "review", "homeowner_id")}
)
#: (table, cleared column) → other columns set with it.
CONSEQUENCES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("interaction", "recording_ref"): {"recorded": False},
}
#: What a NOT NULL text column holds once erased (a nullable column becomes NULL).
ERASED_TEXT: Final = "[erased]"


@dataclass(frozen=True)
class TablePlan:
    """One table of one subject's erasure: what happens to how many rows."""

    table: str
    action: TableAction
    rows: int
    #: Identifier and free-text columns cleared (nulled, or the erased mark when NOT NULL).
    cleared: tuple[str, ...] = ()
    #: Reference columns moved to the placeholder homeowner.
    moved: tuple[str, ...] = ()
    why: str = ""

    def as_receipt(self) -> dict[str, Any]:
        """The receipt's entry: counts and column names, never values."""
        entry: dict[str, Any] = {"action": self.action, "rows": self.rows}
        if self.cleared:
            entry["cleared"] = list(self.cleared)
        if self.moved:
            entry["moved_to_placeholder"] = list(self.moved)
        return entry


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def erased_value(column: Column) -> Any:
    """NULL when allowed; otherwise a value that says nothing (false, 0 or the erased mark)."""
    if column.nullable:
        return None
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, Integer):
        return 0
    return ERASED_TEXT


def action_of(subject_type: str, entry: SubjectTable) -> TableAction:
    if entry.table in DELETED_TABLES:
        return "delete"
    if entry.columns(IDENTIFIER, FREE_TEXT) or moved_columns(subject_type, entry):
        return "de-identify"
    return "keep"


def moved_columns(subject_type: str, entry: SubjectTable) -> tuple[str, ...]:
    return tuple(
        f.column
        for f in entry.fields
        if (subject_type, entry.table, f.column) in PLACEHOLDER_REFERENCES
    )


def cleared_values(entry: SubjectTable) -> dict[str, Any]:
    """Column → erased value for every identifier and free-text column, with consequences."""
    core = table(entry.table)
    values: dict[str, Any] = {}
    for column in entry.columns(IDENTIFIER, FREE_TEXT):
        values[column] = erased_value(core.c[column])
        values.update(CONSEQUENCES.get((entry.table, column), {}))
    return values


def table_plan(subject_type: str, entry: SubjectTable, rows: int) -> TablePlan:
    """What erasing a subject does to one table of its registry, with its rows there: the
    preview shows it, the receipt records it."""
    action = action_of(subject_type, entry)
    return TablePlan(
        entry.table,
        action,
        rows,
        entry.columns(IDENTIFIER, FREE_TEXT) if action == "de-identify" else (),
        moved_columns(subject_type, entry),
        DELETED_TABLES.get(entry.table, entry.why),
    )


def plan_tables(session: Session, subject_type: str, subject_id: int) -> tuple[TablePlan, ...]:
    """The preview: every table of the subject's registry, with its action and row count."""
    registry: SubjectRegistry = REGISTRIES[subject_type]
    return tuple(
        table_plan(
            subject_type,
            entry,
            rows_by_subject(session, subject_type, entry.table, [subject_id]).get(subject_id, 0),
        )
        for entry in registry.tables
    )


def rows_by_subject(
    session: Session, subject_type: str, table_name: str, subject_ids: Collection[int]
) -> dict[int, int]:
    """Each subject's number of rows in the table (one grouped query for all of them)."""
    owners = subject_owners(subject_type, table_name, subject_ids).subquery()
    counted = session.execute(select(owners.c.owner, func.count()).group_by(owners.c.owner))
    return {int(owner): int(rows) for owner, rows in counted}


def apply_table(
    session: Session,
    subject_type: str,
    entry: SubjectTable,
    subject_ids: list[int],
    *,
    placeholder_id: int | None,
    extra: dict[str, Any] | None = None,
) -> dict[int, TablePlan]:
    """Erase the subjects' rows of one table with one statement for all of them; per subject
    the plan with its rows (counted before, grouped by subject: what erasing them one after
    the other would report)."""
    action = action_of(subject_type, entry)
    core = table(entry.table)
    moved = moved_columns(subject_type, entry)
    rows = rows_by_subject(session, subject_type, entry.table, subject_ids)
    condition = subject_condition(subject_type, entry.table, subject_ids)
    if action == "delete":
        session.execute(delete(core).where(condition))
    elif action == "de-identify":
        if moved and placeholder_id is None:
            raise ValueError(f"{entry.table}: a placeholder is needed to move {moved}")
        values = {**cleared_values(entry), **dict.fromkeys(moved, placeholder_id), **(extra or {})}
        session.execute(update(core).where(condition).values(values))
    return {i: table_plan(subject_type, entry, rows.get(i, 0)) for i in subject_ids}
