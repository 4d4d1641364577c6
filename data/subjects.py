"""Where a person's data lives: one registry of every table and column that holds a homeowner
or a partner, or points at one, and how each table's rows reach that person.

Why one registry
----------------
Four privacy operations must agree, column for column, on where a data subject is held:

* the **access package** (:mod:`data.privacy.access_package`) collects "everything held on the
  subject, across every table" by asking this registry which rows belong to the subject;
* the coming **erasure** nulls or replaces the *identifier* fields, redacts the *free text*,
  keeps the *statistic* fields of statistic-bearing rows (leads, shares, reviews' ratings) and
  deals with every *reference*;
* the **residue scan** that follows an erasure searches every identifier and free-text column of
  every registered table for what is left of the subject;
* the **retention sweep** finds people past their retention period and erases them through the
  same code.

If each kept its own list of tables, a column added for one of them would be silently missed by
the others (a package that omits it, an erasure that leaves it behind). So the answer lives here
once, and ``tests/unit/test_subjects.py`` fails when any table of the database gains a column
that refers to a person, or holds text, without a decision recorded here: either a kind in a
subject's registry, or an entry in :data:`data.subject_decisions.NOT_SUBJECT_DATA` with the
reason it holds nobody's personal information.

Shape
-----
* :class:`SubjectField` ``(table, column, kind)``: what one column is for one kind of subject
  (the same column can be a *reference* for the partner and a *counterparty* for the homeowner).
* :class:`Route`: how a row reaches the subject, directly (``lead.homeowner_id``), through a
  join path (``interaction.lead_id → lead.homeowner_id``) or through a ``(subject_type,
  subject_id)`` pair (consent events, privacy requests). A table may have several routes; a row
  belongs to the subject when any of them reaches it.
* :class:`SubjectTable`: one table's routes, fields, time column and whether its rows feed
  statistics.
* :class:`SubjectRegistry`: all of that for one subject type (:data:`HOMEOWNER`,
  :data:`PARTNER`), plus :class:`DerivedTables` for the partner rollups (``data.rollups``),
  which are recognised by name because their set of tables is generated.

The module holds declarations only; the one query built from them ("this subject's rows of
that table") is in :mod:`data.subject_rows`. Neither imports page code or a privacy operation,
so every operation can import them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, TypedDict, Unpack, get_args

from sqlalchemy import Column, Integer, Table

from data.models import Base

# --- kinds ------------------------------------------------------------------------------------

FieldKind = Literal[
    "identifier", "free_text", "reference", "statistic", "counterparty", "not_personal"
]

#: Identifies or describes the person (name, email, phone, address, demographics, payment last
#: four, a recording reference, a contact preference): nulled or replaced on erasure; string
#: ones are searched by the residue scan.
IDENTIFIER: Final = "identifier"
#: Text typed by someone that may contain personal data (descriptions, comments, notes):
#: redacted on erasure and searched by the residue scan.
FREE_TEXT: Final = "free_text"
#: Holds the subject's id, directly or as the first step of a join path (``lead.homeowner_id``,
#: ``interaction.lead_id``, ``consent_event.subject_id``): how the subject's rows are found.
REFERENCE: Final = "reference"
#: A fact that feeds statistics and survives erasure de-identified (trade, month, province,
#: ratings, funnel timestamps, partner rollup counts).
STATISTIC: Final = "statistic"
#: Points at the *other* party (the partner on a homeowner's lead, the homeowner's lead on a
#: partner's share): that party's data, kept on this subject's erasure, never shown in its
#: package beyond a partner's business name.
COUNTERPARTY: Final = "counterparty"
#: Says nothing about a person on its own: surrogate keys, enum-like codes, bookkeeping dates,
#: staff user ids.
NOT_PERSONAL: Final = "not_personal"

KINDS: tuple[FieldKind, ...] = get_args(FieldKind)

SubjectType = Literal["homeowner", "partner"]


# --- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectField:
    """What one column of one table is, for one kind of subject."""

    table: str
    column: str
    kind: FieldKind
    why: str = ""


@dataclass(frozen=True)
class Hop:
    """One step of a join path: the current table's ``column`` holds an id of ``target``."""

    column: str
    target: str


@dataclass(frozen=True)
class Route:
    """How a row of a table reaches the subject.

    Follow ``hops`` from the table (each one an id column into the next table); on the table
    reached, ``key`` holds the subject's id, and, when ``type_column`` is set, that column must
    equal the subject type (a polymorphic ``(subject_type, subject_id)`` pair). With no hops and
    ``key="id"`` the row *is* the subject.
    """

    key: str
    hops: tuple[Hop, ...] = ()
    type_column: str | None = None

    def describe(self, table: str) -> str:
        """E.g. ``interaction.lead_id → lead.homeowner_id``."""
        parts, current = [], table
        for hop in self.hops:
            parts.append(f"{current}.{hop.column}")
            current = hop.target
        pair = f"({current}.{self.type_column}, {current}.{self.key})"
        parts.append(pair if self.type_column else f"{current}.{self.key}")
        return " → ".join(parts)


@dataclass(frozen=True)
class SubjectTable:
    """One table that holds the subject or points at it."""

    table: str
    routes: tuple[Route, ...]
    fields: tuple[SubjectField, ...]
    #: The row's own time ("oldest first" in the access package; age for retention), or None.
    time_column: str | None = None
    #: Its rows feed statistics: erasure de-identifies them instead of deleting them.
    keeps_statistics: bool = False
    why: str = ""

    def kind_of(self, column: str) -> FieldKind | None:
        return next((f.kind for f in self.fields if f.column == column), None)

    def columns(self, *kinds: FieldKind) -> tuple[str, ...]:
        """The columns of these kinds, in declaration order."""
        return tuple(f.column for f in self.fields if f.kind in kinds)


@dataclass(frozen=True)
class DerivedTables:
    """A generated family of derived tables, recognised by name prefix (the partner rollups).

    Tables of the family that have ``key`` hold rows of one subject each (rebuilt from the base
    tables, statistic-bearing); those without it are totals over everybody. Columns named in
    ``fields`` have that kind; every other column must be an integer count (a statistic), so
    a new text column in the family still forces a decision.
    """

    prefix: str
    key: str
    fields: tuple[tuple[str, FieldKind], ...]
    time_column: str | None
    why: str

    def matches(self, table_name: str) -> bool:
        return table_name.startswith(self.prefix)

    def kind_of(self, column: Column) -> FieldKind | None:
        named = dict(self.fields)
        if column.name in named:
            return named[column.name]
        if isinstance(column.type, Integer):
            return STATISTIC
        return None

    def entry(self, table: Table) -> SubjectTable | None:
        """The table as a :class:`SubjectTable` (None if it holds no subject's rows)."""
        if not self.matches(table.name) or self.key not in table.c:
            return None
        kinds = [(c.name, self.kind_of(c)) for c in table.columns]
        return SubjectTable(
            table.name,
            routes=(Route(self.key),),
            fields=tuple(SubjectField(table.name, c, k) for c, k in kinds if k is not None),
            time_column=self.time_column if self.time_column in table.c else None,
            keeps_statistics=True,
            why=self.why,
        )


@dataclass(frozen=True)
class SubjectRegistry:
    """Every table that holds one type of subject, and how it reaches that subject."""

    subject_type: SubjectType
    #: The subject's own table (its ``id`` is the subject id).
    subject_table: str
    tables: tuple[SubjectTable, ...]
    derived: tuple[DerivedTables, ...] = field(default=())

    def all_tables(self) -> tuple[SubjectTable, ...]:
        """The declared tables, then the derived ones currently on ``Base.metadata`` (import
        the table modules first, e.g. ``data.schema.load_all_models()``)."""
        found = [
            entry
            for rule in self.derived
            for table in Base.metadata.tables.values()
            if (entry := rule.entry(table)) is not None
        ]
        return self.tables + tuple(sorted(found, key=lambda e: e.table))

    def table(self, name: str) -> SubjectTable:
        for entry in self.tables:
            if entry.table == name:
                return entry
        for rule in self.derived:
            if rule.matches(name) and name in Base.metadata.tables:
                derived = rule.entry(Base.metadata.tables[name])
                if derived is not None:
                    return derived
        raise KeyError(f"{name!r} holds no {self.subject_type} in the registry")

    def kind_of(self, table: str, column: str) -> FieldKind | None:
        try:
            return self.table(table).kind_of(column)
        except KeyError:
            return None

    def fields(self, *kinds: FieldKind) -> Iterator[SubjectField]:
        """Every field (of these kinds, if given) of every declared and derived table."""
        for entry in self.all_tables():
            yield from (f for f in entry.fields if not kinds or f.kind in kinds)


class _Columns(TypedDict, total=False):
    """Space-separated column names per kind; ``not_personal`` maps space-separated columns
    to the reason they say nothing about a person."""

    identifier: str
    free_text: str
    reference: str
    statistic: str
    counterparty: str
    not_personal: dict[str, str]


def fields_of(table: str, **columns: Unpack[_Columns]) -> tuple[SubjectField, ...]:
    named = (IDENTIFIER, FREE_TEXT, REFERENCE, STATISTIC, COUNTERPARTY)
    made = [SubjectField(table, c, k) for k in named for c in str(columns.get(k, "")).split()]
    made += [
        SubjectField(table, c, NOT_PERSONAL, why)
        for group, why in columns.get("not_personal", {}).items()
        for c in group.split()
    ]
    return tuple(made)


def _entry(
    table: str,
    routes: tuple[Route, ...],
    *,
    time_column: str | None = None,
    keeps_statistics: bool = False,
    why: str = "",
    **columns: Unpack[_Columns],
) -> SubjectTable:
    fields = fields_of(table, **columns)
    return SubjectTable(table, routes, fields, time_column, keeps_statistics, why)


_ID = {"id": "surrogate key"}
_STAFF = "a staff user's id (app_user), not the subject"
_SUBJECT_PAIR = Route("subject_id", type_column="subject_type")
#: Rows of a homeowner's leads (shares, events, calls) reach the homeowner through the lead.
_VIA_LEAD = Route("homeowner_id", hops=(Hop("lead_id", "lead"),))


# --- tables both kinds of subject appear in ---------------------------------------------------


def _interaction(me: SubjectType) -> SubjectTable:
    """Calls, emails and messages: the recording reference is deleted with the recording."""
    homeowner = me == "homeowner"
    return _entry(
        "interaction",
        # Partner ↔ staff calls about a homeowner's job carry its lead but no homeowner_id.
        (Route("homeowner_id"), _VIA_LEAD) if homeowner else (Route("partner_id"),),
        identifier="recording_ref",
        free_text="notes notes_redacted",
        reference="homeowner_id lead_id" if homeowner else "partner_id",
        counterparty="partner_id" if homeowner else "homeowner_id lead_id",
        not_personal={
            **_ID,
            "channel parties purpose": "enum codes (how, between whom, why)",
            "at duration_s recorded": "when, how long, whether a recording exists",
        },
        time_column="at",
        why="Contacts with the subject; a homeowner's also through the leads they are about.",
    )


def _review(me: SubjectType) -> SubjectTable:
    """Reviews by and about the subject: ratings stay for the partner's statistics."""
    homeowner = me == "homeowner"
    return _entry(
        "review",
        (Route(f"{me}_id"),),
        free_text="comment comment_redacted",
        reference="homeowner_id lead_id" if homeowner else "partner_id",
        counterparty="partner_id" if homeowner else "homeowner_id lead_id",
        statistic="trade_id author_side rating quality timeliness value communication "
        "created_at moderation_status dispute",
        not_personal=_ID,
        time_column="created_at",
        keeps_statistics=True,
        why="Reviews by and about the subject; the author moves to a placeholder on erasure.",
    )


def _lead_child(
    table: str, me: SubjectType, statistic: str, time_column: str, why: str, **not_personal: str
) -> SubjectTable:
    """A row about one lead and one partner (a share, a status change): the raw data of the
    partner funnel and the lead flow. A homeowner reaches it through the lead, a partner
    directly; each side's column is the other's counterparty."""
    homeowner = me == "homeowner"
    return _entry(
        table,
        (_VIA_LEAD,) if homeowner else (Route("partner_id"),),
        reference="lead_id" if homeowner else "partner_id",
        counterparty="partner_id" if homeowner else "lead_id",
        statistic=statistic,
        not_personal={**_ID, **not_personal},
        time_column=time_column,
        keeps_statistics=True,
        why=why,
    )


def _lead_share(me: SubjectType) -> SubjectTable:
    return _lead_child(
        "lead_share",
        me,
        "trade_id province shared_at viewed_at response responded_at first_contact_at "
        "quoted_at quote_amount hired_at completed_at outcome partner_was_prospective",
        "shared_at",
        "Which partners received a homeowner's details and when (POPIA s24(3) recipients).",
    )


def _lead_event(me: SubjectType) -> SubjectTable:
    return _lead_child(
        "lead_event",
        me,
        "from_status to_status at",
        "at",
        "The status history of the subject's leads (a partner's: of the leads it received).",
        actor="who moved the lead: a role code (homeowner, partner, system) or staff",
    )


_REQUEST_NOT_PERSONAL = {
    "id duplicate_of_id version": "keys (a duplicate is the same subject's) and a lock counter",
    "type channel status verification_method verification_outcome denial_reason": "enum "
    "codes: type and outcome survive erasure",
    "received_at due_at original_due_at extension_notice_at verified_at closed_at": "the "
    "request clock: dates survive erasure",
    "no_record_found extended": "flags",
    "verified_by assignee_id": _STAFF,
}

#: The privacy desk's tables, the same for both kinds of subject (found by the subject pair).
#: ``privacy_request``'s identifiers are classified here for requests with no matched subject
#: too: the retention sweep clears them in closed requests after three years.
_PRIVACY_TABLES: tuple[SubjectTable, ...] = (
    _entry(
        "consent_event",
        (_SUBJECT_PAIR,),
        free_text="evidence",
        reference="subject_type subject_id",
        not_personal={**_ID, "purpose granted source at": "enum codes, a flag and a time"},
        time_column="at",
        why="Consent history; replaced by a suppression entry on erasure.",
    ),
    _entry(
        "privacy_request",
        (_SUBJECT_PAIR,),
        identifier="given_name given_email given_phone",
        free_text="message extension_reason verification_evidence resolution_note response_text",
        reference="subject_type subject_id",
        not_personal=_REQUEST_NOT_PERSONAL,
        time_column="received_at",
        why="The subject's privacy requests: type, dates and outcome survive erasure.",
    ),
    _entry(
        "privacy_request_note",
        (Route("subject_id", (Hop("request_id", "privacy_request"),), "subject_type"),),
        free_text="text",
        reference="request_id",
        not_personal={**_ID, "author_id": _STAFF, "at": "time of the note"},
        time_column="at",
        why="Staff notes on the subject's requests (internal: not in the access package).",
    ),
    _entry(
        "privacy_correction",
        (_SUBJECT_PAIR,),
        identifier="before_value after_value",
        reference="subject_type subject_id",
        not_personal={
            **_ID,
            "request_id field at": "the request (same subject), a column name, a time",
            "by_user_id": _STAFF,
        },
        time_column="at",
        why="Values before and after a correction: personal data, nulled like identifiers.",
    ),
    _entry(
        "legal_disclosure",
        (_SUBJECT_PAIR,),
        free_text="legal_basis data_released",
        reference="subject_type subject_id",
        not_personal={
            **_ID,
            "reference authority at": "the authority, its case reference, the date",
            "by_user_id": _STAFF,
        },
        time_column="at",
        why="Disclosures of the subject's information to authorities.",
    ),
)


# --- homeowners -------------------------------------------------------------------------------

HOMEOWNER = SubjectRegistry(
    subject_type="homeowner",
    subject_table="homeowner",
    tables=(
        _entry(
            "homeowner",
            (Route("id"),),
            # birth_year, gender, property_type: quasi-identifiers; erased people leave
            # the demographic aggregates.
            identifier="first_name last_name email phone whatsapp_opt_in street suburb "
            "city province postal_code birth_year gender property_type",
            free_text="legal_hold",
            reference="id",
            not_personal={
                "source_site": "which site the request came through (main or a sub-brand)",
                "created_at last_activity_at erased_at": "bookkeeping and retention dates",
                "email_digest phone_digest": "keyed HMACs of email and phone, no plain "
                "identifier (data.consent.digests): recomputed from them on every write, so "
                "they go when the erasure clears email and phone",
            },
            time_column="created_at",
            why="The profile; the row stays (leads point at it) with its identifiers nulled.",
        ),
        _entry(
            "lead",
            (Route("homeowner_id"),),
            identifier="suburb",
            free_text="description description_redacted",
            reference="homeowner_id",
            statistic="trade_id service_type_id city province channel created_at status",
            not_personal=_ID,
            time_column="created_at",
            keeps_statistics=True,
            why="Job requests: trade, service type, month, province and city survive erasure.",
        ),
        _lead_share("homeowner"),
        _lead_event("homeowner"),
        _interaction("homeowner"),
        _review("homeowner"),
        _entry(
            "aggregate_cell",
            (Route("homeowner_id"),),
            # copies of the homeowner's quasi-identifiers: the rows go on erasure (the cube
            # drops the person's contributions in the same transaction: cells.cube_follows)
            identifier="birth_year gender property_type",
            reference="homeowner_id lead_id",
            statistic="month province city trade_id service_type_id channel hired completed "
            "rating_sum reviews prev_month next_month",
            time_column=None,
            why="De-identified tables' narrow copy of each lead (data.aggregates.cells) with "
            "copies of the homeowner's birth year, gender and property type; an erased "
            "person's rows are deleted (never counted; the statistics stay in lead), an "
            "objecting one's left out when a table is read.",
        ),
        *_PRIVACY_TABLES,
    ),
)


# --- partners ---------------------------------------------------------------------------------

ROLLUPS = DerivedTables(
    prefix="rollup_",
    key="partner_id",
    fields=(
        ("partner_id", REFERENCE),
        ("trade_id", STATISTIC),
        ("province", STATISTIC),
        ("day", STATISTIC),
        ("name", NOT_PERSONAL),  # rollup_state: the name of a version counter
        ("preset", NOT_PERSONAL),  # rollup_share_partner_preset: a period's code ("30d")
        # the lead-flow rollups' categories (data.rollups.lead_flow): totals over everybody
        ("channel", STATISTIC),
        ("source_site", STATISTIC),
        ("from_status", STATISTIC),
        ("to_status", STATISTIC),
    ),
    time_column="day",
    why="Partner performance rollups (data.rollups): counts per partner, rebuilt from the base "
    "tables; the per-trade totals and rollup_state hold no partner.",
)

PARTNER = SubjectRegistry(
    subject_type="partner",
    subject_table="partner",
    tables=(
        _entry(
            "partner",
            (Route("id"),),
            identifier="business_name contact_name email phone whatsapp_opt_in website "
            "payment_token payment_last4 province city",
            free_text="skills certifications working_preferences biography legal_hold",
            reference="id",
            not_personal={
                "vetting_status": "enum code (prospective, vetted, suspended, offboarded)",
                "joined_at erased_at": "bookkeeping dates",
            },
            time_column="joined_at",
            why="The partner's profile; payment details are a token and the last four digits.",
        ),
        _entry(
            "partner_trade",
            (Route("partner_id"),),
            reference="partner_id",
            not_personal={"trade_id": "a trade code the partner offers"},
            why="The partner's trades.",
        ),
        _entry(
            "partner_area",
            (Route("partner_id"),),
            reference="partner_id",
            not_personal={**_ID, "province city": "places from the fixed geography list"},
            why="The partner's service areas.",
        ),
        _lead_share("partner"),
        _lead_event("partner"),
        _interaction("partner"),
        _review("partner"),
        *_PRIVACY_TABLES,
    ),
    derived=(ROLLUPS,),
)

REGISTRIES: dict[str, SubjectRegistry] = {"homeowner": HOMEOWNER, "partner": PARTNER}
