"""Erasure of one subject (``data.erasure``): preview, blockers, the transaction, proof, safety.

Expected values are written by hand from the world the test builds (``make_crowded_world``:
a homeowner "Thandi Nkosi" with two leads, two shares, two reviews, a call and three consent
events; another homeowner and partner with a row in every table), never read back from the
code under test.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from data import rollups
from data.db import session_scope
from data.do_not_contact import suppression_digest
from data.erasure.execute import (
    ErasureRefused,
    ResidueFound,
    carry_out,
    erase_request,
    erase_subject,
    preview_request,
    receipt_of,
)
from data.erasure.scan import Term, phone_spellings, scan, subject_terms
from data.models import (
    AuditLog,
    ConsentEvent,
    Homeowner,
    Interaction,
    Lead,
    LeadShare,
    LegalDisclosure,
    Partner,
    PrivacyRequest,
    Review,
    Suppression,
)
from data.privacy.workflow import StaleRequest
from tests.privacy_support import (
    KEY,
    NOW,
    make_crowded_world,
    make_staff,
    others_rows,
    verified_request,
)


@pytest.fixture
def setup(db):
    with session_scope(db) as s:
        return make_staff(s), make_crowded_world(s)


def erasure_request(db, staff, world, subject_type="homeowner", subject_id=None, **fields):
    subject_id = subject_id if subject_id is not None else world.subject.id
    fields = {"type": "erasure", "subject_type": subject_type, "subject_id": subject_id, **fields}
    return verified_request(db, staff.officer, **fields)


def erase(db, staff, rid, version):
    with session_scope(db) as s:
        return erase_request(s, rid, version, staff.officer, now=NOW, key=KEY)


def rollup_state(db) -> dict[str, list[tuple]]:
    with db.connect() as conn:
        return {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)))
            for t in rollups.ALL_TABLES
            if t.name != "rollup_state"
        }


def rebuilt_rollups(db) -> dict[str, list[tuple]]:
    with db.connect() as conn:
        trans = conn.begin()
        rollups.rebuild(conn)
        state = {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)))
            for t in rollups.ALL_TABLES
            if t.name not in ("rollup_state", "rollup_share_partner_preset")
        }
        trans.rollback()
    return state


LEAD_COUNTS = """
SELECT trade_id, province, {month} AS month, COUNT(*) FROM lead
GROUP BY trade_id, province, {month} ORDER BY 1, 2, 3
"""
RATINGS = """
SELECT partner_id, COUNT(*), SUM(rating) FROM review
WHERE author_side = 'homeowner_about_partner' AND moderation_status = 'published'
GROUP BY partner_id ORDER BY partner_id
"""


def statistics(db) -> tuple[list, list]:
    month = (
        "strftime('%Y-%m', created_at)"
        if db.dialect.name == "sqlite"
        else ("to_char(created_at, 'YYYY-MM')")
    )
    with db.connect() as conn:
        leads = [tuple(r) for r in conn.execute(text(LEAD_COUNTS.format(month=month)))]
        ratings = [tuple(r) for r in conn.execute(text(RATINGS))]
    return leads, ratings


# --- preview ----------------------------------------------------------------------------------


def test_preview_lists_every_table_with_its_rows_and_columns(db, setup):
    staff, world = setup
    rid, _ = erasure_request(db, staff, world)
    with session_scope(db) as s:
        preview = preview_request(s, rid)
    by_table = {p.table: (p.action, p.rows) for p in preview.tables}
    assert by_table == {
        "homeowner": ("de-identify", 1),
        "lead": ("de-identify", 2),
        "lead_share": ("keep", 2),
        "lead_event": ("keep", 0),
        "interaction": ("de-identify", 1),
        "review": ("de-identify", 2),
        "aggregate_cell": ("delete", 2),  # copies of birth year etc.; lead keeps the stats
        "consent_event": ("delete", 3),
        "privacy_request": ("de-identify", 1),
        "privacy_request_note": ("de-identify", 0),
        "privacy_correction": ("de-identify", 0),
        "legal_disclosure": ("de-identify", 0),
    }
    plans = {p.table: p for p in preview.tables}
    assert set(plans["homeowner"].cleared) >= {"first_name", "last_name", "email", "street"}
    assert plans["review"].moved == ("homeowner_id",)
    assert set(plans["lead"].cleared) == {"suburb", "description", "description_redacted"}
    assert preview.blockers == ()
    assert preview.identifiers == 2  # thandi@example.co.za and +27820000101 (given = registered)


def test_preview_refuses_requests_that_cannot_be_erased(db, setup):
    staff, world = setup
    access, _ = erasure_request(db, staff, world, type="access")
    with session_scope(db) as s, pytest.raises(ErasureRefused, match="Only erasure"):
        preview_request(s, access)


@pytest.mark.parametrize("blocker", ["legal_hold", "open_dispute"])
def test_blockers_stop_the_erasure_and_change_nothing(db, setup, blocker):
    staff, world = setup
    with session_scope(db) as s:
        if blocker == "legal_hold":
            s.get(Homeowner, world.subject.id).legal_hold = "SAPS case 12/2026"
        else:
            review = s.get(Review, world.ids["review_by_subject"])
            review.dispute = True
    rid, version = erasure_request(db, staff, world)
    with session_scope(db) as s:
        assert [b.code for b in preview_request(s, rid).blockers] == [blocker]
    with pytest.raises(ErasureRefused):
        erase(db, staff, rid, version)
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email == "thandi@example.co.za"
        assert s.get(PrivacyRequest, rid).status == "in_progress"
        assert s.get(PrivacyRequest, rid).version == version


# --- the erasure ------------------------------------------------------------------------------


def test_erasure_clears_the_person_and_keeps_the_statistics(db, setup):
    staff, world = setup
    others_before = _others(db, world)
    stats_before = statistics(db)
    rollups_before = rollup_state(db)
    rid, version = erasure_request(db, staff, world)
    with session_scope(db) as s:
        terms = subject_terms(s, "homeowner", world.subject.id)
    erase(db, staff, rid, version)
    with session_scope(db) as s:
        person = s.get(Homeowner, world.subject.id)
        assert (person.first_name, person.last_name, person.email, person.phone) == (None,) * 4
        assert person.erased_at == NOW and person.whatsapp_opt_in is False
        lead = s.get(Lead, world.ids["lead1"])
        assert (lead.description, lead.description_redacted, lead.suburb) == (None, None, None)
        assert (lead.province, lead.city, lead.channel) == ("Gauteng", "Johannesburg", "organic")
        call = s.get(Interaction, world.ids["interaction"])
        assert (call.recording_ref, call.recorded) == (None, False)
        reviews = [s.get(Review, world.ids[k]) for k in ("review_by_subject", "review_of_subject")]
        placeholder = s.scalar(
            select(Homeowner.id).where(Homeowner.source_site == "erased-placeholder")
        )
        assert {r.homeowner_id for r in reviews} == {placeholder}
        assert [(r.rating, r.comment) for r in reviews] == [(4, None), (5, None)]
        assert (
            s.scalar(
                select(func.count()).where(
                    ConsentEvent.subject_type == "homeowner",
                    ConsentEvent.subject_id == world.subject.id,
                )
            )
            == 0
        )
        digests = set(s.scalars(select(Suppression.digest).where(Suppression.reason == "erasure")))
        assert digests == {
            suppression_digest("email", "thandi@example.co.za", KEY),
            suppression_digest("phone", "082 000 0101", KEY),
        }
        req = s.get(PrivacyRequest, rid)
        assert (req.status, req.type, req.closed_at) == ("completed", "erasure", NOW)
        assert (req.given_name, req.given_email, req.given_phone, req.message) == (None,) * 4
        assert req.verification_evidence is None and req.received_at == NOW - timedelta(days=3)
        # proof: the scan of every text column finds nothing of the person
        assert scan(s, "homeowner", world.subject.id, terms).findings == ()
        receipt = receipt_of(s, rid)
    assert receipt is not None and receipt["scan"]["clean"] is True
    assert receipt["tables"]["consent_event"] == {"action": "delete", "rows": 3}
    assert receipt["tables"]["lead"]["rows"] == 2
    assert receipt["suppressions_added"] == 2
    assert "thandi" not in str(receipt).lower()
    assert _others(db, world) == others_before
    assert statistics(db) == stats_before
    assert rollup_state(db) == rollups_before


def test_rollups_still_equal_a_rebuild_after_erasing_a_partner(db, setup):
    staff, world = setup
    partner_id = world.rows.partners[0].id
    stats_before = statistics(db)
    with session_scope(db) as s:
        s.get(Partner, partner_id).contact_name = "Sipho Mokoena"
    rid, version = erasure_request(db, staff, world, "partner", partner_id)
    with session_scope(db) as s:
        terms = subject_terms(s, "partner", partner_id)
    erase(db, staff, rid, version)
    with session_scope(db) as s:
        partner = s.get(Partner, partner_id)
        assert (partner.business_name, partner.contact_name, partner.email) == (
            "[erased]",
            None,
            None,
        )
        assert scan(s, "partner", partner_id, terms).clean
    assert statistics(db) == stats_before
    state = rollup_state(db)
    assert {k: v for k, v in state.items() if k != "rollup_share_partner_preset"} == (
        rebuilt_rollups(db)
    )


def test_the_scan_finds_residue_in_any_text_column(db, setup):
    _staff, world = setup
    with session_scope(db) as s:
        s.add(
            LegalDisclosure(
                reference="X/1",
                authority="Court",
                legal_basis="order",
                data_released="call 082-000-0101 or mail THANDI@example.co.za",
                at=NOW,
            )
        )
        terms = subject_terms(s, "homeowner", world.subject.id)
        found = scan(s, "homeowner", world.subject.id, terms)
    where = {(f.table, f.column, f.kind) for f in found.findings}
    assert ("legal_disclosure", "data_released", "phone") in where
    assert ("legal_disclosure", "data_released", "email") in where
    assert ("homeowner", "first_name", "name") not in where  # first and last are two columns
    assert ("homeowner", "email", "email") in where


def test_residue_rolls_the_erasure_back_and_is_audited(db, setup):
    staff, world = setup
    with session_scope(db) as s:  # an unregistered mention: nobody's row, so residue
        s.add(
            LegalDisclosure(
                reference="X/2",
                authority="Court",
                legal_basis="o",
                data_released="Thandi Nkosi",
                at=NOW,
            )
        )
    rid, version = erasure_request(db, staff, world)
    with pytest.raises(ResidueFound, match=r"legal_disclosure\.data_released \(name\)"):
        carry_out(rid, version, staff.officer, engine=db, now=NOW, key=KEY)
    with session_scope(db) as s:
        assert s.get(PrivacyRequest, rid).status == "in_progress"
        assert s.get(PrivacyRequest, rid).version == version
        assert s.get(Homeowner, world.subject.id).email == "thandi@example.co.za"
        details = s.scalar(
            select(AuditLog.details).where(AuditLog.action == "privacy_request.erase.residue")
        )
    assert details["scan"]["findings"] == [
        {"table": "legal_disclosure", "column": "data_released", "kind": "name", "rows": 1}
    ]


def test_a_namesake_is_not_residue(db, setup):
    staff, world = setup
    with session_scope(db) as s:
        s.get(Homeowner, world.other.id).first_name = "Thandi"
        s.get(Homeowner, world.other.id).last_name = "Nkosi"
    rid, version = erasure_request(db, staff, world)
    assert erase(db, staff, rid, version).scan.clean
    with session_scope(db) as s:
        assert s.get(Homeowner, world.other.id).last_name == "Nkosi"


def test_phone_spellings():
    assert phone_spellings("+27820000101")[:3] == ["820000101", "82 000 0101", "082 000 0101"]
    assert "082-000-0101" in phone_spellings("+27820000101")
    assert Term("phone", "820000101") in (Term("phone", "820000101"),)


# --- safety -----------------------------------------------------------------------------------


def test_running_it_twice_is_harmless(db, setup):
    staff, world = setup
    rid, version = erasure_request(db, staff, world)
    erase(db, staff, rid, version)
    before = _everything(db)
    with session_scope(db) as s:
        fresh = s.get(PrivacyRequest, rid).version
    for seen in (version, fresh):  # the old page and a reloaded one
        with pytest.raises(ErasureRefused, match="already carried out"):
            erase(db, staff, rid, seen)
    with session_scope(db) as s:  # the subject-level erasure (retention's) again: no change
        again = erase_subject(s, "homeowner", world.subject.id, now=NOW, key=KEY)
    assert again.suppressions_added == 0 and again.scan.clean
    assert _everything(db) == before


def test_two_officers_at_once_one_wins_the_other_is_told(db, setup):
    staff, world = setup
    rid, version = erasure_request(db, staff, world)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(actor):
        barrier.wait()
        try:
            with session_scope(db) as s:
                erase_request(s, rid, version, actor, now=NOW, key=KEY)
            outcomes.append("erased")
        except StaleRequest:
            outcomes.append("stale")
        except ErasureRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(a,)) for a in (staff.officer, staff.officer2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) in (["erased", "stale"], ["erased", "refused"])
    with session_scope(db) as s:
        entries = s.scalar(
            select(func.count()).where(
                AuditLog.action == "privacy_request.erase", AuditLog.object_id == str(rid)
            )
        )
        assert entries == 1


def _others(db, world) -> dict:
    with db.connect() as conn:
        rows = others_rows(conn, world.others)
    # the other partner's rollup rows are compared by the statistics tests
    return {k: v for k, v in rows.items() if not k[1].startswith("rollup_")}


def _everything(db) -> dict[str, list]:
    from data.schema import load_all_models

    with db.connect() as conn:
        return {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)))
            for t in load_all_models().sorted_tables
            if t.name not in ("audit_log", "audit_chain_head")
        }


def test_partners_to_tell_are_listed_in_the_preview_and_the_receipt(db, setup):
    """POPIA s24(3): the partners that received the person's lead (here partners 0 and 1, one
    share each of lead 1; partner 2 only had the other homeowner's lead) are listed; the receipt
    keeps their ids only, and a partner erased later shows as "–" and leaves no residue."""
    staff, world = setup
    with session_scope(db) as s:
        told = [s.get(LeadShare, world.ids[k]).partner_id for k in ("share1", "share2")]
        other = s.get(LeadShare, world.ids["other_share"]).partner_id
    rid, version = erasure_request(db, staff, world)
    with session_scope(db) as s:
        preview = preview_request(s, rid)
    assert [(c.partner_id, c.business_name, c.shares) for c in preview.recipients] == [
        (told[0], "Partner 0", 1),
        (told[1], "Partner 1", 1),
    ]
    assert other not in {c.partner_id for c in preview.recipients}
    erase(db, staff, rid, version)
    with session_scope(db) as s:
        erased = AuditLog.action == "privacy_request.erase"
        details = s.scalar(select(AuditLog.details).where(erased))
        assert [e["partner_id"] for e in details["partners_to_tell"]] == told
        assert "Partner 0" not in str(details)  # ids, counts and days only
    # partner 0 asks to be erased too: the old receipt must not hold its name as residue
    pid, pversion = erasure_request(db, staff, world, subject_type="partner", subject_id=told[0])
    erase(db, staff, pid, pversion)
    with session_scope(db) as s:
        shown = receipt_of(s, rid)["partners_to_tell"]
        still = s.get(Partner, told[1])
        assert (still.business_name, still.erased_at) == ("Partner 1", None)
        contact = (still.email or "–", still.phone or "–")
    assert [(c.partner_id, c.business_name, c.email, c.phone) for c in shown] == [
        (told[0], "–", "–", "–"),
        (told[1], "Partner 1", *contact),
    ]
