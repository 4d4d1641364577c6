"""The residue scan: is anything of an erased person left in any text column of any table?

Why a scan and not trust
------------------------
The erasure clears the columns the registry names; the scan checks the result without using
the registry's classification, so a column classified wrongly (an address kept as a
"statistic", a name typed into a note nobody registered) is found rather than assumed away. It
reads every ``String``/``Text``/``JSON`` column of every table on the metadata
(:func:`text_columns`), the audit log included, and the tests call it after every erasure.

What it searches (:func:`subject_terms`): the person's full name, email, phone in the spellings
people type (``+27 82 123 4567``, ``082 123 4567``, ``082-123-4567``, the bare national digits),
street address, and for a partner business name, contact name and website; plus what the
requester gave on their privacy requests. Matching is case-insensitive substring search.

Namesakes
---------
Another person may share a name or a street with the subject ("Thandi Nkosi" is not unique).
A hit is not residue when the row belongs (through the registry's routes) to another homeowner
or partner whose own profile holds the same term (:func:`_namesake_rows`: the owners of the
rows found, then their profiles). A hit in any other row, e.g. the name in someone else's
review or in an audit entry, is residue.

Cost: the tables that grow with the leads (:data:`search_index.SEARCHED`) are searched through
their word index (FTS5 on SQLite, GIN on PostgreSQL), which covers all their text columns: the
index names the candidate rows, which are then read and checked exactly in Python as any hit
is. The big tables of codes only (:mod:`data.erasure.vocabulary`) are proved clean by the
distinct values ever written to their columns, and read only in a column that holds a value
containing a term. Every other table is read in one pass (its text columns concatenated, one
``LIKE`` per :func:`anchors`: a phone's ten spellings share four). Namesakes are looked up
only for terms that were found. So an erasure's scan costs milliseconds, not a read of the
whole database; what the index finds and does not is in :mod:`data.erasure.search_index`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    String,
    Table,
    Text,
    any_,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from data.erasure import search_index, vocabulary
from data.erasure.search_index import PHRASES_PER_QUERY, Searcher, is_text
from data.identifiers import normalise
from data.models import Base
from data.schema import load_all_models
from data.subject_rows import subject_owners
from data.subjects import IDENTIFIER, REGISTRIES

#: Terms shorter than this are too common to mean the person (a two-letter street number).
MIN_TERM = 5
#: Terms per pass of a table (a retention batch scans many people's terms at once; SQLite
#: parses a long OR chain as a deep tree and limits its depth).
TERMS_PER_PASS = 64
_SEPARATOR = "\x1f"  # between the columns of one row, so a term never spans two columns


@dataclass(frozen=True)
class Term:
    """One string to look for, and what it is (for the receipt: kinds, never values)."""

    kind: str
    value: str  # lower case


@dataclass(frozen=True)
class Finding:
    """Rows of one column that still hold one kind of the subject's identifiers."""

    table: str
    column: str
    kind: str
    rows: int


@dataclass(frozen=True)
class ScanResult:
    columns: int
    tables: int
    terms: tuple[str, ...]  # kinds searched, e.g. ("email", "name", "phone", …)
    findings: tuple[Finding, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_receipt(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "tables": self.tables,
            "columns": self.columns,
            "searched": list(self.terms),
            "findings": [
                {"table": f.table, "column": f.column, "kind": f.kind, "rows": f.rows}
                for f in self.findings
            ],
        }


def phone_spellings(stored: str) -> list[str]:
    """The ways a stored ``+27XXXXXXXXX`` number is typed: ``+27821234567``, ``0821234567``,
    ``082 123 4567``, ``082-123-4567``, ``+27 82 123 4567``, ``82 123 4567`` …; the bare nine
    national digits are a substring of the first two (and of ``27821234567``)."""
    digits = "".join(ch for ch in stored if ch.isdigit())
    national = digits[2:] if digits.startswith("27") and len(digits) == 11 else digits
    if len(national) != 9:
        return [stored]
    a, b, c = national[:2], national[2:5], national[5:]
    spellings = [national]
    for sep in (" ", "-", "."):
        spellings += [f"{a}{sep}{b}{sep}{c}", f"0{a}{sep}{b}{sep}{c}"]
    spellings += [f"(0{a}) {b} {c}", f"{a}{b} {c}", f"0{a}{b} {c}"]
    return spellings


def _terms_from(kind: str, value: object) -> list[Term]:
    if not isinstance(value, str) or not value.strip():
        return []
    text = " ".join(value.split())
    if kind == "phone":
        stored = normalise("phone", text) or text
        return [Term("phone", s.lower()) for s in phone_spellings(stored)]
    if kind == "email":
        return [Term("email", (normalise("email", text) or text).lower())]
    if kind == "website":
        bare = text.lower().removeprefix("https://").removeprefix("http://")
        return [Term("website", bare.removeprefix("www.").rstrip("/"))]
    return [Term(kind, text.lower())]


def identity_pairs(
    session: Session, subject_type: str, subject_ids: Collection[int]
) -> dict[int, list[tuple[str, object]]]:
    """Per subject, (kind, value) of what identifies them: the profile's email, phone, name
    and street (a partner's business name, contact name and website), then the name, email
    and phone given on each of their privacy requests. Two queries for a whole batch."""
    profile = Base.metadata.tables[subject_type]
    ids = sorted(set(subject_ids))
    pairs: dict[int, list[tuple[str, object]]] = {}
    query = select(profile).where(profile.c.id.in_(ids)).order_by(profile.c.id)
    for row in session.execute(query).mappings():
        found: list[tuple[str, object]] = [("email", row["email"]), ("phone", row["phone"])]
        if subject_type == "homeowner":
            name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
            found += [("name", name), ("street", row["street"])]
        else:
            found += [
                ("business_name", row["business_name"]),
                ("name", row["contact_name"]),
                ("website", row["website"]),
            ]
        pairs[int(row["id"])] = found
    requests = Base.metadata.tables["privacy_request"]
    owners = subject_owners(subject_type, "privacy_request", ids).subquery()
    given = session.execute(
        select(
            owners.c.owner, requests.c.given_name, requests.c.given_email, requests.c.given_phone
        )
        .select_from(owners.join(requests, requests.c.id == owners.c.id))
        .order_by(owners.c.owner, requests.c.id)
    )
    for owner, given_name, given_email, given_phone in given:
        pairs[int(owner)] += [("name", given_name), ("email", given_email), ("phone", given_phone)]
    return pairs


def terms_of(
    session: Session, subject_type: str, subject_ids: Collection[int]
) -> dict[int, tuple[Term, ...]]:
    """Per subject, everything the scan looks for, read before the erasure clears it."""
    out: dict[int, tuple[Term, ...]] = {}
    for subject_id, pairs in identity_pairs(session, subject_type, subject_ids).items():
        found: dict[str, Term] = {}
        for kind, value in pairs:
            for term in _terms_from(kind, value):
                if len(term.value) >= MIN_TERM and term.value != "[erased]":
                    found.setdefault(term.value, term)
        out[subject_id] = tuple(found.values())
    return out


def subject_terms(session: Session, subject_type: str, subject_id: int) -> tuple[Term, ...]:
    """Everything the scan looks for in one subject's erasure."""
    return terms_of(session, subject_type, [subject_id])[subject_id]


def text_columns(tables: Iterable[Table] | None = None) -> list[tuple[Table, list[Column]]]:
    """Every table with its text columns (String, Text, JSON): the scan's whole field."""
    chosen = tables if tables is not None else load_all_models().sorted_tables
    out = []
    for core in chosen:
        columns = [c for c in core.columns if is_text(c)]
        if columns:
            out.append((core, columns))
    return out


def _as_text(column: Column) -> Any:
    value = cast(column, Text) if isinstance(column.type, JSON) else column
    return func.coalesce(value, literal(""))


def _pattern(value: str) -> str:
    """``%value%`` for LIKE, with backslash escapes (PostgreSQL's default escape character)."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _covered(connection: Any, core: Table) -> list[str] | None:
    """The columns of ``core`` its word index covers in this database (None: read it whole)."""
    return search_index.indexed(connection, core) if core.name in search_index.SEARCHED else None


def _joined(columns: list[Column], separator: str) -> Any:
    expr: Any = _as_text(columns[0])
    for column in columns[1:]:
        expr = expr + literal(separator) + _as_text(column)
    return expr


def anchors(term: Term) -> list[str]:
    """What the database searches for a term; rows holding an anchor are then checked in Python
    against every term. A phone's ten spellings all contain its last seven digits written one
    of four ways (``1234567``, ``123 4567``, ``123-4567``, ``123.4567``), so four conditions
    serve them all; any other term is its own anchor."""
    if term.kind != "phone":
        return [term.value]
    digits = "".join(ch for ch in term.value if ch.isdigit())
    if len(digits) < 9:
        return [term.value]
    b, c = digits[-7:-4], digits[-4:]
    return [f"{b}{c}", f"{b} {c}", f"{b}-{c}", f"{b}.{c}"]


def scan(
    session: Session,
    subject_type: str,
    subject_id: int,
    terms: tuple[Term, ...],
    tables: Iterable[Table] | None = None,
) -> ScanResult:
    """Find ``terms`` anywhere; rows of namesakes (:func:`_namesake_rows`) do not count.

    Namesakes are looked up only for a term that was found, which after an erasure is rare."""
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    fields = text_columns(tables)
    kinds = tuple(sorted({t.kind for t in terms}))
    if not terms:
        return ScanResult(sum(len(c) for _, c in fields), len(fields), kinds)
    wanted = [p for t in terms for p in search_index.phrases(t.kind, t.value)]
    searcher = Searcher(connection, wanted)
    # one phrase per word list: a phone's spellings with spaces, dashes or dots are one search
    by_words = {tuple(searcher.words[p]): p for p in wanted if searcher.searchable(p)}
    phrased = list(by_words.values())
    wordless = [t for t in terms if not searcher.searchable(t.value)]
    findings: dict[tuple[str, str, str], int] = {}
    codes = vocabulary.covered(connection)
    suspects = vocabulary.suspects(connection, [t.value for t in terms]) if codes else set()
    read: list[tuple[Table, list[Column], list[Column], dict[tuple, list]]] = []
    with search_index.without_jit(connection):
        for core, columns in fields:
            key = list(core.primary_key.columns)
            joined = _joined(columns, _SEPARATOR)
            covered = _covered(connection, core)
            if vocabulary.applies_to(core.name) and core.name in codes:
                # a column whose recorded values hold no term holds none in any row
                unproven = [
                    c
                    for c in columns
                    if c.name not in codes[core.name] or (core.name, c.name) in suspects
                ]
                conditions = (
                    _like_passes(_joined(unproven, _SEPARATOR), terms, dialect) if unproven else []
                )
            elif covered:
                conditions = [
                    searcher.condition(core, covered, phrased[start : start + PHRASES_PER_QUERY])
                    for start in range(0, len(phrased), PHRASES_PER_QUERY)
                ]
                conditions += _like_passes(joined, wordless, dialect)
                rest = [c for c in columns if c.name not in covered]  # added since the index
                if rest:
                    conditions += _like_passes(_joined(rest, _SEPARATOR), terms, dialect)
            else:
                conditions = _like_passes(joined, terms, dialect)
            hits: dict[tuple, list] = {}
            for condition in conditions:
                for row in session.execute(select(*key, *columns).where(condition)):
                    texts = [None if v is None else _plain(v) for v in row[len(key) :]]
                    hits[tuple(row[: len(key)])] = texts
            if hits:
                read.append((core, key, columns, hits))
    finder = _Finder(terms)
    for core, key, columns, hits in read:
        held: dict[tuple, list[tuple[Column, Term]]] = {}  # row → (column, term) it holds
        for row_key, texts in hits.items():
            pairs = [
                (column, term)
                for column, value in zip(columns, texts, strict=True)
                if value
                for term in finder.within(value)
            ]
            if pairs:
                held[row_key] = pairs
        found = {row_key: {t.value for _, t in pairs} for row_key, pairs in held.items()}
        namesakes = _namesake_rows(session, core, key, found, subject_type, subject_id)
        for row_key, pairs in held.items():
            for column, term in pairs:
                if (row_key, term.value) not in namesakes:
                    where = (core.name, column.name, term.kind)
                    findings[where] = findings.get(where, 0) + 1
    result = tuple(Finding(t, c, k, n) for (t, c, k), n in sorted(findings.items()))
    return ScanResult(sum(len(c) for _, c in fields), len(fields), kinds, result)


#: Length of the start of a term :class:`_Finder` files it under.
_GRAM = 4


class _Finder:
    """Which of the terms a text holds, reading the text once: each term is filed under its
    first :data:`_GRAM` characters, and each position of the text looks up the terms that
    start with what is there. Asking each term of a retention batch (hundreds found in the
    rows read: namesakes' names and streets) of each row read (thousands) grew with both;
    with the namesake check asking them again and an n-gram set of all the text, it was
    0.7–1.5 s of a batch of 100 at 1M leads."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.by_start: dict[str, list[Term]] = {}
        self.short: list[Term] = []  # shorter than a start: asked of every text
        for term in terms:
            if len(term.value) < _GRAM:
                self.short.append(term)
            else:
                self.by_start.setdefault(term.value[:_GRAM], []).append(term)

    def within(self, value: str) -> list[Term]:
        out = [t for t in self.short if t.value in value]
        by_start = self.by_start
        for i in range(len(value) - _GRAM + 1):
            for term in by_start.get(value[i : i + _GRAM], ()):
                if term not in out and value.startswith(term.value, i):
                    out.append(term)
        return out


def _like_passes(joined: Any, terms: Iterable[Term], dialect: str) -> list[Any]:
    """``LIKE`` conditions for a table read in full. SQLite (whose LIKE ignores ASCII case
    already): :data:`TERMS_PER_PASS` anchors per pass. PostgreSQL: one pass, the row's text
    lowered once and matched against every anchor given as one array (``LIKE ANY``); as ``OR``
    chains of ``ILIKE`` (which lowers the row again for each anchor) a retention batch's 700
    anchors were 11 statements per table, 220 in all, and a second of the batch's time."""
    searched = [_pattern(a) for a in dict.fromkeys(a for t in terms for a in anchors(t))]
    if not searched:
        return []
    if dialect != "sqlite":
        return [func.lower(joined).like(any_(literal(searched, ARRAY(Text))))]
    return [
        or_(*(joined.like(p, escape="\\") for p in searched[start : start + TERMS_PER_PASS]))
        for start in range(0, len(searched), TERMS_PER_PASS)
    ]


def _plain(value: object) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.lower()


def _namesake_rows(
    session: Session,
    core: Table,
    key: list[Column],
    found: dict[tuple, set[str]],
    subject_type: str,
    subject_id: int,
) -> set[tuple[tuple, str]]:
    """(row key, term) of the rows found that belong, along the registry's routes, to another
    homeowner or partner whose own identifiers hold the term (a namesake): the rows' owners
    are read with one query per subject type, then their profiles (identifier columns joined
    by spaces, so a full name spans ``first_name`` and ``last_name``). From the rows to their
    owners rather than from each term to everyone who holds it: a retention batch finds
    hundreds of common names, and a search of the profiles per name was most of its time."""
    excused: set[tuple[tuple, str]] = set()
    if not found:
        return excused
    ids = [k[0] for k in found] if len(key) == 1 and key[0].name == "id" else None
    for kind, registry in REGISTRIES.items():
        try:
            registry.table(core.name)
        except KeyError:
            continue
        pairs = subject_owners(kind, core.name, row_ids=ids).subquery()
        owners: dict[tuple, set[int]] = {}
        for row in session.execute(select(*(pairs.c[k.name] for k in key), pairs.c.owner)):
            if tuple(row[:-1]) in found and (kind, row[-1]) != (subject_type, subject_id):
                owners.setdefault(tuple(row[:-1]), set()).add(int(row[-1]))
        if not owners:
            continue
        profile = Base.metadata.tables[registry.subject_table]
        strings = [
            profile.c[c]
            for c in registry.table(registry.subject_table).columns(IDENTIFIER)
            if isinstance(profile.c[c].type, String)
        ]
        wanted = sorted(set().union(*owners.values()))
        identities = {
            row[0]: " ".join(v or "" for v in row[1:]).lower()
            for row in session.execute(
                select(profile.c.id, *strings).where(profile.c.id.in_(wanted))
            )
        }
        for row_key, people in owners.items():
            mine = _SEPARATOR.join(identities.get(o, "") for o in people)
            excused.update((row_key, value) for value in found[row_key] if value in mine)
    return excused
