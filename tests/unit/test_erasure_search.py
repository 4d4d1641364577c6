"""The residue scan's word index (``data.erasure.search_index``): it covers every text column
of the big tables, finds what a full read finds, and follows every write.

The oracle for "what the scan must find" is the list of columns this test plants the subject's
identifiers in, written here by hand, and the scan with the index switched off (the plain
substring read of every row, the scan's behaviour before the index).
"""

from __future__ import annotations

from itertools import cycle

import pytest
from sqlalchemy import JSON, String, Text, select, text, update
from sqlalchemy.orm import Session

from data import audit
from data.db import session_scope
from data.erasure import coverage, search_index, vocabulary
from data.erasure import scan as scan_module
from data.erasure.scan import Term, scan, subject_terms
from data.erasure.search_index import SEARCHED, Searcher, covers
from data.models import Base, Lead
from data.schema import load_all_models
from tests.privacy_support import make_crowded_world, make_staff

#: How people write the subject's identifiers (her phone is +27820000101), each at word
#: boundaries; every one must be found wherever it is planted.
SPELLINGS = (
    "082 000 0101",
    "082-000-0101",
    "+27820000101",
    "0820000101",
    "(082) 000 0101",
    "Thandi Nkosi",
    "thandi@example.co.za",
    "THANDI@EXAMPLE.CO.ZA",
)
#: Written by the audit chain itself, never by a caller (still indexed: see the first test).
CHAIN_COLUMNS = {("audit_log", "prev_hash"), ("audit_log", "entry_hash")}


@pytest.fixture
def world(db):
    with session_scope(db) as s:
        make_staff(s)
        return make_crowded_world(s)


def text_columns_by_hand(name: str) -> set[str]:
    core = load_all_models().tables[name]
    return {c.name for c in core.columns if isinstance(c.type, String | Text | JSON)}


def test_every_big_table_is_indexed_over_all_its_text_columns(db):
    """Fails when a text column is added to one of these tables without rebuilding its index
    (the scan would then read that table in full: complete, but slow again)."""
    load_all_models()
    with db.connect() as conn:
        for name in SEARCHED:
            core = Base.metadata.tables[name]
            assert covers(conn, core), name
            if db.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f'PRAGMA table_info("{name}_search")')
                assert {r[1] for r in rows} == text_columns_by_hand(name)
            else:
                definition = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                    {"n": f"ix_{name}_search"},
                ).scalar()
                assert "gin" in definition.lower()
                # no pending list, which every search would read in full (migration 0021)
                assert "WITH (fastupdate=off)" in definition, name
                for column in text_columns_by_hand(name):
                    assert column in definition, (name, column)
        codes = vocabulary.covered(conn)
        for core in coverage.vocabulary_tables():
            assert codes.get(core.name, set()) == text_columns_by_hand(core.name), core.name


def test_the_big_tables_of_codes_have_a_vocabulary():
    """The tables that grow with the leads and hold codes only (a hand-written list)."""
    names = {t.name for t in coverage.vocabulary_tables()}
    assert {"lead_event", "lead_share", "aggregate_cell", "rollup_flow_full"} <= names
    assert "rollup_share_partner_trade_province" in names
    assert not names & set(SEARCHED)


def _indexed_tables() -> list[str]:
    """The tables the scan proves clean without reading them: word-indexed and vocabulary."""
    return [*SEARCHED, *(t.name for t in coverage.vocabulary_tables())]


def _plant(s: Session, world) -> set[tuple[str, str]]:
    """One spelling of the subject's identifiers in every plantable text column of every
    indexed table that has a row (the subject's own profile row; the first row of the others).
    A column the application rewrites itself on every write (a digest of the email) keeps no
    planted value and is left out."""
    planted: set[tuple[str, str]] = set()
    spelling = cycle(SPELLINGS)
    for name in _indexed_tables():
        if name == "partner":  # a partner holding her name is her namesake (rows not residue)
            continue
        core = Base.metadata.tables[name]
        key = list(core.primary_key.columns)
        for column in sorted(text_columns_by_hand(name)):
            if (name, column) in CHAIN_COLUMNS:
                continue
            length = getattr(core.c[column].type, "length", None) or 1000
            if length < min(len(v) for v in SPELLINGS):
                continue  # too short to hold any of them (a month, a preset code)
            value = next(v for v in spelling if len(v) <= length)
            if name == "audit_log":  # append-only: a new entry carries it
                fields = {"actor": "x", "action": "x", "object_type": "x", "object_id": "1"}
                fields[column] = {"note": f"see {value}"} if column == "details" else value
                audit.record(s, **fields)
                planted.add((name, column))
                continue
            if name == "homeowner":
                row = (world.subject.id,)
            else:
                row = s.execute(select(*key).order_by(*key).limit(1)).first()
            if row is None:
                continue
            where = [k == v for k, v in zip(key, row, strict=True)]
            conn = s.connection()  # Core, past the session's write hooks (rollups, cells)
            conn.execute(update(core).where(*where).values({column: value}))
            if conn.scalar(select(core.c[column]).where(*where)) == value:
                planted.add((name, column))
    s.flush()
    return planted


def test_the_index_finds_every_planted_spelling_and_what_a_full_read_finds(db, world, monkeypatch):
    with session_scope(db) as s:
        terms = subject_terms(s, "homeowner", world.subject.id)
        planted = _plant(s, world)
        indexed = scan(s, "homeowner", world.subject.id, terms)
        monkeypatch.setattr(scan_module, "_covered", lambda _conn, _core: None)
        full = scan(s, "homeowner", world.subject.id, terms)
        s.rollback()
    found = {(f.table, f.column) for f in indexed.findings}
    assert planted <= found, sorted(planted - found)
    assert indexed.findings == full.findings
    assert (indexed.tables, indexed.columns) == (full.tables, full.columns)


def _candidates(conn, value: str) -> set[int]:
    lead = Base.metadata.tables["lead"]
    searcher = Searcher(conn, [value])
    covered = search_index.indexed(conn, lead)
    return set(conn.scalars(select(lead.c.id).where(searcher.condition(lead, covered, [value]))))


def test_the_index_follows_inserts_updates_and_deletes(db, world):
    load_all_models()
    with session_scope(db) as s:
        lead_id = s.scalar(select(Lead.id).order_by(Lead.id).limit(1))
        s.execute(update(Lead).where(Lead.id == lead_id).values(description="ring 082 555 0199"))
    with db.begin() as conn:
        assert _candidates(conn, "082-555-0199") == {lead_id}
        assert _candidates(conn, "082 555 0198") == set()
        conn.execute(update(Lead).where(Lead.id == lead_id).values(description="no number"))
        assert _candidates(conn, "082 555 0199") == set()
        conn.execute(update(Lead).where(Lead.id == lead_id).values(city="082-555-0199"))
        assert _candidates(conn, "082 555 0199") == {lead_id}
    with db.begin() as conn:
        if db.dialect.name == "sqlite":  # raises when the index and the table disagree
            for name in SEARCHED:
                conn.exec_driver_sql(
                    f"INSERT INTO {name}_search({name}_search) VALUES('integrity-check')"
                )


def test_a_phrase_is_found_inside_one_column_not_across_two(db, world):
    """As FTS5 matches a phrase, so does PostgreSQL's search: words that end one column and
    start the next (``city``, then ``description`` in the index) are not the term, whose
    exact check looks inside one column."""
    load_all_models()
    with db.begin() as conn:
        lead_id = conn.scalar(select(Lead.id).order_by(Lead.id).limit(1))
        conn.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(city="Soweto Xolani", description="Mthembuzulu called")
        )
        assert _candidates(conn, "Xolani Mthembuzulu") == set()
        conn.execute(
            update(Lead).where(Lead.id == lead_id).values(description="(Xolani) Mthembuzulu.")
        )
        assert _candidates(conn, "Xolani Mthembuzulu") == {lead_id}
        assert _candidates(conn, "Xolani Mthembuzul") == set()  # whole words only


def test_the_finder_names_each_term_a_text_holds_once():
    national, trunk = Term("phone", "820000101"), Term("phone", "0820000101")
    name, street, short = (
        Term("name", "thandi nkosi"),
        Term("street", "12 oak lane"),
        Term("x", "abc"),
    )
    finder = scan_module._Finder([national, trunk, name, street, short])
    assert set(finder.within("call 0820000101, thandi nkosi")) == {national, trunk, name}
    assert finder.within("thandi nkosithandi nkosi 12 oak lan") == [name]
    assert finder.within("xabcx") == [short]  # shorter than the start terms are filed under
    assert finder.within("") == []


def test_without_its_index_a_table_is_read_in_full(db, world):
    load_all_models()
    lead = Base.metadata.tables["lead"]
    with db.connect() as conn:
        trans = conn.begin()
        lead_id = conn.scalar(select(Lead.id).order_by(Lead.id).limit(1))
        # a write first, so that SQLite's driver has opened the transaction the DDL joins
        conn.execute(update(Lead).where(Lead.id == lead_id).values(description="Thandi Nkosi"))
        for statement in search_index.drop_statements(db.dialect.name, [lead]):
            conn.exec_driver_sql(statement)
        assert not covers(conn, lead)
        with Session(bind=conn) as s:
            terms = subject_terms(s, "homeowner", world.subject.id)
            found = scan(s, "homeowner", world.subject.id, terms)
        trans.rollback()
        assert covers(conn, lead)
    assert ("lead", "description", "name") in {(f.table, f.column, f.kind) for f in found.findings}
