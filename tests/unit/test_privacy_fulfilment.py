"""Fulfilment steps: the access package (complete, nobody else's, escaped, gated, audited),
corrections with before/after and partners to tell, and objections/opt-outs.

The world has a second person everywhere (``add_other_people``): another homeowner and another
partner with a row in every registered table; tests/unit/test_privacy_second_person.py checks
their absence section by section, and the tests here check it too where they act."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.models import (
    AuditLog,
    ConsentEvent,
    Homeowner,
    LeadShare,
    PrivacyRequest,
    Suppression,
)
from data.privacy import access_package as ap
from data.privacy import workflow as wf
from data.privacy.correction import correct_subject, partners_to_tell
from data.privacy.models import PrivacyCorrection
from data.privacy.optouts import current_consent, record_opt_outs
from data.privacy.validation import ValidationError
from tests.privacy_support import (
    KEY,
    NOW,
    OTHER_MARKER,
    add_request,
    make_crowded_world,
    make_staff,
    others_rows,
    traces_of_others,
    verified_request,
)


@pytest.fixture
def setup(db):
    with session_scope(db) as s:
        return make_staff(s), make_crowded_world(s)


def others_now(db, world) -> dict:
    """The other people's rows in every registered table (compare before and after)."""
    with db.connect() as conn:
        return others_rows(conn, world.others)


def subject_request(db, staff, world, type_="access", verified=True, **fields):
    fields = {"type": type_, "subject_type": "homeowner", "subject_id": world.subject.id, **fields}
    if verified:
        return verified_request(db, staff.officer, **fields)
    with session_scope(db) as s:
        return add_request(s, **fields).id, 1


# --- access package ---------------------------------------------------------------------------


def test_the_package_holds_everything_about_the_subject_and_nobody_else(db, setup):
    staff, world = setup
    rid, _ = subject_request(db, staff, world)
    with session_scope(db) as s:
        package = ap.build_package(s, rid, staff.officer)
    sections = package["sections"]
    assert sections["profile"][0]["email"] == "thandi@example.co.za"
    assert len(sections["leads"]) == 2
    assert {s_["partner"] for s_ in sections["shares"]} == {"Partner 0", "Partner 1"}
    assert {r["comment"] for r in sections["reviews"]} == {
        "Great work by the plumber",
        "Friendly client",
    }
    assert sections["interactions"][0]["recording_ref"] == "rec-0001"
    assert [r["recording_ref"] for r in sections["interactions"]] == ["rec-0001"]
    assert len(sections["consent_history"]) == 3
    assert [r["id"] for r in sections["privacy_requests"]] == [rid]
    assert sections["corrections"] == [] and sections["disclosures"] == []
    dump = json.dumps(package)
    assert "OTHER PERSON" not in dump and "Partner 2" not in dump and "pieter" not in dump
    assert "legal_hold" not in dump and "payment_token" not in dump
    assert traces_of_others(package, world.others) == []


def test_the_html_report_renders_script_inert(db, setup):
    staff, world = setup
    rid, _ = subject_request(db, staff, world)
    with session_scope(db) as s:
        report = ap.download_package(s, rid, staff.officer, "html").content
    assert "<script>alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "default-src 'none'" in report
    assert report.count("<script") == 0


def test_json_download_is_audited_with_counts_only(db, setup):
    staff, world = setup
    rid, _ = subject_request(db, staff, world)
    with session_scope(db) as s:
        file = ap.download_package(s, rid, staff.officer, "json")
    assert file.filename.startswith(f"access-package-request-{rid}-") and file.filename.endswith(
        ".json"
    )
    assert json.loads(file.content)["package"]["request_id"] == rid
    with session_scope(db) as s:
        entry = s.scalar(
            select(AuditLog).where(AuditLog.action == "privacy_request.access_package.download")
        )
        assert entry.actor == "olivia" and entry.object_id == str(rid)
        assert entry.details["format"] == "json" and entry.details["sections"]["leads"] == 2
        assert "thandi" not in json.dumps(entry.details).lower()
        assert wf.package_downloads(s, rid) == 1


@pytest.mark.parametrize(
    "state",
    [
        {"status": "received"},
        {"status": "verifying", "verification_outcome": "failed"},
        {"status": "in_progress", "verification_outcome": "pending"},  # forged status
        {"status": "denied", "verification_outcome": "failed"},
    ],
)
def test_no_package_without_verified_identity(db, setup, state):
    staff, world = setup
    rid, _ = subject_request(db, staff, world, verified=False, **state)
    for call in (
        lambda s: ap.build_package(s, rid, staff.officer),
        lambda s: ap.preview_package(s, rid, staff.officer),
        lambda s: ap.download_package(s, rid, staff.officer, "json"),
        lambda s: ap.download_package(s, rid, staff.officer, "html"),
    ):
        with pytest.raises(ap.PackageRefused), session_scope(db) as s:
            call(s)
    with session_scope(db) as s:
        package_entries = select(func.count()).where(AuditLog.action.like("%access_package%"))
        assert s.scalar(package_entries.select_from(AuditLog)) == 0


def test_no_package_for_other_types_other_roles_or_unknown_formats(db, setup):
    staff, world = setup
    rid, _ = subject_request(db, staff, world, type_="objection")
    with pytest.raises(ap.PackageRefused, match="does not apply"), session_scope(db) as s:
        ap.build_package(s, rid, staff.officer)
    access, _ = subject_request(db, staff, world)
    with pytest.raises(wf.NotAllowed), session_scope(db) as s:
        ap.download_package(s, access, staff.manager, "json")
    with pytest.raises(ap.PackageRefused), session_scope(db) as s:
        ap.download_package(s, access, staff.officer, "exe")


def test_a_partner_package_names_no_homeowner(db, setup):
    staff, world = setup
    rid, _ = verified_request(
        db,
        staff.officer,
        type="access",
        subject_type="partner",
        subject_id=world.partner.id,
        given_name="Partner Zero",
        given_email="owner@partner0.co.za",
        given_phone=None,
    )
    with session_scope(db) as s:
        package = ap.build_package(s, rid, staff.officer)
    assert package["sections"]["profile"][0]["business_name"] == "Partner 0"
    assert len(package["sections"]["leads_received"]) == 1
    dump = json.dumps(package)
    assert "Thandi" not in dump and "thandi@" not in dump and "Leaking geyser" not in dump
    assert OTHER_MARKER not in dump and "pieter" not in dump and "+27840000999" not in dump


def test_completion_after_download(db, setup):
    staff, world = setup
    rid, version = subject_request(db, staff, world)
    with session_scope(db) as s:
        ap.download_package(s, rid, staff.officer, "html")
    with session_scope(db) as s:
        wf.complete(s, rid, version, staff.officer, resolution_note="sent", response_text="Sent.")
    with session_scope(db) as s:
        assert s.get(PrivacyRequest, rid).status == "completed"
        ap.download_package(s, rid, staff.officer, "json")  # still downloadable, audited


# --- correction -------------------------------------------------------------------------------


def test_correction_records_before_and_after_and_lists_partners(db, setup):
    staff, world = setup
    with session_scope(db) as s:
        # Partner 1 received lead 1 two hours after it was made, Partner 0 five minutes after:
        # the partners to tell come most recent first.
        s.get(LeadShare, world.ids["share2"]).shared_at = datetime(2025, 1, 1, 2, 0)
    others_before = others_now(db, world)
    rid, version = subject_request(db, staff, world, type_="correction")
    with session_scope(db) as s:
        result = correct_subject(
            s,
            rid,
            version,
            staff.officer,
            changes={
                "email": " Thandi.New@Example.co.za ",
                "phone": "083 111 2222",
                "last_name": "Nkosi",  # unchanged: not recorded
                "birth_year": "1985",
            },
            now=NOW,
        )
    assert set(result.fields) == {"email", "phone", "birth_year"}
    assert [
        (p.partner_id, p.business_name, p.shares, p.last_shared_at) for p in result.partners_to_tell
    ] == [
        (world.rows.partners[1].id, "Partner 1", 1, datetime(2025, 1, 1, 2, 0)),
        (world.rows.partners[0].id, "Partner 0", 1, datetime(2025, 1, 1, 0, 5)),
    ]
    with session_scope(db) as s:
        person = s.get(Homeowner, world.subject.id)
        assert (person.email, person.phone, person.birth_year) == (
            "thandi.new@example.co.za",
            "+27831112222",
            1985,
        )
        mine = select(PrivacyCorrection).where(PrivacyCorrection.request_id == rid)
        rows = {c.field: (c.before_value, c.after_value) for c in s.scalars(mine)}
        assert set(rows) == {"email", "phone", "birth_year"}
        assert rows["email"] == ("thandi@example.co.za", "thandi.new@example.co.za")
        assert rows["phone"] == ("+27820000101", "+27831112222")
        details = s.scalar(
            select(AuditLog.details).where(AuditLog.action == "privacy_request.correct")
        )
        assert sorted(details["fields"]) == ["birth_year", "email", "phone"]
        assert "thandi" not in json.dumps(details)
        other = s.get(Homeowner, world.other.id)
        assert (other.email, other.phone, other.birth_year) == (
            "pieter@example.co.za",
            "+27839999999",
            1961,
        )
    assert others_now(db, world) == others_before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"province": "Atlantis"}, "province"),
        ({"birth_year": "3000"}, "birth_year"),
        ({"first_name": "x" * 200}, "first_name"),
        ({"password_hash": "x"}, "fields"),
        ({"first_name": "Thandi"}, "fields"),  # nothing changed
    ],
)
def test_correction_validation(db, setup, changes, field):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="correction")
    with pytest.raises(ValidationError) as exc, session_scope(db) as s:
        correct_subject(s, rid, version, staff.officer, changes=changes, now=NOW)
    assert field in exc.value.errors
    with session_scope(db) as s:
        # The other homeowner's and the other partner's, from the world: nothing was added.
        assert s.scalar(select(func.count()).select_from(PrivacyCorrection)) == 2
        mine = select(func.count()).where(PrivacyCorrection.request_id == rid)
        assert s.scalar(mine.select_from(PrivacyCorrection)) == 0


def test_correction_needs_verification(db, setup):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="correction", verified=False)
    with pytest.raises(wf.TransitionRefused), session_scope(db) as s:
        correct_subject(s, rid, version, staff.officer, changes={"first_name": "T"}, now=NOW)


def test_partners_to_tell_for_a_partner_subject_is_empty(db, setup):
    _, world = setup
    with session_scope(db) as s:
        assert partners_to_tell(s, "partner", world.partner.id) == []


# --- objection and opt-outs -------------------------------------------------------------------


def test_objection_withdraws_marketing_and_suppresses(db, setup):
    staff, world = setup
    others_before = others_now(db, world)
    rid, version = subject_request(db, staff, world, type_="objection")
    purposes = ["marketing_email", "marketing_phone", "marketing_whatsapp"]
    with session_scope(db) as s:
        result = record_opt_outs(
            s, rid, version, staff.officer, purposes=purposes, now=NOW, key=KEY
        )
    assert result.withdrawn == tuple(purposes) and result.suppressions_added == 2
    with session_scope(db) as s:
        consent = current_consent(s, "homeowner", world.subject.id)
        assert all(consent[p][0] is False for p in purposes)
        assert consent["service_contact"][0] is True  # untouched
        events = s.scalars(select(ConsentEvent).where(ConsentEvent.granted.is_(False))).all()
        assert {e.source for e in events} == {"privacy_request"}
        assert all(e.evidence == f"privacy request #{rid} (objection)" for e in events)
        digests = set(s.scalars(select(Suppression.digest)))
        # Known answers, computed once outside the code under test from the canonical message
        # the digest documents (``kind:normalised value``, HMAC-SHA256 keyed with KEY):
        #   hmac.new(b"test-suppression-key", b"email:thandi@example.co.za", "sha256")
        #   hmac.new(b"test-suppression-key", b"phone:+27820000101", "sha256")
        # The phone is suppressed in its normalised form (the request gave "082 000 0101").
        # Exactly these two: the subject's email and phone, nobody else's.
        assert digests == {
            "7902240d20ebb5226ecdce7c225af7d93cc75b060aa9edede9c56189c9771113",
            "c78ed15edc65b5c03fa7408d8caa1947894decd9f343fda7260c014e428ff9c9",
        }
        assert set(s.scalars(select(Suppression.reason))) == {"objection"}
        plain = " ".join(str(r) for r in s.execute(select(Suppression)).all())
        assert "thandi" not in plain and "0101" not in plain
        other = current_consent(s, "homeowner", world.other.id)
        assert all(other[p][0] is True for p in ("marketing_email", "marketing_phone"))
    assert others_now(db, world) == others_before


def test_opt_outs_are_not_applied_twice(db, setup):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="objection")
    with session_scope(db) as s:
        record_opt_outs(s, rid, version, staff.officer, purposes=["marketing_email"], key=KEY)
    with pytest.raises(wf.StaleRequest), session_scope(db) as s:  # a double click
        record_opt_outs(s, rid, version, staff.officer, purposes=["marketing_email"], key=KEY)
    with pytest.raises(ValidationError, match="nothing to record"), session_scope(db) as s:
        record_opt_outs(s, rid, version + 1, staff.officer, purposes=["marketing_email"], key=KEY)
    with session_scope(db) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 2
        withdrawn = select(func.count()).where(ConsentEvent.granted.is_(False))
        assert s.scalar(withdrawn.select_from(ConsentEvent)) == 1


def test_analytics_opt_out_withdraws_without_contact_suppression(db, setup):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="analytics_opt_out")
    with session_scope(db) as s:
        result = record_opt_outs(
            s, rid, version, staff.officer, purposes=["analytics_tracking", "ad_cookies"], key=KEY
        )
    assert result.suppressions_added == 0 and len(result.withdrawn) == 2


def test_service_opt_out_without_a_record_suppresses_the_given_identifiers(db, setup):
    staff, _ = setup
    rid, version = verified_request(
        db,
        staff.officer,
        type="service_opt_out",
        no_record_found=True,
        given_email="nobody@example.com",
        given_phone="0845556666",
    )
    with session_scope(db) as s:
        result = record_opt_outs(
            s, rid, version, staff.officer, purposes=["service_contact"], key=KEY
        )
    assert (result.withdrawn, result.suppressions_added) == ((), 2)
    with session_scope(db) as s:
        assert set(s.scalars(select(Suppression.reason))) == {"service_opt_out"}


@pytest.mark.parametrize("purposes", [[], ["spam"], "marketing_email"])
def test_opt_out_validation(db, setup, purposes):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="objection")
    with pytest.raises(ValidationError), session_scope(db) as s:
        record_opt_outs(s, rid, version, staff.officer, purposes=purposes, key=KEY)


def test_opt_outs_need_verification(db, setup):
    staff, world = setup
    rid, version = subject_request(db, staff, world, type_="objection", verified=False)
    with pytest.raises(wf.TransitionRefused), session_scope(db) as s:
        record_opt_outs(s, rid, version, staff.officer, purposes=["marketing_email"], key=KEY)
