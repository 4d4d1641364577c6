"""The registry of where a person's data lives (``data.subjects``).

Two promises are checked here. (1) No column anywhere in the database that refers to a homeowner
or a partner, or that can hold text, escapes a decision: a new one fails the first tests until it
is classified in a subject's registry or listed, with its reason, as holding nobody's data.
(2) The registry's routes really reach the subject and only the subject: in a small world with
two homeowners and two partners, the registry-driven query returns, for every registered table,
exactly the rows written down by hand below.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import JSON, Column, Integer, String, Table, func, select

from data import subject_decisions, subject_rows, subjects
from data.db import session_scope
from data.models import (
    ConsentEvent,
    Interaction,
    LeadEvent,
    LegalDisclosure,
    PartnerArea,
    PartnerTrade,
    PrivacyRequestNote,
    Trade,
)
from data.privacy.models import PrivacyCorrection
from data.schema import load_all_models
from tests.factories import add_homeowner, add_lead, add_review, add_share, base_rows
from tests.privacy_support import add_request

PERSON_TABLES = {"homeowner", "partner"}
PERSON_ID_NAME = re.compile(r"(^|_)(homeowner|partner|subject)_id$")


def all_tables() -> list[Table]:
    return list(load_all_models().tables.values())


def refers_to_person(column: Column) -> bool:
    return bool(PERSON_ID_NAME.search(column.name)) or any(
        fk.column.table.name in PERSON_TABLES for fk in column.foreign_keys
    )


def holds_text(column: Column) -> bool:
    return isinstance(column.type, String | JSON)  # Text, Unicode and Enum are Strings


# --- (1) every column that could hold a person has a decision -----------------------------------


def test_every_person_reference_or_text_column_is_classified():
    undecided = [
        f"{table.name}.{column.name}"
        for table in all_tables()
        for column in table.columns
        if (refers_to_person(column) or holds_text(column))
        and not subject_decisions.decisions(table, column.name)
    ]
    assert undecided == [], (
        "classify these columns in data/subjects.py (a kind in the homeowner or partner "
        "registry, or data/subject_decisions.py with the reason they hold nobody's data)"
    )


def test_columns_pointing_at_a_person_are_references_in_that_persons_registry():
    wrong = []
    for table in all_tables():
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys} & PERSON_TABLES
            named = PERSON_ID_NAME.search(column.name)
            if named and named.group(2) != "subject":
                targets.add(named.group(2))
            if named and named.group(2) == "subject":
                targets |= PERSON_TABLES  # a (subject_type, subject_id) pair: either kind
            for target in targets:
                kind = subjects.REGISTRIES[target].kind_of(table.name, column.name)
                if kind != subjects.REFERENCE:
                    wrong.append((table.name, column.name, target, kind))
    assert wrong == []


def test_every_column_of_a_declared_table_is_classified_and_exists():
    metadata = load_all_models()
    for registry in subjects.REGISTRIES.values():
        for entry in registry.tables:
            table = metadata.tables[entry.table]
            declared = [f.column for f in entry.fields]
            assert len(declared) == len(set(declared)), f"{entry.table}: a column twice"
            assert sorted(declared) == sorted(c.name for c in table.columns), (
                f"{registry.subject_type}: {entry.table}"
            )
            assert all(f.table == entry.table and f.kind in subjects.KINDS for f in entry.fields)
            if entry.time_column is not None:
                assert entry.time_column in table.c


def test_not_subject_data_names_real_columns_with_reasons():
    metadata = load_all_models()
    for item in subject_decisions.NOT_SUBJECT_DATA:
        assert item.column in metadata.tables[item.table].c, item
        assert item.kind == subjects.NOT_PERSONAL and item.why


def test_a_new_text_column_on_a_rollup_table_is_not_classified_by_the_family_rule():
    table = next(t for t in all_tables() if t.name == "rollup_share_partner")
    assert subject_decisions.decisions(table, "partner_id") == {"partner": subjects.REFERENCE}
    assert subjects.ROLLUPS.kind_of(Column("owner_name", String(80))) is None
    assert subjects.ROLLUPS.kind_of(Column("shares_total", Integer())) == (subjects.STATISTIC)


ROUTES = {
    "homeowner": {
        "homeowner": {"homeowner.id"},
        "lead": {"lead.homeowner_id"},
        "lead_share": {"lead_share.lead_id → lead.homeowner_id"},
        "lead_event": {"lead_event.lead_id → lead.homeowner_id"},
        "interaction": {"interaction.homeowner_id", "interaction.lead_id → lead.homeowner_id"},
        "review": {"review.homeowner_id"},
        "aggregate_cell": {"aggregate_cell.homeowner_id"},
        "consent_event": {"(consent_event.subject_type, consent_event.subject_id)"},
        "privacy_request": {"(privacy_request.subject_type, privacy_request.subject_id)"},
        "privacy_request_note": {
            "privacy_request_note.request_id → "
            "(privacy_request.subject_type, privacy_request.subject_id)"
        },
        "privacy_correction": {"(privacy_correction.subject_type, privacy_correction.subject_id)"},
        "legal_disclosure": {"(legal_disclosure.subject_type, legal_disclosure.subject_id)"},
    },
    "partner": {
        "partner": {"partner.id"},
        "partner_trade": {"partner_trade.partner_id"},
        "partner_area": {"partner_area.partner_id"},
        "lead_share": {"lead_share.partner_id"},
        "lead_event": {"lead_event.partner_id"},
        "interaction": {"interaction.partner_id"},
        "review": {"review.partner_id"},
        "consent_event": {"(consent_event.subject_type, consent_event.subject_id)"},
        "privacy_request": {"(privacy_request.subject_type, privacy_request.subject_id)"},
        "privacy_request_note": {
            "privacy_request_note.request_id → "
            "(privacy_request.subject_type, privacy_request.subject_id)"
        },
        "privacy_correction": {"(privacy_correction.subject_type, privacy_correction.subject_id)"},
        "legal_disclosure": {"(legal_disclosure.subject_type, legal_disclosure.subject_id)"},
    },
}


@pytest.mark.parametrize("subject_type", ["homeowner", "partner"])
def test_declared_routes(subject_type):
    registry = subjects.REGISTRIES[subject_type]
    described = {e.table: {r.describe(e.table) for r in e.routes} for e in registry.tables}
    assert described == ROUTES[subject_type]


def test_rollups_with_a_partner_are_partner_tables_reached_by_partner_id():
    load_all_models()
    rollups = [e for e in subjects.PARTNER.all_tables() if e.table.startswith("rollup_")]
    names = {e.table for e in rollups}
    assert {"rollup_share_partner", "rollup_review_partner_trade_province_latest"} <= names
    assert {"rollup_share_trade_day", "rollup_state"}.isdisjoint(names)  # totals over everybody
    for entry in rollups:
        assert [r.describe(entry.table) for r in entry.routes] == [f"{entry.table}.partner_id"]
        assert entry.keeps_statistics


def test_what_the_erasure_will_scrub():
    """A hand-written sample of the fields the erasure and the residue scan rely on."""
    home, partner = subjects.HOMEOWNER, subjects.PARTNER
    for column in ("first_name", "last_name", "email", "phone", "street", "postal_code"):
        assert home.kind_of("homeowner", column) == subjects.IDENTIFIER
    assert home.kind_of("lead", "description") == subjects.FREE_TEXT
    assert home.kind_of("lead", "suburb") == subjects.IDENTIFIER
    for column in ("trade_id", "service_type_id", "created_at", "province", "city"):
        assert home.kind_of("lead", column) == subjects.STATISTIC  # kept for statistics
    assert home.kind_of("review", "comment") == subjects.FREE_TEXT
    assert home.kind_of("review", "rating") == subjects.STATISTIC
    assert home.kind_of("review", "partner_id") == subjects.COUNTERPARTY
    assert home.kind_of("interaction", "notes") == subjects.FREE_TEXT
    assert home.kind_of("interaction", "recording_ref") == subjects.IDENTIFIER
    assert home.kind_of("privacy_request", "given_email") == subjects.IDENTIFIER
    assert home.kind_of("privacy_request", "type") == subjects.NOT_PERSONAL
    assert partner.kind_of("partner", "payment_last4") == subjects.IDENTIFIER
    assert partner.kind_of("partner", "biography") == subjects.FREE_TEXT
    assert partner.kind_of("review", "homeowner_id") == subjects.COUNTERPARTY
    assert partner.kind_of("lead", "description") is None  # a homeowner's, never a partner's
    statistic_tables = {e.table for e in home.tables if e.keeps_statistics}
    assert statistic_tables == {"lead", "lead_share", "lead_event", "review"}


# --- (2) the routes reach the subject and nobody else ---------------------------------------------

T0 = datetime(2025, 3, 1, 9, 0)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def two_of_each(db):
    """Homeowners A and B, partners P (A's lead) and Q (B's lead), each with a row in every
    registered table. A and P have the same id (every emptied table numbers from 1), so the
    ``(subject_type, subject_id)`` pairs of A's and P's rows differ only by their type."""
    ids: dict[str, int] = {}
    with session_scope(db) as s:
        rows = base_rows(s, partners=2)
        a, (p, q) = rows.homeowner, rows.partners
        b = add_homeowner(s)
        assert (a.id, b.id) == (p.id, q.id)  # numbering shared by design of this world
        other_trade = Trade(code="electrical", name="Electrical")
        s.add(other_trade)
        s.flush()
        lead_a = add_lead(s, rows, created_at=at(0))
        lead_b = add_lead(s, rows, homeowner_id=b.id, created_at=at(1))
        share_a = add_share(s, rows, lead_a, p)
        share_b = add_share(s, rows, lead_b, q)
        review_a = add_review(s, rows, lead_a, p)
        review_b = add_review(s, rows, lead_b, q, homeowner_id=b.id)

        def add(obj):
            s.add(obj)
            s.flush()
            return obj.id

        event = {"from_status": "created", "to_status": "shared", "actor": "system"}
        ids["event_a"] = add(LeadEvent(lead_id=lead_a.id, partner_id=p.id, at=at(2), **event))
        ids["event_b"] = add(LeadEvent(lead_id=lead_b.id, partner_id=q.id, at=at(2), **event))
        call = {"channel": "call", "recorded": False}
        # A ↔ P about A's lead; P ↔ staff about A's lead (no homeowner_id); A ↔ staff, no lead.
        ids["call_a_p"] = add(
            Interaction(
                lead_id=lead_a.id,
                homeowner_id=a.id,
                partner_id=p.id,
                parties="homeowner-partner",
                at=at(5),
                **call,
            )
        )
        ids["call_p_staff_about_a"] = add(
            Interaction(
                lead_id=lead_a.id, partner_id=p.id, parties="partner-staff", at=at(3), **call
            )
        )
        ids["call_a_staff"] = add(
            Interaction(homeowner_id=a.id, parties="homeowner-staff", at=at(4), **call)
        )
        ids["call_b_q"] = add(
            Interaction(
                lead_id=lead_b.id,
                homeowner_id=b.id,
                partner_id=q.id,
                parties="homeowner-partner",
                at=at(4),
                **call,
            )
        )
        ids["call_q_staff"] = add(
            Interaction(partner_id=q.id, parties="partner-staff", at=at(6), **call)
        )

        def consent(subject_type: str, subject_id: int, hours: int) -> int:
            return add(
                ConsentEvent(
                    subject_type=subject_type,
                    subject_id=subject_id,
                    purpose="marketing_email",
                    granted=True,
                    at=at(hours),
                    source="web_form",
                )
            )

        ids["consent_a_late"] = consent("homeowner", a.id, 9)
        ids["consent_a_early"] = consent("homeowner", a.id, 1)
        ids["consent_b"] = consent("homeowner", b.id, 1)
        ids["consent_p"] = consent("partner", p.id, 1)
        ids["consent_q"] = consent("partner", q.id, 1)

        requests = {
            "a": ("homeowner", a.id),
            "b": ("homeowner", b.id),
            "p": ("partner", p.id),
            "q": ("partner", q.id),
        }
        for key, (subject_type, subject_id) in requests.items():
            req = add_request(s, subject_type=subject_type, subject_id=subject_id)
            ids[f"request_{key}"] = req.id
            ids[f"note_{key}"] = add(PrivacyRequestNote(request_id=req.id, at=at(7), text="n"))
            ids[f"correction_{key}"] = add(
                PrivacyCorrection(
                    request_id=req.id,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    field="email",
                    before_value="x",
                    after_value="y",
                    at=at(8),
                )
            )
            ids[f"disclosure_{key}"] = add(
                LegalDisclosure(
                    reference=f"ref-{key}",
                    authority="SAPS",
                    legal_basis="s",
                    data_released="d",
                    subject_type=subject_type,
                    subject_id=subject_id,
                    at=at(8),
                )
            )
        s.add_all(
            [
                PartnerTrade(partner_id=p.id, trade_id=rows.trade.id),
                PartnerTrade(partner_id=p.id, trade_id=other_trade.id),
                PartnerTrade(partner_id=q.id, trade_id=rows.trade.id),
            ]
        )
        ids["area_p"] = add(PartnerArea(partner_id=p.id, province="Gauteng"))
        ids["area_q"] = add(PartnerArea(partner_id=q.id, province="Western Cape"))
        ids.update(
            a=a.id,
            b=b.id,
            p=p.id,
            q=q.id,
            trade=rows.trade.id,
            other_trade=other_trade.id,
            lead_a=lead_a.id,
            lead_b=lead_b.id,
            share_a=share_a.id,
            share_b=share_b.id,
            review_a=review_a.id,
            review_b=review_b.id,
        )
    from data import rollups

    with db.begin() as conn:
        rollups.rebuild(conn)
    return ids


def expected_rows(ids: dict[str, int]) -> dict[str, dict[str, list]]:
    """By hand: the rows (ids, in time order) each subject's query must return."""
    return {
        "homeowner": {
            "homeowner": [ids["a"]],
            "lead": [ids["lead_a"]],
            "lead_share": [ids["share_a"]],
            "lead_event": [ids["event_a"]],
            "interaction": [ids["call_p_staff_about_a"], ids["call_a_staff"], ids["call_a_p"]],
            "review": [ids["review_a"]],
            "aggregate_cell": [ids["lead_a"]],  # one row per lead, keyed by the lead's id
            "consent_event": [ids["consent_a_early"], ids["consent_a_late"]],
            "privacy_request": [ids["request_a"]],
            "privacy_request_note": [ids["note_a"]],
            "privacy_correction": [ids["correction_a"]],
            "legal_disclosure": [ids["disclosure_a"]],
        },
        "partner": {
            "partner": [ids["p"]],
            "partner_trade": sorted([(ids["p"], ids["trade"]), (ids["p"], ids["other_trade"])]),
            "partner_area": [ids["area_p"]],
            "lead_share": [ids["share_a"]],
            "lead_event": [ids["event_a"]],
            "interaction": [ids["call_p_staff_about_a"], ids["call_a_p"]],
            "review": [ids["review_a"]],
            "consent_event": [ids["consent_p"]],
            "privacy_request": [ids["request_p"]],
            "privacy_request_note": [ids["note_p"]],
            "privacy_correction": [ids["correction_p"]],
            "legal_disclosure": [ids["disclosure_p"]],
        },
    }


def _keys(conn, subject_type: str, table: str, subject_id: int) -> list:
    rows = conn.execute(subject_rows.subject_rows(subject_type, table, subject_id)).mappings().all()
    if table == "partner_trade":
        return [(r["partner_id"], r["trade_id"]) for r in rows]
    if table == "aggregate_cell":
        return [r["lead_id"] for r in rows]
    return [r["id"] for r in rows]


@pytest.mark.parametrize(("subject_type", "who"), [("homeowner", "a"), ("partner", "p")])
def test_every_registered_table_returns_only_the_subjects_rows(db, two_of_each, subject_type, who):
    ids = two_of_each
    expected = expected_rows(ids)[subject_type]
    registry = subjects.REGISTRIES[subject_type]
    declared = [e.table for e in registry.tables]
    assert sorted(declared) == sorted(expected)  # a newly registered table needs a case here
    with db.connect() as conn:
        got = {t: _keys(conn, subject_type, t, ids[who]) for t in declared}
    assert got == expected


def test_the_other_homeowner_gets_the_mirror_image(db, two_of_each):
    ids = two_of_each
    with db.connect() as conn:
        assert _keys(conn, "homeowner", "interaction", ids["b"]) == [ids["call_b_q"]]
        assert _keys(conn, "homeowner", "lead_share", ids["b"]) == [ids["share_b"]]
        assert _keys(conn, "homeowner", "consent_event", ids["b"]) == [ids["consent_b"]]
        assert _keys(conn, "partner", "interaction", ids["q"]) == [
            ids["call_b_q"],
            ids["call_q_staff"],
        ]
        assert _keys(conn, "homeowner", "lead", 10_000) == []


def test_rollup_rows_are_found_by_partner(db, two_of_each):
    ids = two_of_each
    entries = [e for e in subjects.PARTNER.all_tables() if e.table.startswith("rollup_")]
    assert entries
    metadata = load_all_models()
    from data import rollups
    from data.timeutil import as_date

    with db.begin() as conn:  # the standard periods' rows, ending on the last day with data
        last = conn.execute(select(func.max(metadata.tables["rollup_share_partner"].c.day)))
        rollups.recompute_presets(conn, as_date(last.scalar()), (0, ""))
    with db.connect() as conn:
        for entry in entries:
            table = metadata.tables[entry.table]
            everyone = conn.execute(select(table.c.partner_id)).scalars().all()
            assert set(everyone) == {ids["p"], ids["q"]}, entry.table  # both partners have data
            mine = conn.execute(subject_rows.subject_rows("partner", entry.table, ids["p"]))
            assert {r.partner_id for r in mine} == {ids["p"]}, entry.table
