"""A word index over every text column of the big tables, so the residue scan is fast.

Why
---
The residue scan (:mod:`data.erasure.scan`) must read every text column of every table. A
substring search of the whole database costs ~40 s at 1M leads whoever is erased; the tables
whose size grows with the leads (:data:`SEARCHED`) are instead searched through an index of
their words, and only the rows it names are read and checked exactly, in Python, as before.
Small tables (settings, users, partners' directory rows, privacy requests…) are still read in
full: that is correct whatever their size and cheap while they stay small.

Coverage is by construction: the index of a table is made of **all** its text columns
(:func:`indexed_columns`, the same list the scan reads), and
``tests/unit/test_erasure_search.py`` fails when a table's index in the database no longer
covers every text column on the metadata (a column added without rebuilding the index).

How
---
* SQLite: an FTS5 table ``<table>_search`` with the ``unicode61`` tokenizer over the table's
  text columns, external content (no copy of the text), kept by three triggers. Built by one
  ``'rebuild'`` after a bulk load (:func:`drop_statements` / :func:`create_statements`).
* PostgreSQL: a GIN index ``ix_<table>_search`` on ``to_tsvector('simple', …)`` of the text
  columns joined, with everything that is not a letter or digit turned into a space first,
  so both databases cut text into the same words (runs of letters and digits). The index is
  made with ``fastupdate = off``: a GIN index's pending list (where it first puts new
  entries) is read in full by every search, and the scan searches thousands of phrases right
  after a batch's writes; a sweep's batches filled it towards its 4 MB, and 220 pending pages
  made a batch's 1 000 homeowner searches 3× slower (1.3 s → 3.3 s). Writes pay the
  entries' place in the index instead, a few milliseconds a batch.

What a search finds
-------------------
A term is looked for as a **phrase of whole words inside one column**: ``082 123 4567``,
``082-123-4567`` and ``(082) 123 4567`` are the same three words; ``thandi.nkosi@example.com``
is four. So a term is found where it starts and ends at word boundaries (a first name and a
surname in two columns are not a full name: the scan's exact check reads one column at a
time, and so does an FTS5 phrase); the scan adds the glued spellings a
phone is typed in (``0821234567``, ``27821234567``) as words of their own
(:func:`phrases`). A term inside a longer word (``xthandi.nkosi@…``) is not found by the
index (it is a different address or number). A term with no letters or digits at all cannot
be searched this way; the scan reads those tables in full for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    Integer,
    String,
    Table,
    Text,
    any_,
    bindparam,
    literal,
    text,
)
from sqlalchemy.engine import Connection

#: The tables with free text whose rows grow with the leads (at 1M leads: 300k–3.5M rows
#: each; partners 5 000 but long texts; suppression one row per erased or opted-out contact);
#: the big tables holding codes only are covered by
#: :mod:`data.erasure.vocabulary`.
SEARCHED: tuple[str, ...] = (
    "homeowner",
    "partner",
    "lead",
    "review",
    "interaction",
    "consent_event",
    "audit_log",
    "suppression",
)
_WORD = re.compile(r"[^\W_]+")
#: Phrases per query (a retention batch searches many people's phrases at once).
PHRASES_PER_QUERY = 200


def is_derived(name: str) -> bool:
    """Whether a table or index is one of the scan's (FTS5 tables and their shadow tables, the
    GIN indexes, the code vocabulary): derived from the models, not declared in them, so the
    schema comparison with the models skips them (``data.schema.COMPARE_OPTIONS``)."""
    if name == "search_vocabulary":
        return True
    return any(name == gin_name(t) or name.startswith(fts_name(t)) for t in SEARCHED)


def is_text(column: Column) -> bool:
    return isinstance(column.type, String | Text | JSON)


def indexed_columns(core: Table) -> list[str]:
    """Every text column of the table, by name (the order the models and the database list
    them in may differ; PostgreSQL uses the index only for the very same expression)."""
    return sorted(c.name for c in core.columns if is_text(c))


def fts_name(table: str) -> str:
    return f"{table}_search"


def gin_name(table: str) -> str:
    return f"ix_{table}_search"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_values(core: Table, columns: list[str]) -> list[str]:
    parts = []
    for name in columns:
        value = f"{quote(name)}::text" if isinstance(core.c[name].type, JSON) else quote(name)
        parts.append(f"coalesce({value}, '')")
    return parts


def pg_document(core: Table, columns: list[str] | None = None) -> str:
    """The indexed expression (of ``columns``, by default all text columns); queries repeat
    it verbatim, over the columns the index has, so the planner uses the index."""
    joined = " || ' ' || ".join(
        _pg_values(core, columns if columns is not None else indexed_columns(core))
    )
    return (
        "to_tsvector('simple'::regconfig, "
        f"regexp_replace(lower({joined}), '[^[:alnum:]]+', ' ', 'g'))"
    )


#: Between two words of a phrase in :func:`_pg_phrase`: what the index's expression turns
#: into a space, except the separator :func:`_pg_text` puts between two columns.
_PG_GAP = "[^[:alnum:]" + chr(31) + "]+"


def _pg_text(core: Table, columns: list[str]) -> str:
    """The columns' text lowered as the index's expression lowers it, one from the next by
    the unit separator ``chr(31)``, which :func:`_pg_phrase` may not cross."""
    return "lower(" + " || chr(31) || ".join(_pg_values(core, columns)) + ")"


def _pg_phrase(words: list[str]) -> str:
    """A regular expression for the words one after the other inside one column, each whole
    (letters and digits are all a word is made of, so none needs escaping)."""
    return "(^|[^[:alnum:]])" + _PG_GAP.join(words) + "($|[^[:alnum:]])"


def _sqlite_triggers(core: Table) -> list[str]:
    fts, table = fts_name(core.name), core.name
    names = indexed_columns(core)
    cols = ", ".join(quote(n) for n in names)
    new = ", ".join(f"new.{quote(n)}" for n in names)
    old = ", ".join(f"old.{quote(n)}" for n in names)
    into = f"INSERT INTO {quote(fts)}"
    delete = f"{into} ({quote(fts)}, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    insert = f"{into} (rowid, {cols}) VALUES (new.rowid, {new});"
    return [
        f"CREATE TRIGGER {quote(fts + '_ai')} AFTER INSERT ON {quote(table)} BEGIN {insert} END",
        f"CREATE TRIGGER {quote(fts + '_ad')} AFTER DELETE ON {quote(table)} BEGIN {delete} END",
        f"CREATE TRIGGER {quote(fts + '_au')} AFTER UPDATE OF {cols} ON {quote(table)} "
        f"BEGIN {delete} {insert} END",
    ]


def create_statements(dialect: str, tables: Iterable[Table]) -> list[str]:
    """DDL that builds the index of each table from its current rows (and keeps it)."""
    out: list[str] = []
    for core in tables:
        cols = ", ".join(quote(n) for n in indexed_columns(core))
        fts = quote(fts_name(core.name))
        if dialect == "sqlite":
            out += [
                f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content={quote(core.name)}, "
                "content_rowid='rowid', tokenize='unicode61')",
                f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')",  # noqa: S608
                *_sqlite_triggers(core),
            ]
        else:
            out.append(
                f"CREATE INDEX {quote(gin_name(core.name))} ON {quote(core.name)} "
                f"USING gin (({pg_document(core)})) WITH (fastupdate = off)"
            )
    return out


def drop_statements(dialect: str, tables: Iterable[Table]) -> list[str]:
    """DDL that removes the indexes (before a bulk load; :func:`create_statements` after)."""
    out: list[str] = []
    for core in tables:
        fts = fts_name(core.name)
        if dialect == "sqlite":
            out += [f"DROP TRIGGER IF EXISTS {quote(fts + s)}" for s in ("_ai", "_ad", "_au")]
            out.append(f"DROP TABLE IF EXISTS {quote(fts)}")
        else:
            out.append(f"DROP INDEX IF EXISTS {quote(gin_name(core.name))}")
    return out


def indexed(connection: Connection, core: Table) -> list[str] | None:
    """The columns this database's index of the table is made of (sorted), or None when it
    has none (a database not migrated yet; on SQLite also when a trigger that keeps it is
    missing: a migration that rebuilds the table drops them)."""
    if connection.dialect.name == "sqlite":
        fts = fts_name(core.name)
        triggers = connection.execute(
            text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (:a, :b, :c)"
            ),
            {"a": fts + "_ai", "b": fts + "_ad", "c": fts + "_au"},
        ).scalar()
        names = [row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({quote(fts)})")]
        return sorted(names) if triggers == 3 and names else None
    definition = connection.execute(
        text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :table AND indexname = :name"
        ),
        {"table": core.name, "name": gin_name(core.name)},
    ).scalar()
    if definition is None:
        return None
    return sorted(set(re.findall(r'COALESCE\(\(?"?(\w+)"?', definition, flags=re.IGNORECASE)))


def covers(connection: Connection, core: Table) -> bool:
    """Whether the table's index covers every text column the metadata has now. When not (a
    column added since the index was made), the scan reads the columns it lacks in full:
    complete, but slow again; ``tests/unit/test_erasure_search.py`` fails until a migration
    rebuilds the index (:func:`drop_statements`, then :func:`create_statements`)."""
    return indexed(connection, core) == indexed_columns(core)


def words(value: str) -> list[str]:
    return _WORD.findall(value.lower())


def phrases(kind: str, value: str) -> list[str]:
    """What the index is asked for one term: the term, and for a phone written as one run of
    digits also its glued spellings with the trunk ``0`` and the country code ``27`` (the nine
    national digits are inside ``0821234567`` as a substring, not as a word)."""
    out = [value]
    if kind == "phone" and value.isdigit() and len(value) == 9:
        out += ["0" + value, "27" + value]
    return out


@contextmanager
def without_jit(connection: Connection) -> Iterator[None]:
    """PostgreSQL plans the scan's searches without JIT compilation, in the caller's
    transaction, and the setting is put back afterwards. The planner cannot know how many rows
    a phrase given as a parameter names (it assumes 4 000 a phrase), so a search of 200 phrases
    looked costly enough to be compiled and optimised, 0.1 s each time for a search that runs
    in milliseconds: 40 such searches were a third of a retention batch."""
    if connection.dialect.name != "postgresql":
        yield
        return
    previous = connection.execute(
        text("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    ).scalar_one()
    yield
    connection.execute(text("SELECT set_config('jit', :value, true)"), {"value": previous})


class Searcher:
    """Queries of one scan: the words of every phrase, cut once the way the database cuts."""

    def __init__(self, connection: Connection, values: Iterable[str]) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        values = list(dict.fromkeys(values))
        self.words = {v: words(v) for v in values} if self.sqlite else _pg_words(connection, values)

    def searchable(self, value: str) -> bool:
        """A value with no letter or digit has no words: the caller reads such tables whole."""
        return bool(self.words[value])

    def condition(self, core: Table, columns: list[str], chunk: list[str]) -> Any:
        """A WHERE clause on ``core`` naming the rows whose words hold one of ``chunk`` (all
        searchable) as a phrase. ``columns``: what the table's index is made of
        (:func:`indexed`). A superset: the caller checks each row it names exactly."""
        if self.sqlite:
            parts = ['"' + " ".join(self.words[p]) + '"' for p in chunk]
            fts = quote(fts_name(core.name))
            clause = f"{quote(core.name)}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :q)"  # noqa: S608
            return text(clause).bindparams(bindparam("q", " OR ".join(parts)))
        # One index search per phrase (a lateral join over the phrases), not one query of
        # the phrases joined by ``|``: GIN skips through a common word's long posting list
        # ("gmail", "street") only when the query requires that word, which no word of an
        # alternative is (a retention batch's 100 emails on the 1M homeowners: 6.3 s as one
        # ``|`` query, 0.4 s one by one). The ids found are then asked by primary key: an
        # ``OR`` of ``@@``, or the searches as a sub-query, were planned as full reads.
        #
        # The index is asked for rows holding all the words (``&``), and the rows it names
        # are checked for the words one after the other inside one column by a regular
        # expression on their text, as FTS5 matches a phrase. A ``<->`` phrase made GIN
        # recompute each named row's whole document (every text column, cut into words) to
        # check the words' positions: a batch's common names and streets named ≈ 10 000
        # homeowners for 4 400 kept (30–110 µs a row). The phrase also matched across two
        # columns ("Palesa" | "Coetzee" as first and last name): ≈ 3 400 of those rows a
        # batch, read and checked for nothing, since a term is looked for inside one column.
        document = pg_document(core, columns)
        found = self.connection.execute(
            text(
                "SELECT DISTINCT t.id FROM unnest(CAST(:queries AS text[]), "  # noqa: S608
                "CAST(:phrases AS text[])) AS q(v, phrase) "
                f"CROSS JOIN LATERAL (SELECT id FROM {quote(core.name)} "
                f"WHERE {document} @@ to_tsquery('simple'::regconfig, q.v) "
                f"AND {_pg_text(core, columns)} ~ q.phrase) AS t"
            ),
            {
                "queries": [" & ".join(f"'{w}'" for w in self.words[p]) for p in chunk],
                "phrases": [_pg_phrase(self.words[p]) for p in chunk],
            },
        ).scalars()
        return core.c.id == any_(literal(sorted(found), ARRAY(Integer)))


def _pg_words(connection: Connection, values: list[str]) -> dict[str, list[str]]:
    """The words PostgreSQL's own normalisation makes of each value (the index's expression,
    so a character PostgreSQL does not count as a letter splits both sides alike)."""
    if not values:
        return {}
    rows = connection.execute(
        text(
            "SELECT v, btrim(regexp_replace(lower(v), '[^[:alnum:]]+', ' ', 'g')) "
            "FROM unnest(CAST(:values AS text[])) AS v"
        ),
        {"values": values},
    )
    return {v: [w for w in normal.split(" ") if w] for v, normal in rows}
