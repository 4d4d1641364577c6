"""Keep the residue scan's indexes matching the models: :func:`ensure` after every upgrade.

The word indexes (:mod:`data.erasure.search_index`) and the code vocabularies
(:mod:`data.erasure.vocabulary`) are derived from the rows, like a B-tree; what they cover is
derived from the models (every text column of their tables). A migration that adds a text
column or a code-only table (several are written in parallel, after ``0015`` created the
vocabulary's own table) would otherwise leave them short of a column, and the scan would
read that table in full again. So ``data.db.upgrade_database`` calls :func:`ensure` once the
schema is at its heads, and the demo's bulk loader after loading: it builds whatever is
missing or out of date, and costs two catalogue queries when nothing is.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, inspect
from sqlalchemy.engine import Connection

from data.erasure import search_index, vocabulary
from data.schema import load_all_models


def vocabulary_tables() -> list[Table]:
    return [t for t in load_all_models().sorted_tables if vocabulary.applies_to(t.name)]


def searched_tables() -> list[Table]:
    tables = load_all_models().tables
    return [tables[n] for n in search_index.SEARCHED]


def _in_database(connection: Connection, tables: list[Table]) -> list[Table]:
    """The tables as this database has them: only the model's columns that exist (a model may
    run ahead of its migration while it is being written; the index is built from what is)."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    out = []
    for core in tables:
        if core.name in present:
            names = {c["name"] for c in inspector.get_columns(core.name)}
            columns = [Column(c.name, c.type) for c in core.columns if c.name in names]
            out.append(Table(core.name, MetaData(), *columns))
    return out


def stale(connection: Connection) -> tuple[list[Table], list[Table]]:
    """(word-indexed tables, vocabulary tables) whose index does not cover every text column
    the database has, as the database has them."""
    words = [
        t
        for t in _in_database(connection, searched_tables())
        if not search_index.covers(connection, t)
    ]
    have = vocabulary.covered(connection)
    codes = [
        t
        for t in _in_database(connection, vocabulary_tables())
        if search_index.indexed_columns(t)
        and have.get(t.name) != set(search_index.indexed_columns(t))
    ]
    return words, codes


def ensure(connection: Connection) -> list[str]:
    """(Re)build what is missing or short of a column; the names of the tables it built."""
    dialect = connection.dialect.name
    words, codes = stale(connection)
    for statement in [
        *search_index.drop_statements(dialect, words),
        *search_index.create_statements(dialect, words),
        *vocabulary.drop_statements(dialect, codes),
        *vocabulary.create_statements(dialect, codes),
    ]:
        connection.exec_driver_sql(statement)
    return [t.name for t in (*words, *codes)]


def drop(connection: Connection) -> None:
    """Remove every word index and vocabulary trigger (before a downgrade: SQLite refuses to
    drop a column a trigger names). The next upgrade to the heads builds them again."""
    dialect = connection.dialect.name
    present = set(inspect(connection).get_table_names())
    tables = [Table(n, MetaData()) for n in sorted(present)]
    words = [t for t in tables if t.name in search_index.SEARCHED]
    for statement in [
        *search_index.drop_statements(dialect, words),
        *vocabulary.drop_statements(dialect, tables),
    ]:
        connection.exec_driver_sql(statement)
