"""A second person everywhere: another homeowner and another partner hold a row in every table
of their registry (``data.subjects``), with marker values, and nothing of theirs may appear in
the subject's access package or change when the subject is corrected or opts out.

Why: the first privacy world gave the other homeowner leads, shares, reviews and consent but no
interactions, privacy requests, corrections or disclosures, so an access package whose
interaction filter was dropped (every homeowner's calls in one package) passed every test. Here
the coverage test fails when a table is registered without a second-person row, the package
tests compare every section with rows written down by hand and search every value for the other
people's markers and ids, and the action tests compare the other people's rows, every column of
every registered table, before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.do_not_contact import suppression_digest
from data.models import CONSENT_PURPOSES, Homeowner, Partner, Suppression
from data.privacy import access_package as ap
from data.privacy.correction import correct_subject
from data.privacy.optouts import current_consent, record_opt_outs
from data.schema import load_all_models
from data.subject_rows import subject_rows
from data.subjects import REGISTRIES
from tests.privacy_support import (
    EPOCH_PLUS_HOUR,
    KEY,
    NOW,
    OTHER_MARKER,
    PARTNER_ZERO,
    World,
    make_crowded_world,
    make_staff,
    others_rows,
    traces_of_others,
    verified_request,
)

OTHER_ROOFER = f"{OTHER_MARKER} Roofing"


@pytest.fixture
def crowd(db):
    with session_scope(db) as s:
        return make_staff(s), make_crowded_world(s)


def snapshot(db, world: World) -> dict:
    assert world.others is not None
    with db.connect() as conn:
        return others_rows(conn, world.others)


def request_for(
    db, staff, world: World, subject_type: str, subject_id: int, type_: str
) -> tuple[int, int]:
    """A verified request of ``type_`` about the subject, with what its requester typed."""
    assert world.others is not None
    typed: dict[tuple[str, int], dict[str, str | None]] = {
        ("homeowner", world.subject.id): {},  # add_request's defaults are Thandi's words
        ("partner", world.partner.id): {
            "given_name": "Partner Zero",
            "given_email": "owner@partner0.co.za",
            "given_phone": None,
        },
        ("homeowner", world.other.id): {
            "given_name": "Pieter Other",
            "given_email": "pieter@example.co.za",
            "given_phone": "083 999 9999",
        },
        ("partner", world.others.partner_id): {
            "given_name": f"Olga {OTHER_MARKER}",
            "given_email": "olga@other-person-marker.co.za",
            "given_phone": None,
        },
    }
    return verified_request(
        db,
        staff.officer,
        type=type_,
        subject_type=subject_type,
        subject_id=subject_id,
        **typed[(subject_type, subject_id)],
    )


# --- the world: a second person in every registered table ---------------------------------------


@pytest.mark.parametrize("subject_type", ["homeowner", "partner"])
def test_the_other_person_has_a_row_in_every_registered_table(db, crowd, subject_type):
    _, world = crowd
    others = world.others
    registry = REGISTRIES[subject_type]
    load_all_models()
    entries = registry.all_tables()
    declared = {e.table for e in registry.tables}
    recorded = {table for (kind, table) in others.rows if kind == subject_type}
    # A table registered later needs a second-person row in tests/privacy_support.py.
    assert declared == recorded
    if subject_type == "partner":
        assert any(e.table.startswith("rollup_") for e in entries)  # derived tables included
    with db.connect() as conn:
        for entry in entries:
            query = subject_rows(subject_type, entry.table, others.id_of(subject_type))
            found = conn.execute(query).mappings().all()
            assert found, f"the other {subject_type} has no row in {entry.table}"
            if entry.table == "partner_trade":
                keys = {(r["partner_id"], r["trade_id"]) for r in found}
            elif entry.table == "aggregate_cell":
                keys = {r["lead_id"] for r in found}  # one row per lead, keyed by it
            elif entry.table.startswith("rollup_"):
                assert {r["partner_id"] for r in found} == {others.partner_id}, entry.table
                continue
            else:
                keys = {r["id"] for r in found}
            assert keys == others.ids(subject_type, entry.table), entry.table


# --- the access package, section by section -------------------------------------------------------

#: How a section's row is named in the expectations below (a new section fails with KeyError
#: until it is given a key here and an expectation in every package test).
SECTION_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "profile": lambda r: r["id"],
    "trades_and_areas": lambda r: (r["trade"], r["province"], r["city"]),
    "leads": lambda r: r["lead_id"],
    "lead_history": lambda r: (r["lead_id"], r["partner"], r["to_status"]),
    "shares": lambda r: (r["lead_id"], r["partner"]),
    "leads_received": lambda r: r["lead_id"],
    "interactions": lambda r: r["recording_ref"],
    "reviews": lambda r: r["comment"],
    "consent_history": lambda r: (r["purpose"], r["granted"], r["evidence"]),
    "privacy_requests": lambda r: r["id"],
    "corrections": lambda r: (r["field"], r["before_value"], r["after_value"]),
    "disclosures": lambda r: r["reference"],
}


def by_section(package: dict[str, Any]) -> dict[str, list]:
    return {
        name: [SECTION_KEYS[name](row) for row in rows]
        for name, rows in package["sections"].items()
    }


def build(
    db, staff, world: World, subject_type: str, subject_id: int
) -> tuple[int, dict[str, Any], str]:
    rid, _ = request_for(db, staff, world, subject_type, subject_id, "access")
    with session_scope(db) as s:
        package = ap.build_package(s, rid, staff.officer)
        report = ap.download_package(s, rid, staff.officer, "html").content
    return rid, package, report


def test_the_homeowner_package_holds_nothing_of_the_other_people(db, crowd):
    staff, world = crowd
    ids = world.ids
    assert world.partner.id == world.subject.id  # so the partner's consent tests the type too
    rid, package, report = build(db, staff, world, "homeowner", world.subject.id)
    assert by_section(package) == {
        "profile": [world.subject.id],
        "leads": [ids["lead1"], ids["lead2"]],
        "lead_history": [],
        "shares": [(ids["lead1"], "Partner 0"), (ids["lead1"], "Partner 1")],
        "interactions": ["rec-0001"],
        "reviews": ["Great work by the plumber", "Friendly client"],
        "consent_history": [
            ("marketing_email", True, None),
            ("marketing_phone", True, None),
            ("service_contact", True, None),
        ],
        "privacy_requests": [rid],
        "corrections": [],
        "disclosures": [],
    }
    assert traces_of_others(package, world.others) == []
    assert PARTNER_ZERO not in report and OTHER_ROOFER not in report
    assert [m for m in world.others.markers if m in report.lower()] == []


def test_the_partner_package_holds_nothing_of_the_other_people(db, crowd):
    staff, world = crowd
    ids = world.ids
    rid, package, report = build(db, staff, world, "partner", world.partner.id)
    assert by_section(package) == {
        "profile": [world.partner.id],
        "trades_and_areas": [],
        "leads_received": [ids["lead1"]],
        "interactions": ["rec-0001"],
        # The other homeowner reviewed this partner (make_world): the one row of theirs that is
        # the partner's too. Everything else of theirs, and all of the other partner, is absent.
        # It reaches the partner redacted (issue 12): the reviewer's surname, "Other", is gone.
        "reviews": [
            "Great work by the plumber",
            "Friendly client",
            "[name removed] PERSON'S REVIEW",
        ],
        "consent_history": [("marketing_email", True, PARTNER_ZERO)],
        "privacy_requests": [rid],
        "corrections": [],
        "disclosures": [],
    }
    reviews = package["sections"].pop("reviews")
    assert traces_of_others(package, world.others) == []
    assert traces_of_others({"reviews": reviews[:2]}, world.others) == []
    assert OTHER_ROOFER not in report and "Thandi" not in report


def test_the_other_homeowners_own_package_holds_their_rows_and_nothing_of_the_subject(db, crowd):
    """The mirror image: the other people's rows are reachable (so searching for them above is
    not vacuous) and the subject's are absent from the other homeowner's package."""
    staff, world = crowd
    ids = world.ids
    rid, package, report = build(db, staff, world, "homeowner", world.other.id)
    form = f"{OTHER_MARKER} form"
    assert by_section(package) == {
        "profile": [world.other.id],
        "leads": [ids["other_lead"]],
        "lead_history": [(ids["other_lead"], OTHER_ROOFER, "shared")],
        "shares": [(ids["other_lead"], "Partner 2"), (ids["other_lead"], OTHER_ROOFER)],
        "interactions": [f"rec-{OTHER_MARKER}-{n}" for n in (1, 2, 3)],
        "reviews": [
            "OTHER PERSON'S REVIEW",
            f"{OTHER_MARKER} review of roofer",
            f"{OTHER_MARKER} review of the client",
        ],
        "consent_history": [
            ("marketing_email", True, "OTHER PERSON'S CONSENT"),
            ("marketing_phone", True, form),
            ("marketing_whatsapp", True, form),
            ("service_contact", True, form),
            ("ad_cookies", True, form),
        ],
        "privacy_requests": [ids["other_homeowner_request"], rid],
        "corrections": [("last_name", f"{OTHER_MARKER} before", f"{OTHER_MARKER} after")],
        "disclosures": [f"{OTHER_MARKER}/homeowner"],
    }
    assert package["sections"]["profile"][0]["email"] == "pieter@example.co.za"
    for text in ("thandi", "rec-0001", "leaking geyser", "great work", PARTNER_ZERO.lower()):
        assert text not in report.lower()


def test_the_other_partners_own_package_holds_their_rows_and_nothing_of_the_subject(db, crowd):
    staff, world = crowd
    ids, p = world.ids, world.others.partner_id
    rid, package, report = build(db, staff, world, "partner", p)
    form = f"{OTHER_MARKER} form"
    assert by_section(package) == {
        "profile": [p],
        "trades_and_areas": [("Plumbing", None, None), (None, "Western Cape", "Cape Town")],
        "leads_received": [ids["other_lead"]],
        "interactions": [f"rec-{OTHER_MARKER}-{n}" for n in (1, 2, 4)],
        # the homeowner's words reach the partner redacted: their surname ("Other") is removed
        "reviews": [
            "[name removed]-PERSON-MARKER review of roofer",
            "[name removed]-PERSON-MARKER review of the client",
        ],
        "consent_history": [
            ("marketing_email", True, form),
            ("marketing_phone", True, form),
            ("service_contact", True, form),
            ("analytics_tracking", True, form),
        ],
        "privacy_requests": [ids["other_partner_request"], rid],
        "corrections": [("contact_name", f"{OTHER_MARKER} before", f"{OTHER_MARKER} after")],
        "disclosures": [f"{OTHER_MARKER}/partner"],
    }
    assert package["sections"]["leads_received"][0]["shared_at"] == EPOCH_PLUS_HOUR.isoformat()
    for text in ("thandi", "pieter", "rec-0001", "leaking geyser", "partner 0"):
        assert text not in report.lower()


# --- corrections and opt-outs of the subject leave the other people as they were ----------------


def test_correcting_the_homeowner_changes_nothing_of_the_other_people(db, crowd):
    staff, world = crowd
    before = snapshot(db, world)
    rid, version = request_for(db, staff, world, "homeowner", world.subject.id, "correction")
    changes = {
        "first_name": "Thandeka",
        "last_name": "Other",  # the other homeowner's surname: still only the subject's row
        "email": "thandi.new@example.co.za",
        "phone": "083 111 2222",
        "street": "1 New Road",
        "province": "Western Cape",
        "birth_year": "1985",
    }
    with session_scope(db) as s:
        result = correct_subject(s, rid, version, staff.officer, changes=changes, now=NOW)
    assert {p.business_name for p in result.partners_to_tell} == {"Partner 0", "Partner 1"}
    assert snapshot(db, world) == before
    with session_scope(db) as s:
        other = s.get(Homeowner, world.other.id)
        assert (other.first_name, other.email, other.phone, other.province) == (
            "Pieter",
            "pieter@example.co.za",
            "+27839999999",
            "Gauteng",
        )
        assert s.get(Homeowner, world.subject.id).first_name == "Thandeka"


def test_correcting_the_partner_changes_nothing_of_the_other_people(db, crowd):
    staff, world = crowd
    before = snapshot(db, world)
    rid, version = request_for(db, staff, world, "partner", world.partner.id, "correction")
    changes = {"business_name": "Partner Zero (Pty) Ltd", "email": "new@partner0.co.za"}
    with session_scope(db) as s:
        assert correct_subject(s, rid, version, staff.officer, changes=changes, now=NOW).fields
    assert snapshot(db, world) == before
    with session_scope(db) as s:
        other = s.get(Partner, world.others.partner_id)
        assert (other.business_name, other.email) == (
            OTHER_ROOFER,
            "olga@other-person-marker.co.za",
        )
        assert s.get(Partner, world.partner.id).business_name == "Partner Zero (Pty) Ltd"
        # The subject homeowner shares the partner's id: a partner correction must not reach it.
        assert s.get(Homeowner, world.subject.id).email == "thandi@example.co.za"


def others_suppressed(db, world: World) -> list[tuple[str, str]]:
    with session_scope(db) as s:
        digests = set(s.scalars(select(Suppression.digest)))
    return [
        (kind, value)
        for kind, value in world.others.identifiers
        if suppression_digest(kind, value, KEY) in digests
    ]


@pytest.mark.parametrize(
    ("type_", "purposes", "withdrawn"),
    [
        ("objection", ["marketing_email", "marketing_phone", "marketing_whatsapp"], 3),
        ("service_opt_out", list(CONSENT_PURPOSES), 8),
        ("analytics_opt_out", ["analytics_tracking", "ad_cookies"], 2),
    ],
)
def test_the_homeowners_opt_outs_change_nothing_of_the_other_people(
    db, crowd, type_, purposes, withdrawn
):
    staff, world = crowd
    before = snapshot(db, world)
    rid, version = request_for(db, staff, world, "homeowner", world.subject.id, type_)
    with session_scope(db) as s:
        result = record_opt_outs(
            s, rid, version, staff.officer, purposes=purposes, now=NOW, key=KEY
        )
    assert len(result.withdrawn) == withdrawn
    assert snapshot(db, world) == before
    assert others_suppressed(db, world) == []


def test_the_partners_objection_changes_nothing_of_the_other_people(db, crowd):
    staff, world = crowd
    before = snapshot(db, world)
    rid, version = request_for(db, staff, world, "partner", world.partner.id, "objection")
    purposes = ["marketing_email", "marketing_phone", "marketing_whatsapp"]
    with session_scope(db) as s:
        result = record_opt_outs(
            s, rid, version, staff.officer, purposes=purposes, now=NOW, key=KEY
        )
    # Its registered email and phone, and the different address its requester typed.
    assert result.withdrawn == tuple(purposes) and result.suppressions_added == 3
    assert snapshot(db, world) == before
    assert others_suppressed(db, world) == []
    with session_scope(db) as s:  # the subject homeowner (same id) keeps its consent too
        assert current_consent(s, "homeowner", world.subject.id)["marketing_email"][0] is True


def test_the_snapshot_sees_one_changed_value_of_the_other_people(db, crowd):
    """The comparison above is not vacuous: one column of one row of the other partner shows."""
    _, world = crowd
    before = snapshot(db, world)
    with session_scope(db) as s:
        s.get(Partner, world.others.partner_id).website = None
    changed = snapshot(db, world)
    assert [k for k in before if before[k] != changed[k]] == [("partner", "partner")]
