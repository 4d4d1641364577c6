"""Intake: validation of every field, identifier normalisation, subject matching with reasons,
the server-side check of the confirmed subject, and duplicate linking."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from data.db import read_connection, session_scope
from data.models import AuditLog, PrivacyRequest
from data.privacy.intake import find_candidates, log_request, validate_intake
from data.privacy.validation import MAX_TEXT_BYTES, ValidationError
from tests.factories import add_partner
from tests.privacy_support import NOW, add_request, make_staff, make_world

VALID = {
    "type": "access",
    "channel": "phone",
    "received_at": "2026-05-30T09:15",
    "name": "Thandi Nkosi",
    "email": "",
    "phone": "082 000 0101",
    "message": "What do you hold about me?",
}


@pytest.fixture
def setup(db):
    with session_scope(db) as s:
        staff = make_staff(s)
        world = make_world(s)
        partner = add_partner(
            s, business_name="Nkosi Plumbing", contact_name="Thandi Nkosi", phone="+27820000101"
        )
        return staff, world, partner


def form(**overrides):
    return validate_intake({**VALID, **overrides}, now=NOW)


@pytest.mark.parametrize(
    "phone",
    [
        "082 000 0101",
        "0820000101",
        "+27 82 000 0101",
        "27820000101",
        "082-000-0101",
        "+27820000101",
    ],
)
def test_south_african_phone_forms_normalise(phone):
    assert form(phone=phone).phone == "+27820000101"


def test_email_is_case_insensitive():
    f = form(email="  Thandi@Example.CO.ZA ", phone="")
    assert f.email == "thandi@example.co.za"
    assert f.given_email == "Thandi@Example.CO.ZA"  # kept as received


def test_a_foreign_number_given_with_its_country_code_is_kept_in_e164():
    assert form(phone="+44 20 7946 0958").phone == "+442079460958"


def test_the_received_time_is_johannesburg_time_stored_in_utc():
    assert form(received_at="2026-05-30T09:15").received_at == datetime(2026, 5, 30, 7, 15)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": ""}, "type"),
        ({"type": "delete-everything"}, "type"),
        ({"channel": "pigeon"}, "channel"),
        ({"received_at": ""}, "received_at"),
        ({"received_at": "2026-06-02"}, "received_at"),  # future
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "1999-12-31"}, "received_at"),
        ({"email": "not an email", "phone": ""}, "email"),
        ({"email": "a@b", "phone": ""}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "0900 123 456"}, "phone"),  # premium rate: not a person's number
        ({"email": "", "phone": ""}, "email"),
        ({"message": "x" * (MAX_TEXT_BYTES + 1)}, "message"),
        ({"name": "x" * 200}, "name"),
    ],
)
def test_intake_validation(overrides, field):
    with pytest.raises(ValidationError) as exc:
        form(**overrides)
    assert field in exc.value.errors


def test_all_problems_are_reported_together():
    with pytest.raises(ValidationError) as exc:
        validate_intake({"type": "x", "channel": "", "phone": "1"}, now=NOW)
    assert {"type", "channel", "received_at", "phone"} <= set(exc.value.errors)


def test_html_in_the_message_is_kept_as_text():
    assert form(message="<script>alert(1)</script>").message == "<script>alert(1)</script>"


def test_candidates_by_phone_with_reasons(db, setup):
    _, world, partner = setup
    f = form()
    with read_connection(db) as conn:
        candidates = find_candidates(conn, name=f.given_name, email=f.email, phone=f.phone)
    keys = {c.key: c for c in candidates}
    assert set(keys) == {f"homeowner:{world.subject.id}", f"partner:{partner.id}"}
    homeowner = keys[f"homeowner:{world.subject.id}"]
    assert homeowner.reasons == ("same phone number", "same name")
    assert homeowner.masked_phone == "082 *** 0101" and "@" in homeowner.masked_email
    assert "0101" not in homeowner.label  # the label is a name, not an identifier


def test_candidates_by_email_flag_a_different_name(db, setup):
    _, world, _ = setup
    with read_connection(db) as conn:
        candidates = find_candidates(
            conn, name="Someone Else", email="thandi@example.co.za", phone=None
        )
    assert [c.subject_id for c in candidates] == [world.subject.id]
    assert candidates[0].reasons == ("same email address", "name differs: check before confirming")


def test_name_only_candidates_are_weak_and_erased_people_are_never_proposed(db, setup):
    _, world, _ = setup
    with read_connection(db) as conn:
        by_name = find_candidates(conn, name="pieter other", email=None, phone="+27830000000")
    assert [(c.subject_id, c.reasons) for c in by_name] == [(world.other.id, ("same name",))]
    with session_scope(db) as s:
        s.get(type(world.other), world.other.id).erased_at = NOW
    with read_connection(db) as conn:
        assert (
            find_candidates(conn, name="pieter other", email="pieter@example.co.za", phone=None)
            == []
        )


def test_log_request_against_the_confirmed_subject(db, setup):
    staff, world, _ = setup
    with session_scope(db) as s:
        req = log_request(
            s, staff.officer, form(), subject=f"homeowner:{world.subject.id}", now=NOW
        )
        rid = req.id
    with session_scope(db) as s:
        req = s.get(PrivacyRequest, rid)
        assert (req.subject_type, req.subject_id, req.status, req.version) == (
            "homeowner",
            world.subject.id,
            "received",
            1,
        )
        assert req.due_at == req.received_at + timedelta(days=30) == req.original_due_at
        assert req.given_phone == "082 000 0101" and req.assignee_id == staff.officer.id
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "privacy_request.create"))
        assert entry.object_id == str(rid) and "0101" not in str(entry.details)


def test_a_subject_that_does_not_match_is_refused(db, setup):
    staff, world, _ = setup
    with pytest.raises(ValidationError, match="does not match"), session_scope(db) as s:
        log_request(s, staff.officer, form(), subject=f"homeowner:{world.other.id}", now=NOW)
    for bad in ("homeowner:abc", "admin:1", "1"):
        with pytest.raises(ValidationError, match="unknown subject"), session_scope(db) as s:
            log_request(s, staff.officer, form(), subject=bad, now=NOW)


def test_subject_or_no_record_is_required_but_not_both(db, setup):
    staff, world, _ = setup
    with pytest.raises(ValidationError, match="confirm"), session_scope(db) as s:
        log_request(s, staff.officer, form(), now=NOW)
    with pytest.raises(ValidationError, match="not both"), session_scope(db) as s:
        log_request(
            s,
            staff.officer,
            form(),
            subject=f"homeowner:{world.subject.id}",
            no_record_found=True,
            now=NOW,
        )
    with session_scope(db) as s:
        req = log_request(s, staff.officer, form(phone="0831112222"), no_record_found=True, now=NOW)
        assert (req.subject_id, req.no_record_found, req.status) == (None, True, "received")


def test_a_repeat_within_365_days_is_linked_not_processed(db, setup):
    staff, world, _ = setup
    with session_scope(db) as s:
        earlier = add_request(
            s,
            subject_type="homeowner",
            subject_id=world.subject.id,
            received_at=NOW - timedelta(days=200),
            status="completed",
        ).id
        add_request(  # an older one outside the window, and another type: not duplicates
            s,
            subject_type="homeowner",
            subject_id=world.subject.id,
            received_at=NOW - timedelta(days=400),
        )
        add_request(s, subject_type="homeowner", subject_id=world.subject.id, type="objection")
    with session_scope(db) as s:
        req = log_request(
            s, staff.officer, form(), subject=f"homeowner:{world.subject.id}", now=NOW
        )
        assert (req.status, req.duplicate_of_id, req.closed_at) == ("duplicate", earlier, NOW)


def test_an_earlier_request_refused_for_identity_does_not_make_a_duplicate(db, setup):
    staff, world, _ = setup
    with session_scope(db) as s:
        add_request(
            s,
            subject_type="homeowner",
            subject_id=world.subject.id,
            received_at=NOW - timedelta(days=60),
            status="denied",
            denial_reason="identity_not_verified",
        )
        add_request(
            s,
            subject_type="homeowner",
            subject_id=world.subject.id,
            received_at=NOW - timedelta(days=50),
            status="unverified",
        )
    with session_scope(db) as s:
        req = log_request(
            s, staff.officer, form(), subject=f"homeowner:{world.subject.id}", now=NOW
        )
        assert (req.status, req.duplicate_of_id) == ("received", None)


def test_intake_needs_a_privacy_role(db, setup):
    staff, _, _ = setup
    from data.privacy.workflow import NotAllowed

    with pytest.raises(NotAllowed), session_scope(db) as s:
        log_request(s, staff.manager, form(), no_record_found=True, now=NOW)
