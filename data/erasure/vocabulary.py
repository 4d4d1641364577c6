"""Every value ever written to the code columns of the big code-only tables, so the residue scan
can prove them clean without reading them.

Why
---
``lead_event``, ``lead_share``, the rollups and the aggregates' cells hold millions of rows but
their text columns are codes (status, province, channel, site…): a few dozen distinct values.
A word index of them would cost as much to build as the lead's, for nothing. Instead triggers
record each distinct value in ``search_vocabulary`` (table, column, value) as it is written. The
scan searches that small table: a term no recorded value contains is in no row of the column;
a column whose recorded values do contain one (a person called "Gauteng") is read in full.
Rows are never removed from the vocabulary when data changes, so it can only hold more values
than the column, never fewer: a stale value costs a read, it never hides a row.

Kept by a row trigger on SQLite and by statement triggers with transition tables on PostgreSQL
(one set-based ``INSERT … SELECT DISTINCT`` per statement, so a rollup rebuild of two million
rows costs a sort, not two million function calls). Built by :func:`create_statements`, which
also records the values already there; :func:`covered` says which columns a table's triggers
cover in this database, and the scan reads any other column in full.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from data.erasure.search_index import indexed_columns, quote

#: Tables whose text columns are codes; ``rollup_*`` tables are added by name.
TABLES: tuple[str, ...] = (
    "lead_event",
    "lead_share",
    "consent_day",
    "consent_population_day",
    "partner_area",
    "aggregate_cell",
)
VOCABULARY = "search_vocabulary"
_FUNCTION = "search_vocabulary_add"

#: The table and PostgreSQL's trigger function (migration 0015); the per-table triggers are
#: made by :func:`create_statements`.
SCHEMA_SQLITE = (
    f"CREATE TABLE IF NOT EXISTS {VOCABULARY} (table_name VARCHAR(80) NOT NULL, "
    "column_name VARCHAR(80) NOT NULL, value VARCHAR(400) NOT NULL, "
    "PRIMARY KEY (table_name, column_name, value))",
)
SCHEMA_POSTGRESQL = (
    *SCHEMA_SQLITE,
    """CREATE OR REPLACE FUNCTION search_vocabulary_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c text;
BEGIN
  FOREACH c IN ARRAY TG_ARGV LOOP
    EXECUTE format(
      'INSERT INTO search_vocabulary (table_name, column_name, value) '
      'SELECT DISTINCT %L, %L, r.%I::text FROM changed r WHERE r.%I IS NOT NULL '
      'ON CONFLICT DO NOTHING', TG_TABLE_NAME, c, c, c);
  END LOOP;
  RETURN NULL;
END $$""",
)


def applies_to(name: str) -> bool:
    return name in TABLES or name.startswith("rollup_")


def _trigger(table: str, event: str) -> str:
    return f"{table}_vocabulary_{event}"


def create_statements(dialect: str, tables: Iterable[Table]) -> list[str]:
    """Triggers for each table, and the values its columns hold now."""
    out: list[str] = []
    for core in tables:
        names = indexed_columns(core)
        if not names:
            continue
        table = quote(core.name)
        out.append(f"DELETE FROM {VOCABULARY} WHERE table_name = '{core.name}'")  # noqa: S608
        out += [
            f"INSERT INTO {VOCABULARY} (table_name, column_name, value) "  # noqa: S608
            f"SELECT DISTINCT '{core.name}', '{n}', {quote(n)} FROM {table} "
            f"WHERE {quote(n)} IS NOT NULL"
            for n in names
        ]
        if dialect == "sqlite":
            selects = " UNION ALL ".join(
                f"SELECT '{core.name}', '{n}', new.{quote(n)} WHERE new.{quote(n)} IS NOT NULL"
                for n in names
            )
            body = f"INSERT OR IGNORE INTO {VOCABULARY} (table_name, column_name, value) {selects};"
            cols = ", ".join(quote(n) for n in names)
            out += [
                f"CREATE TRIGGER {quote(_trigger(core.name, 'ai'))} AFTER INSERT ON {table} "
                f"BEGIN {body} END",
                f"CREATE TRIGGER {quote(_trigger(core.name, 'au'))} AFTER UPDATE OF {cols} "
                f"ON {table} BEGIN {body} END",
            ]
        else:
            arguments = ", ".join(f"'{n}'" for n in names)
            out += [
                f"CREATE TRIGGER {quote(_trigger(core.name, event))} AFTER {event.upper()} "
                f"ON {table} REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {_FUNCTION}({arguments})"
                for event in ("insert", "update")
            ]
    return out


def drop_statements(dialect: str, tables: Iterable[Table]) -> list[str]:
    out: list[str] = []
    for core in tables:
        for event in ("ai", "au") if dialect == "sqlite" else ("insert", "update"):
            on = "" if dialect == "sqlite" else f" ON {quote(core.name)}"
            out.append(f"DROP TRIGGER IF EXISTS {quote(_trigger(core.name, event))}{on}")
    return out


def covered(connection: Connection) -> dict[str, set[str]]:
    """Table → the columns its vocabulary triggers cover in this database (insert and update
    both present)."""
    found: dict[str, list[set[str]]] = {}
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            text("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger'")
        )
        for table, name, sql in rows:
            if name not in (_trigger(table, "ai"), _trigger(table, "au")):
                continue
            names = _between(sql.split("INSERT OR IGNORE", 1)[1], f"SELECT '{table}', '", "'")
            found.setdefault(table, []).append(names)
    else:
        rows = connection.execute(
            text(
                "SELECT c.relname, t.tgname, t.tgargs FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace"
            )
        )
        for table, name, args in rows:
            if name not in (_trigger(table, "insert"), _trigger(table, "update")):
                continue
            names = {a.decode() for a in bytes(args).split(b"\0") if a}
            found.setdefault(table, []).append(names)
    return {t: sets[0] & sets[1] for t, sets in found.items() if len(sets) == 2}


def _between(sql: str, start: str, end: str) -> set[str]:
    out = set()
    for part in sql.split(start)[1:]:
        out.add(part.split(end, 1)[0])
    return out


def suspects(connection: Connection, values: list[str]) -> set[tuple[str, str]]:
    """(table, column) whose recorded values contain one of ``values`` (lower case)."""
    if not values:
        return set()
    rows = [
        (t, c, v.lower())
        for t, c, v in connection.execute(
            text(f"SELECT table_name, column_name, value FROM {VOCABULARY}")  # noqa: S608
        )
    ]
    # the values found anywhere first (usually none): a batch's 1 300 values against each of
    # the vocabulary's rows one by one was 0.7 million substring tests
    everything = "\x1f".join(v for *_, v in rows)  # a term never holds \x1f (it is whitespace)
    held = [x for x in values if x in everything]
    return {(t, c) for t, c, v in rows if any(x in v for x in held)}
