"""The request state machine: every transition allowed and refused, the clock rules, the
30-day unverified close, optimistic concurrency and the role check behind the page guard."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.models import AuditLog, PrivacyRequestNote
from data.privacy import workflow as wf
from data.privacy.clock import days_left_badge
from data.privacy.validation import MAX_TEXT_BYTES, ValidationError
from data.timeutil import sa_date
from tests.privacy_support import (
    NOW,
    load_request,
    make_staff,
    new_request,
    verified_request,
)


@pytest.fixture
def staff(db):
    with session_scope(db) as s:
        return make_staff(s)


def actions_of(db, request_id, now=NOW):
    return wf.allowed_actions(load_request(db, request_id), now)


def audit_actions(db, request_id) -> list[str]:
    with session_scope(db) as s:
        return list(
            s.scalars(
                select(AuditLog.action)
                .where(
                    AuditLog.object_type == "privacy_request", AuditLog.object_id == str(request_id)
                )
                .order_by(AuditLog.id)
            )
        )


def verify(db, request_id, version, actor, outcome="verified", method="registered_phone_otp"):
    with session_scope(db) as s:
        return wf.verify_identity(
            s,
            request_id,
            version,
            actor,
            method=method,
            outcome=outcome,
            evidence="Code 1234 confirmed on a call",
            now=NOW,
        ).version


# --- allowed actions per state ----------------------------------------------------------------


def test_a_new_request_allows_verification_but_no_fulfilment(db, staff):
    rid = new_request(db)
    assert actions_of(db, rid) == ("verify", "assign", "note", "extend", "deny")


def test_a_verified_access_request_allows_the_package_and_completion(db, staff):
    rid, _ = verified_request(
        db, staff.officer, type="access", subject_type="homeowner", subject_id=1
    )
    assert actions_of(db, rid) == ("assign", "note", "extend", "deny", "access_package", "complete")


@pytest.mark.parametrize(
    ("type_", "step"),
    [("correction", "correct"), ("objection", "opt_out"), ("service_opt_out", "opt_out")],
)
def test_each_type_offers_only_its_own_fulfilment_step(db, staff, type_, step):
    rid, _ = verified_request(db, staff.officer, type=type_, subject_type="homeowner", subject_id=1)
    allowed = actions_of(db, rid)
    assert step in allowed
    assert {"access_package", "correct", "opt_out"} - {step} & set(allowed) == set()


def test_erasure_cannot_be_completed_from_the_desk(db, staff):
    rid, _ = verified_request(
        db, staff.officer, type="erasure", subject_type="homeowner", subject_id=1
    )
    req = load_request(db, rid)
    assert "complete" not in wf.allowed_actions(req, NOW)
    assert "erasure" in wf.refusal_reason(req, "complete", NOW).lower()


def test_closed_requests_allow_notes_only(db, staff):
    for status in ("completed", "denied", "unverified", "duplicate"):
        rid = new_request(db, status=status, closed_at=NOW)
        assert actions_of(db, rid) == ("note",), status


def test_a_completed_verified_access_request_can_still_be_downloaded(db, staff):
    rid = new_request(
        db,
        status="completed",
        closed_at=NOW,
        verification_outcome="verified",
        subject_type="homeowner",
        subject_id=1,
    )
    assert actions_of(db, rid) == ("note", "access_package")


# --- verify -----------------------------------------------------------------------------------


def test_verify_pending_then_verified(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        req = wf.verify_identity(
            s, rid, 1, staff.officer, method="registered_phone_otp", outcome="pending", evidence=""
        )
        assert (req.status, req.version) == ("verifying", 2)
    v = verify(db, rid, 2, staff.officer)
    req = load_request(db, rid)
    assert (req.status, req.verification_outcome, req.verified_by, v) == (
        "in_progress",
        "verified",
        staff.officer.id,
        3,
    )
    assert req.verified_at == NOW
    assert audit_actions(db, rid) == ["privacy_request.verify", "privacy_request.verify"]


def test_failed_verification_keeps_the_request_verifying(db, staff):
    rid = new_request(db)
    verify(db, rid, 1, staff.officer, outcome="failed")
    req = load_request(db, rid)
    assert (req.status, req.verification_outcome, req.verified_at) == ("verifying", "failed", None)


def test_verify_is_refused_once_verified(db, staff):
    rid, version = verified_request(db, staff.officer)
    with pytest.raises(wf.TransitionRefused, match="already verified"):
        verify(db, rid, version, staff.officer)


@pytest.mark.parametrize(
    ("method", "outcome", "evidence", "field"),
    [
        ("photocopy", "verified", "x", "method"),
        ("document_sighted", "probably", "x", "outcome"),
        ("document_sighted", "verified", "", "evidence"),
        ("document_sighted", "verified", "x" * (MAX_TEXT_BYTES + 1), "evidence"),
    ],
)
def test_verify_validates_its_fields(db, staff, method, outcome, evidence, field):
    rid = new_request(db)
    with pytest.raises(ValidationError) as exc, session_scope(db) as s:
        wf.verify_identity(
            s, rid, 1, staff.officer, method=method, outcome=outcome, evidence=evidence
        )
    assert field in exc.value.errors
    assert load_request(db, rid).version == 1  # nothing applied


# --- assign and notes -------------------------------------------------------------------------


def test_assign_and_unassign(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=staff.officer2.id)
    assert load_request(db, rid).assignee_id == staff.officer2.id
    with session_scope(db) as s:
        wf.assign(s, rid, 2, staff.officer, assignee_id="none")
    assert load_request(db, rid).assignee_id is None


def test_assign_refuses_non_privacy_staff_and_no_ops(db, staff):
    rid = new_request(db, assignee_id=staff.officer.id)
    with pytest.raises(ValidationError, match="privacy officer"), session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=staff.manager.id)
    with pytest.raises(ValidationError, match="already"), session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=staff.officer.id)
    with pytest.raises(ValidationError), session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id="abc")


def test_assign_is_refused_on_a_closed_request(db, staff):
    rid = new_request(db, status="completed", closed_at=NOW)
    with pytest.raises(wf.TransitionRefused, match="closed"), session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=staff.officer2.id)


def test_notes_are_allowed_in_every_state_and_validated(db, staff):
    rid = new_request(db, status="denied", closed_at=NOW)
    with session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.officer, text="<b>called back</b>", now=NOW)
    with session_scope(db) as s:
        assert s.scalar(select(PrivacyRequestNote.text)) == "<b>called back</b>"
        details = s.scalar(
            select(AuditLog.details).where(AuditLog.action == "privacy_request.note")
        )
    assert "called" not in str(details)  # the audit log holds the length, not the text
    for bad in ("", "   ", "x" * (MAX_TEXT_BYTES + 1)):
        with pytest.raises(ValidationError), session_scope(db) as s:
            wf.add_note(s, rid, 2, staff.officer, text=bad)


# --- extend -----------------------------------------------------------------------------------


def extend(db, rid, version, actor, **overrides):
    params = {"days": 30, "reason": "Large volume of records", "notice_date": "2026-05-30"}
    params.update(overrides)
    with session_scope(db) as s:
        return wf.extend(s, rid, version, actor, now=NOW, **params).version


def test_extend_once_moves_the_due_date_and_a_second_is_refused(db, staff):
    rid = new_request(db)
    original = load_request(db, rid).original_due_at
    version = extend(db, rid, 1, staff.officer, days=20)
    req = load_request(db, rid)
    assert req.extended and req.due_at == original + timedelta(days=20)
    # the officer typed 30 May, a Johannesburg day: its midnight is 22:00 UTC the day before
    assert req.original_due_at == original and req.extension_notice_at == datetime(2026, 5, 29, 22)
    assert "extend" not in actions_of(db, rid)
    with pytest.raises(wf.TransitionRefused, match="second extension"):
        extend(db, rid, version, staff.officer)
    assert load_request(db, rid).due_at == original + timedelta(days=20)


def test_extend_is_refused_after_the_original_due_date(db, staff):
    rid = new_request(db, received_at=NOW - timedelta(days=31))
    assert "extend" not in actions_of(db, rid)
    with pytest.raises(wf.TransitionRefused, match="original due date has passed"):
        extend(db, rid, 1, staff.officer, notice_date="2026-04-30")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"days": 31}, "days"),
        ({"days": 0}, "days"),
        ({"days": "ten"}, "days"),
        ({"reason": ""}, "reason"),
        ({"notice_date": ""}, "notice_date"),
        ({"notice_date": "2026-06-02"}, "notice_date"),  # in the future
        ({"notice_date": "30/05/2026"}, "notice_date"),
        ({"notice_date": "2026-05-01"}, "notice_date"),  # before the request arrived
    ],
)
def test_extend_validates(db, staff, overrides, field):
    rid = new_request(db)
    with pytest.raises(ValidationError) as exc:
        extend(db, rid, 1, staff.officer, **overrides)
    assert field in exc.value.errors
    assert not load_request(db, rid).extended


# --- deny -------------------------------------------------------------------------------------


def deny(db, rid, version, actor, reason, text="We cannot act on this request."):
    with session_scope(db) as s:
        return wf.deny(s, rid, version, actor, reason=reason, response_text=text, now=NOW)


def test_identity_not_verified_needs_a_failed_or_expired_verification(db, staff):
    rid = new_request(db)
    with pytest.raises(wf.TransitionRefused, match="failed or expired"):
        deny(db, rid, 1, staff.officer, "identity_not_verified")
    version = verify(db, rid, 1, staff.officer, outcome="expired")
    deny(db, rid, version, staff.officer, "identity_not_verified")
    req = load_request(db, rid)
    assert (req.status, req.denial_reason, req.closed_at) == (
        "denied",
        "identity_not_verified",
        NOW,
    )


def test_deny_with_another_reason_code_at_any_open_stage(db, staff):
    rid, version = verified_request(db, staff.officer)
    deny(db, rid, version, staff.officer, "legal_hold")
    assert load_request(db, rid).status == "denied"


def test_deny_validates_and_is_refused_when_closed(db, staff):
    rid = new_request(db)
    with pytest.raises(ValidationError) as exc:
        deny(db, rid, 1, staff.officer, "because", text="")
    assert set(exc.value.errors) == {"reason", "response_text"}
    closed = new_request(db, status="completed", closed_at=NOW)
    with pytest.raises(wf.TransitionRefused):
        deny(db, closed, 1, staff.officer, "legal_hold")


# --- complete ---------------------------------------------------------------------------------


def complete(db, rid, version, actor):
    with session_scope(db) as s:
        return wf.complete(
            s, rid, version, actor, resolution_note="done", response_text="Here you go", now=NOW
        )


def test_complete_needs_verification(db, staff):
    rid = new_request(db, type="correction", subject_type="homeowner", subject_id=1)
    with pytest.raises(wf.TransitionRefused, match="Verify"):
        complete(db, rid, 1, staff.officer)


def test_complete_a_verified_request(db, staff):
    rid, version = verified_request(
        db, staff.officer, type="correction", subject_type="homeowner", subject_id=1
    )
    complete(db, rid, version, staff.officer)
    req = load_request(db, rid)
    assert (req.status, req.closed_at, req.response_text) == ("completed", NOW, "Here you go")


def test_an_access_request_needs_its_package_downloaded_before_completion(db, staff):
    rid, version = verified_request(
        db, staff.officer, type="access", subject_type="homeowner", subject_id=1
    )
    with pytest.raises(wf.TransitionRefused, match="Download the access package"):
        complete(db, rid, version, staff.officer)


def test_no_record_found_completes_without_verification(db, staff):
    rid = new_request(db, no_record_found=True)
    assert "complete" in actions_of(db, rid)
    complete(db, rid, 1, staff.officer)
    assert load_request(db, rid).status == "completed"


def test_complete_validates(db, staff):
    rid, version = verified_request(db, staff.officer, type="objection")
    with pytest.raises(ValidationError) as exc, session_scope(db) as s:
        wf.complete(s, rid, version, staff.officer, resolution_note="", response_text=None)
    assert set(exc.value.errors) == {"resolution_note", "response_text"}


# --- 30 days unverified -----------------------------------------------------------------------


def test_close_unverified_only_after_thirty_days(db, staff):
    young = new_request(db, received_at=NOW - timedelta(days=29))
    old = new_request(db, received_at=NOW - timedelta(days=30))
    with pytest.raises(wf.TransitionRefused, match="30 days"), session_scope(db) as s:
        wf.close_unverified(s, young, 1, staff.officer, now=NOW)
    with session_scope(db) as s:
        wf.close_unverified(s, old, 1, staff.officer, now=NOW)
    assert load_request(db, old).status == "unverified"


def test_the_sweep_closes_only_stale_unverified_requests(db, staff):
    stale = new_request(db, received_at=NOW - timedelta(days=40))
    stale_verifying = new_request(
        db, received_at=NOW - timedelta(days=35), status="verifying", verification_outcome="failed"
    )
    fresh = new_request(db, received_at=NOW - timedelta(days=10))
    verified = new_request(
        db,
        received_at=NOW - timedelta(days=40),
        status="in_progress",
        verification_outcome="verified",
    )
    with session_scope(db) as s:
        closed = wf.close_all_unverified(s, wf.SYSTEM, now=NOW)
    assert sorted(closed) == sorted([stale, stale_verifying])
    assert [load_request(db, r).status for r in (fresh, verified)] == ["received", "in_progress"]
    with session_scope(db) as s:
        assert wf.close_all_unverified(s, wf.SYSTEM, now=NOW) == []  # idempotent
        actors = set(s.scalars(select(AuditLog.actor).where(AuditLog.action.like("%unverified"))))
    assert actors == {"system"}


# --- concurrency, roles, unknown requests -----------------------------------------------------


def test_a_stale_version_is_refused_and_nothing_is_applied_twice(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.officer, text="first officer")
    with pytest.raises(wf.StaleRequest, match="Reload"), session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.officer2, text="second officer")
    with pytest.raises(wf.StaleRequest), session_scope(db) as s:
        wf.extend(s, rid, 1, staff.officer2, days=5, reason="x", notice_date="2026-05-30", now=NOW)
    with session_scope(db) as s:
        assert s.scalar(select(func.count()).select_from(PrivacyRequestNote)) == 1
    req = load_request(db, rid)
    assert (req.version, req.extended) == (2, False)


@pytest.mark.parametrize("bad", [None, "2", 0, -1, True, 1.5])
def test_malformed_versions_count_as_stale(db, staff, bad):
    rid = new_request(db)
    with pytest.raises(wf.StaleRequest), session_scope(db) as s:
        wf.add_note(s, rid, bad, staff.officer, text="x")


def test_two_officers_at_the_same_moment_one_wins(db, staff):
    """Real concurrency: two threads, two connections, the same version. Exactly one extension
    is applied; the other officer is told to reload."""
    rid = new_request(db)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(actor):
        barrier.wait()
        try:
            with session_scope(db) as s:
                wf.extend(
                    s, rid, 1, actor, days=10, reason="busy", notice_date="2026-05-30", now=NOW
                )
            outcomes.append("ok")
        except wf.StaleRequest:
            outcomes.append("stale")

    threads = [threading.Thread(target=act, args=(a,)) for a in (staff.officer, staff.officer2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok", "stale"]
    assert audit_actions(db, rid) == ["privacy_request.extend"]
    assert load_request(db, rid).version == 2


def test_only_privacy_roles_may_act(db, staff):
    rid = new_request(db)
    with pytest.raises(wf.NotAllowed), session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.manager, text="x")
    assert load_request(db, rid).version == 1


def test_unknown_request(db, staff):
    with pytest.raises(wf.NotFound), session_scope(db) as s:
        wf.add_note(s, 999, 1, staff.officer, text="x")


def test_every_transition_is_audited_without_free_text(db, staff):
    rid = new_request(db, type="objection")
    v = verify(db, rid, 1, staff.officer)
    with session_scope(db) as s:
        wf.add_note(s, rid, v, staff.officer, text="SECRET NOTE")
    v += 1
    v = extend(db, rid, v, staff.officer, reason="SECRET REASON")
    with session_scope(db) as s:
        wf.complete(
            s, rid, v, staff.officer, resolution_note="SECRET NOTE 2", response_text="SECRET TEXT"
        )
    assert audit_actions(db, rid) == [
        "privacy_request.verify",
        "privacy_request.note",
        "privacy_request.extend",
        "privacy_request.complete",
    ]
    with session_scope(db) as s:
        dump = str(s.scalars(select(AuditLog.details)).all())
    assert "SECRET" not in dump and "Code 1234" not in dump


# --- every refusal rule at its edge (expectations by hand) ------------------------------------

DUE = datetime(2026, 6, 1, 12, 0, 0)  # the original due instant of the requests below
ONE_SECOND = timedelta(seconds=1)


@dataclass
class Req:
    """A request as the state machine reads it (``wf.RequestState``), without a database."""

    type: str = "access"
    status: str = "received"
    extended: bool = False
    original_due_at: datetime = DUE
    received_at: datetime = DUE - timedelta(days=30)
    verification_outcome: str | None = None
    subject_id: int | None = 1
    no_record_found: bool = False


# DUE is 1 June 12:00 UTC = 14:00 in Johannesburg; that South African day ends at 21:59:59 UTC.
END_OF_DUE_DAY = datetime(2026, 6, 1, 21, 59, 59)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (DUE - timedelta(days=29), True),
        (DUE - ONE_SECOND, True),
        (DUE, True),  # still the due day: the badge says "due today", so may still extend
        (END_OF_DUE_DAY, True),
        (END_OF_DUE_DAY + ONE_SECOND, False),  # midnight in Johannesburg: overdue
        (DUE + timedelta(days=1), False),
    ],
)
@pytest.mark.parametrize("status", ["received", "verifying", "in_progress"])
def test_extension_is_allowed_through_the_south_african_due_day(now, allowed, status):
    req = Req(status=status, verification_outcome="verified" if status == "in_progress" else None)
    reason = wf.refusal_reason(req, "extend", now)
    if allowed:
        assert reason is None
        assert "extend" in wf.allowed_actions(req, now)
    else:
        assert reason == (
            "The original due date has passed; an extension must be recorded before it."
        )
        assert "extend" not in wf.allowed_actions(req, now)


@pytest.mark.parametrize(
    ("now", "label", "may_extend"),
    [
        (END_OF_DUE_DAY, "due today", True),
        (END_OF_DUE_DAY + ONE_SECOND, "1 day overdue", False),
    ],
)
def test_the_badge_and_the_extension_rule_agree(now, label, may_extend):
    """The issue's complaint: the badge said "due today" while the extension was refused as
    past due. Both now read the same South African due day."""
    badge = days_left_badge(DUE, sa_date(now))
    assert badge.label == label
    assert ("extend" in wf.allowed_actions(Req(), now)) is may_extend


def test_a_second_extension_is_refused_even_before_the_original_due_instant():
    req = Req(extended=True)
    assert "second extension" in wf.refusal_reason(req, "extend", DUE - ONE_SECOND)


def test_extend_transition_on_the_due_day_and_after_it(db, staff):
    received = DUE - timedelta(days=30)
    early, last, late = (new_request(db, received_at=received) for _ in range(3))
    assert load_request(db, early).original_due_at == DUE
    for rid, now in ((early, DUE - ONE_SECOND), (last, END_OF_DUE_DAY)):
        with session_scope(db) as s:
            wf.extend(
                s,
                rid,
                1,
                staff.officer,
                days=30,
                reason="Large volume of records",
                notice_date="2026-06-01 11:59:59",
                now=now,
            )
        req = load_request(db, rid)
        assert (req.extended, req.due_at) == (True, datetime(2026, 7, 1, 12, 0, 0))
    refused = pytest.raises(wf.TransitionRefused, match="original due date has passed")
    with refused, session_scope(db) as s:
        wf.extend(
            s,
            late,
            1,
            staff.officer,
            days=30,
            reason="Large volume of records",
            notice_date="2026-05-30",
            now=END_OF_DUE_DAY + ONE_SECOND,
        )
    req = load_request(db, late)
    assert (req.extended, req.due_at, req.version) == (False, DUE, 1)


# (status, verification outcome on record, may "identity not verified" be the reason?)
IDENTITY_GROUNDS = [
    ("received", None, False),  # never challenged
    ("verifying", "pending", False),  # challenge sent, no answer yet
    ("in_progress", "verified", False),
    ("verifying", "failed", True),
    ("verifying", "expired", True),
]


def test_identity_not_verified_is_grounds_only_after_failed_or_expired(db, staff):
    for status, outcome, allowed in IDENTITY_GROUNDS:
        rid = new_request(db, status=status, verification_outcome=outcome)
        if allowed:
            deny(db, rid, 1, staff.officer, "identity_not_verified")
            req = load_request(db, rid)
            assert (req.status, req.denial_reason, req.closed_at) == (
                "denied",
                "identity_not_verified",
                NOW,
            ), outcome
            continue
        with pytest.raises(
            wf.TransitionRefused, match="needs a failed or expired verification on record"
        ):
            deny(db, rid, 1, staff.officer, "identity_not_verified")
        req = load_request(db, rid)
        assert (req.status, req.denial_reason, req.version) == (status, None, 1), outcome
        assert audit_actions(db, rid) == [], outcome
        # another reason code is still accepted in the same state
        deny(db, rid, 1, staff.officer, "legal_obligation_to_retain")
        assert load_request(db, rid).status == "denied", outcome


def test_a_pending_challenge_after_a_failed_one_is_no_grounds(db, staff):
    rid = new_request(db)
    version = verify(db, rid, 1, staff.officer, outcome="failed")
    version = verify(db, rid, version, staff.officer, outcome="pending")
    with pytest.raises(wf.TransitionRefused, match="failed or expired"):
        deny(db, rid, version, staff.officer, "identity_not_verified")


@pytest.mark.parametrize(
    ("received_at", "allowed"),
    [
        (NOW - timedelta(days=30) + ONE_SECOND, False),
        (NOW - timedelta(days=30), True),  # exactly 30 days: closes
        (NOW - timedelta(days=30) - ONE_SECOND, True),
    ],
)
@pytest.mark.parametrize("status", ["received", "verifying"])
def test_close_unverified_at_exactly_thirty_days(received_at, allowed, status):
    req = Req(status=status, received_at=received_at)
    reason = wf.refusal_reason(req, "close_unverified", NOW)
    if allowed:
        assert reason is None
    else:
        assert reason == "A request closes as unverified only after 30 days without verification."


def test_close_unverified_is_never_for_a_verified_request():
    req = Req(
        status="in_progress", verification_outcome="verified", received_at=NOW - timedelta(99)
    )
    assert wf.refusal_reason(req, "close_unverified", NOW) == (
        "Only unverified requests close as unverified."
    )


# --- no matched subject -------------------------------------------------------------------------


def test_no_matched_subject_refuses_the_access_package_and_the_correction():
    verified = {
        "status": "in_progress",
        "verification_outcome": "verified",
        "subject_id": None,
        "original_due_at": NOW + timedelta(days=10),
    }
    access = Req(type="access", **verified)
    assert wf.refusal_reason(access, "access_package", NOW) == (
        "No subject is matched: there is nothing to put in a package."
    )
    assert wf.allowed_actions(access, NOW) == ("assign", "note", "extend", "deny", "complete")
    closed = Req(type="access", **{**verified, "status": "completed"})
    assert wf.refusal_reason(closed, "access_package", NOW) == (
        "No subject is matched: there is nothing to put in a package."
    )
    correction = Req(type="correction", **verified)
    assert wf.refusal_reason(correction, "correct", NOW) == (
        "No subject is matched: there is nothing to correct."
    )
    # with a subject both are allowed
    assert (
        wf.refusal_reason(
            Req(type="access", **{**verified, "subject_id": 7}), "access_package", NOW
        )
        is None
    )
    assert (
        wf.refusal_reason(Req(type="correction", **{**verified, "subject_id": 7}), "correct", NOW)
        is None
    )


def test_no_record_found_completes_at_any_open_stage_without_verification():
    for status in ("received", "verifying"):
        req = Req(status=status, subject_id=None, no_record_found=True)
        assert wf.refusal_reason(req, "complete", NOW) is None, status
        assert wf.refusal_reason(req, "access_package", NOW) == "Identity must be verified first."
    # without the no-record flag, completion waits for verification
    assert wf.refusal_reason(Req(subject_id=None), "complete", NOW) == (
        "Verify the requester's identity first."
    )


def test_a_verified_access_request_without_a_subject_completes_without_a_package(db, staff):
    rid, version = verified_request(db, staff.officer, type="access")
    assert load_request(db, rid).subject_id is None
    complete(db, rid, version, staff.officer)
    assert load_request(db, rid).status == "completed"


# --- the exact refusal messages (what the officer reads) ----------------------------------------

OLD = NOW - timedelta(days=60)


@pytest.mark.parametrize(
    ("req", "action", "message"),
    [
        (
            Req(status="in_progress", verification_outcome="verified"),
            "verify",
            "Identity is already verified.",
        ),
        (
            Req(extended=True),
            "extend",
            "The deadline was already extended once; a second extension is not allowed.",
        ),
        (
            Req(type="erasure", status="in_progress", verification_outcome="verified"),
            "complete",
            "Erasure requests are completed by running the erasure.",
        ),
        (
            Req(type="service_opt_out", status="in_progress", verification_outcome="verified"),
            "access_package",
            "This step does not apply to a service opt out request.",
        ),
        (Req(status="completed"), "assign", "The request is closed (completed)."),
        (Req(), "shred", "Unknown action 'shred'."),
        # Either half of "unverified" is enough to refuse the 30-day close: a verified outcome
        # on a request whose status was never moved on, or a status past verification.
        (
            Req(status="received", verification_outcome="verified", received_at=OLD),
            "close_unverified",
            "Only unverified requests close as unverified.",
        ),
        (
            Req(status="in_progress", verification_outcome=None, received_at=OLD),
            "close_unverified",
            "Only unverified requests close as unverified.",
        ),
    ],
)
def test_refusal_messages(req, action, message):
    assert wf.refusal_reason(req, action, NOW) == message
