"""What each privacy transition writes, exactly: the request's fields, the note row, and the audit
entry (time, actor, action, object, details), plus the exact message of every field error.

Expectations are written by hand: the due dates from the calendar, the error messages as an
officer reads them, the audit details as docs/privacy-desk.md describes them. The clock is
always passed (``NOW``) so that a transition that stamped the wall clock instead would show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import AuditLog, PrivacyRequest, PrivacyRequestNote, User
from data.privacy import workflow as wf
from data.privacy.validation import ValidationError
from data.timeutil import utcnow
from tests.privacy_support import NOW, load_request, make_staff, new_request

LATER = NOW + timedelta(hours=1)
# add_request's defaults: received three days before NOW, due thirty days after receipt.
RECEIVED = datetime(2026, 5, 29, 12, 0)
DUE = datetime(2026, 6, 28, 12, 0)


@pytest.fixture
def staff(db):
    with session_scope(db) as s:
        return make_staff(s)


def entries(db, request_id) -> list[tuple]:
    """The request's audit entries, oldest first: (at, actor, action, object type, id, details)."""
    with session_scope(db) as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.object_type == "privacy_request")
            .where(AuditLog.object_id == str(request_id))
            .order_by(AuditLog.id)
        ).all()
        return [(r.at, r.actor, r.action, r.object_type, r.object_id, r.details) for r in rows]


def errors_of(call) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        call()
    return exc.value.errors


# --- verify -----------------------------------------------------------------------------------


def test_verify_records_the_attempt_and_who_verified(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        wf.verify_identity(
            s,
            rid,
            1,
            staff.officer,
            method="registered_phone_otp",
            outcome="pending",
            evidence="",
            now=NOW,
        )
    req = load_request(db, rid)
    assert (
        req.status,
        req.version,
        req.verification_method,
        req.verification_outcome,
        req.verification_evidence,
        req.verified_by,
        req.verified_at,
    ) == ("verifying", 2, "registered_phone_otp", "pending", None, None, None)
    with session_scope(db) as s:
        wf.verify_identity(
            s,
            rid,
            2,
            staff.officer2,
            method="document_sighted",
            outcome="verified",
            evidence="  ID book sighted at the office  ",
            now=LATER,
        )
    req = load_request(db, rid)
    assert (
        req.status,
        req.version,
        req.verification_method,
        req.verification_outcome,
        req.verification_evidence,
        req.verified_by,
        req.verified_at,
    ) == (
        "in_progress",
        3,
        "document_sighted",
        "verified",
        "ID book sighted at the office",
        staff.officer2.id,
        LATER,
    )
    assert entries(db, rid) == [
        (
            NOW,
            "olivia",
            "privacy_request.verify",
            "privacy_request",
            str(rid),
            {
                "status": "verifying",
                "version": 2,
                "method": "registered_phone_otp",
                "outcome": "pending",
            },
        ),
        (
            LATER,
            "oscar",
            "privacy_request.verify",
            "privacy_request",
            str(rid),
            {
                "status": "in_progress",
                "version": 3,
                "method": "document_sighted",
                "outcome": "verified",
            },
        ),
    ]


def test_verify_error_messages(db, staff):
    rid = new_request(db)

    def verify(**fields):
        params = {"method": "document_sighted", "outcome": "verified", "evidence": "seen"}
        params.update(fields)
        with session_scope(db) as s:
            wf.verify_identity(s, rid, 1, staff.officer, now=NOW, **params)

    assert errors_of(lambda: verify(method="photocopy", outcome="probably", evidence="")) == {
        "method": "Choose how the identity was checked.",
        "outcome": "Choose the outcome of the check.",
        "evidence": "Describe the evidence you saw (for example the reply you received).",
    }
    assert errors_of(lambda: verify(method=None, outcome="")) == {
        "method": "Choose how the identity was checked.",
        "outcome": "Choose the outcome of the check.",
    }
    assert errors_of(lambda: verify(outcome="failed", evidence=" ")) == {
        "evidence": "Describe the evidence you saw (for example the reply you received)."
    }
    assert errors_of(lambda: verify(evidence="e" * (20 * 1024 + 1))) == {
        "evidence": "evidence description is too long (at most 20 KB)"
    }
    assert (load_request(db, rid).version, entries(db, rid)) == (1, [])


# --- assign -----------------------------------------------------------------------------------


def test_assign_records_the_owner_and_the_previous_one(db, staff):
    rid = new_request(db)
    for version, assignee, now in (
        (1, staff.officer2.id, NOW),
        (2, str(staff.admin.id), LATER),  # a form sends the id as text
        (3, "", LATER + timedelta(hours=1)),
    ):
        with session_scope(db) as s:
            wf.assign(s, rid, version, staff.officer, assignee_id=assignee, now=now)
    assert load_request(db, rid).assignee_id is None
    assert entries(db, rid) == [
        (
            NOW,
            "olivia",
            "privacy_request.assign",
            "privacy_request",
            str(rid),
            {
                "status": "received",
                "version": 2,
                "assignee_id": staff.officer2.id,
                "previous": None,
            },
        ),
        (
            LATER,
            "olivia",
            "privacy_request.assign",
            "privacy_request",
            str(rid),
            {
                "status": "received",
                "version": 3,
                "assignee_id": staff.admin.id,
                "previous": staff.officer2.id,
            },
        ),
        (
            LATER + timedelta(hours=1),
            "olivia",
            "privacy_request.assign",
            "privacy_request",
            str(rid),
            {"status": "received", "version": 4, "assignee_id": None, "previous": staff.admin.id},
        ),
    ]


@pytest.mark.parametrize("nobody", [None, "", "none"])
def test_every_way_of_saying_nobody_unassigns(db, staff, nobody):
    rid = new_request(db, assignee_id=staff.officer.id)
    with session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=nobody, now=NOW)
    assert (load_request(db, rid).assignee_id, load_request(db, rid).version) == (None, 2)


def test_assign_error_messages(db, staff):
    rid = new_request(db, assignee_id=staff.officer.id)
    with session_scope(db) as s:
        retired = s.scalar(select(User).where(User.username == "oscar"))
        retired.active = False

    def assign(assignee):
        with session_scope(db) as s:
            wf.assign(s, rid, 1, staff.officer, assignee_id=assignee, now=NOW)

    not_staff = {"assignee": "choose an active privacy officer or admin"}
    assert errors_of(lambda: assign(staff.manager.id)) == not_staff
    assert errors_of(lambda: assign(staff.officer2.id)) == not_staff  # deactivated
    assert errors_of(lambda: assign(2**31 - 1)) == not_staff  # the largest id: no such user
    assert errors_of(lambda: assign(staff.officer.id)) == {
        "assignee": "the request is already assigned that way"
    }
    assert errors_of(lambda: assign("abc")) == {"assignee": "assignee must be a whole number"}
    for out_of_range in (0, 2**31):
        assert errors_of(lambda n=out_of_range: assign(n)) == {
            "assignee": "assignee must be between 1 and 2147483647"
        }
    assert (load_request(db, rid).version, entries(db, rid)) == (1, [])


def test_assignable_users_are_the_active_privacy_staff_by_name(db, staff):
    with session_scope(db) as s:
        s.scalar(select(User).where(User.username == "oscar")).active = False
    with session_scope(db) as s:
        assert wf.assignable_users(s) == [(staff.admin.id, "ada"), (staff.officer.id, "olivia")]


# --- notes ------------------------------------------------------------------------------------


def test_a_note_row_and_its_audit_entry(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        note = wf.add_note(s, rid, 1, staff.officer2, text="  Called back, no answer ", now=NOW)
        note_id = note.id
    with session_scope(db) as s:
        row = s.get(PrivacyRequestNote, note_id)
        assert (row.request_id, row.author_id, row.at, row.text) == (
            rid,
            staff.officer2.id,
            NOW,
            "Called back, no answer",
        )
    assert entries(db, rid) == [
        (
            NOW,
            "oscar",
            "privacy_request.note",
            "privacy_request",
            str(rid),
            {"status": "received", "version": 2, "note_id": note_id, "chars": 22},
        )
    ]
    with session_scope(db) as s:
        assert errors_of(lambda: wf.add_note(s, rid, 2, staff.officer, text=" ")) == {
            "note": "Write the note before adding it."
        }
        assert errors_of(
            lambda: wf.add_note(s, rid, 2, staff.officer, text="n" * (20 * 1024 + 1))
        ) == {"note": "note is too long (at most 20 KB)"}


# --- extend -----------------------------------------------------------------------------------


def test_extend_records_reason_notice_and_new_due_date(db, staff):
    rid = new_request(db)
    with session_scope(db) as s:
        wf.extend(
            s,
            rid,
            1,
            staff.officer,
            days="14",
            reason=" Records are archived off site ",
            notice_date="2026-05-30 09:15",
            now=NOW,
        )
    req = load_request(db, rid)
    assert (
        req.extended,
        req.extension_reason,
        req.extension_notice_at,
        req.due_at,
        req.original_due_at,
    ) == (
        True,
        "Records are archived off site",
        datetime(2026, 5, 30, 7, 15),  # 09:15 in Johannesburg, stored in UTC
        datetime(2026, 7, 12, 12, 0),  # 28 June + 14 days
        DUE,
    )
    assert entries(db, rid) == [
        (
            NOW,
            "olivia",
            "privacy_request.extend",
            "privacy_request",
            str(rid),
            {
                "status": "received",
                "version": 2,
                "days": 14,
                "due_at": "2026-07-12T12:00:00",
                "notice_at": "2026-05-30T07:15:00",
            },
        )
    ]


def test_extend_error_messages(db, staff):
    rid = new_request(db)

    def extend(**fields):
        params = {"days": 10, "reason": "busy", "notice_date": "2026-05-30"}
        params.update(fields)
        with session_scope(db) as s:
            wf.extend(s, rid, 1, staff.officer, now=NOW, **params)

    assert errors_of(lambda: extend(days=31, reason="", notice_date="")) == {
        "days": "Enter the number of days, from 1 to 30.",
        "reason": "Give the reason for the extension.",
        "notice_date": "Enter the date the requester was told about the extension.",
    }
    # 999, nothing, and not a number all get the message that states the range
    for days in (999, None, "", "ten", 0, True):
        assert errors_of(lambda d=days: extend(days=d)) == {
            "days": "Enter the number of days, from 1 to 30."
        }
    assert errors_of(lambda: extend(notice_date="someday")) == {
        "notice_date": "Enter the date the requester was told about the extension."
    }
    assert errors_of(lambda: extend(notice_date="2026-06-02")) == {
        "notice_date": "notice date cannot be in the future"
    }
    # The day the request arrived is the earliest notice date, whatever the hour.
    assert errors_of(lambda: extend(notice_date="2026-05-28 23:59")) == {
        "notice_date": "notice date cannot be before the request arrived"
    }
    assert (load_request(db, rid).extended, entries(db, rid)) == (False, [])
    extend(notice_date="2026-05-29 08:00")  # before the hour of receipt, on its day: accepted
    assert load_request(db, rid).extension_notice_at == datetime(2026, 5, 29, 6, 0)  # UTC


# --- deny -------------------------------------------------------------------------------------


def test_deny_records_reason_response_and_note(db, staff):
    rid = new_request(db, status="verifying", verification_outcome="failed")
    with session_scope(db) as s:
        wf.deny(
            s,
            rid,
            1,
            staff.officer,
            reason="identity_not_verified",
            response_text=" We could not confirm who you are. ",
            note=" two failed calls ",
            now=NOW,
        )
    req = load_request(db, rid)
    assert (
        req.status,
        req.denial_reason,
        req.response_text,
        req.resolution_note,
        req.closed_at,
    ) == (
        "denied",
        "identity_not_verified",
        "We could not confirm who you are.",
        "two failed calls",
        NOW,
    )
    assert entries(db, rid) == [
        (
            NOW,
            "olivia",
            "privacy_request.deny",
            "privacy_request",
            str(rid),
            {"status": "denied", "version": 2, "reason": "identity_not_verified"},
        )
    ]


def test_deny_error_messages(db, staff):
    rid = new_request(db)

    def deny(**fields):
        with session_scope(db) as s:
            wf.deny(s, rid, 1, staff.officer, now=NOW, **fields)

    assert errors_of(lambda: deny(reason="because", response_text="", note="x" * 200_000)) == {
        "reason": "Choose the reason for the denial.",
        "response_text": "Write the text sent to the requester.",
        "note": "resolution note is too long (at most 20 KB)",
    }
    assert errors_of(lambda: deny(reason=None, response_text="No.")) == {
        "reason": "Choose the reason for the denial."
    }
    with pytest.raises(wf.TransitionRefused) as exc:
        deny(reason="identity_not_verified", response_text="No.")
    assert str(exc.value) == (
        "“Identity not verified” needs a failed or expired verification on record."
    )
    assert (load_request(db, rid).status, entries(db, rid)) == ("received", [])


# --- complete ---------------------------------------------------------------------------------


def test_complete_records_the_answer(db, staff):
    rid = new_request(db, no_record_found=True)
    with session_scope(db) as s:
        wf.complete(
            s,
            rid,
            1,
            staff.officer2,
            resolution_note=" Nothing held ",
            response_text=" We hold nothing about you. ",
            now=NOW,
        )
    req = load_request(db, rid)
    assert (req.status, req.resolution_note, req.response_text, req.closed_at) == (
        "completed",
        "Nothing held",
        "We hold nothing about you.",
        NOW,
    )
    assert entries(db, rid) == [
        (
            NOW,
            "oscar",
            "privacy_request.complete",
            "privacy_request",
            str(rid),
            {"status": "completed", "version": 2},
        )
    ]


def test_complete_error_messages(db, staff):
    rid = new_request(db, no_record_found=True)
    with session_scope(db) as s:
        assert errors_of(
            lambda: wf.complete(
                s, rid, 1, staff.officer, resolution_note=" ", response_text=None, now=NOW
            )
        ) == {
            "resolution_note": "Write the internal resolution note.",
            "response_text": "Write the text sent to the requester.",
        }


def test_the_package_gate_on_completion_counts_this_requests_downloads_only(db, staff):
    """An access request with a subject completes only after *its own* package was downloaded:
    a download of another request's package, or a preview, does not count."""
    rid = new_request(
        db,
        type="access",
        subject_type="homeowner",
        subject_id=1,
        status="in_progress",
        verification_outcome="verified",
    )
    other = new_request(db, type="access", subject_type="homeowner", subject_id=1)
    with session_scope(db) as s:
        for object_type, object_id, action in (
            ("privacy_request", other, "privacy_request.access_package.download"),
            ("privacy_request", rid, "privacy_request.access_package.preview"),
            ("lead", rid, "privacy_request.access_package.download"),
        ):
            s.add(
                AuditLog(
                    at=NOW,
                    actor="olivia",
                    action=action,
                    object_type=object_type,
                    object_id=str(object_id),
                )
            )
    with session_scope(db) as s:
        assert wf.package_downloads(s, rid) == 0
        assert wf.package_downloads(s, other) == 1
    with pytest.raises(wf.TransitionRefused) as exc, session_scope(db) as s:
        wf.complete(s, rid, 1, staff.officer, resolution_note="n", response_text="r", now=NOW)
    assert str(exc.value) == "Download the access package before completing the request."
    with session_scope(db) as s:
        s.add(
            AuditLog(
                at=NOW,
                actor="olivia",
                action="privacy_request.access_package.download",
                object_type="privacy_request",
                object_id=str(rid),
            )
        )
    with session_scope(db) as s:
        assert wf.package_downloads(s, rid) == 1
        wf.complete(s, rid, 1, staff.officer, resolution_note="n", response_text="r", now=NOW)
    assert load_request(db, rid).status == "completed"


# --- the 30-day unverified close --------------------------------------------------------------


def test_close_unverified_records_the_close(db, staff):
    rid = new_request(db, received_at=NOW - timedelta(days=31))
    with session_scope(db) as s:
        wf.close_unverified(s, rid, 1, staff.officer, now=NOW)
    req = load_request(db, rid)
    assert (req.status, req.closed_at, req.version) == ("unverified", NOW, 2)
    assert entries(db, rid) == [
        (
            NOW,
            "olivia",
            "privacy_request.close_unverified",
            "privacy_request",
            str(rid),
            {"status": "unverified", "version": 2},
        )
    ]


def test_stale_unverified_lists_by_id_with_versions_at_the_exact_cutoff(db, staff):
    cutoff = NOW - timedelta(days=30)
    # Inserted out of id order of age, so that the id order is what the list follows.
    exactly = new_request(db, received_at=cutoff, version=3)
    older = new_request(db, received_at=cutoff - timedelta(days=5), status="verifying")
    new_request(db, received_at=cutoff + timedelta(seconds=1))  # one second too young
    new_request(db, received_at=cutoff - timedelta(days=5), status="in_progress")
    new_request(db, received_at=cutoff - timedelta(days=5), status="denied", closed_at=NOW)
    with session_scope(db) as s:
        assert wf.stale_unverified(s, NOW) == [(exactly, 3), (older, 1)]


def test_the_sweep_stamps_its_own_time_and_goes_past_a_request_it_cannot_close(db, staff):
    cutoff = NOW - timedelta(days=30)
    first = new_request(db, received_at=cutoff - timedelta(days=1))
    second = new_request(db, received_at=cutoff - timedelta(days=2))
    third = new_request(db, received_at=cutoff - timedelta(days=3))
    original = wf.close_unverified
    calls = []

    def racing_close(session, request_id, version, actor, *, now=None):
        calls.append(request_id)
        if request_id == second:  # another officer acted on it a moment ago
            raise wf.StaleRequest()
        return original(session, request_id, version, actor, now=now)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(wf, "close_unverified", racing_close)
        with session_scope(db) as s:
            closed = wf.close_all_unverified(s, wf.SYSTEM, now=NOW)
    assert calls == [first, second, third]
    assert closed == [first, third]
    assert [
        (load_request(db, r).status, load_request(db, r).closed_at) for r in (first, second, third)
    ] == [
        ("unverified", NOW),
        ("received", None),
        ("unverified", NOW),
    ]
    assert [e[0] for e in entries(db, first) + entries(db, third)] == [NOW, NOW]


def test_the_confirmed_sweep_closes_only_the_requests_it_listed(db, staff):
    """``only``: the officer confirmed a list; a request due but not on it stays open, one on
    it that is no longer due (verified meanwhile) is not touched."""
    listed = new_request(db, received_at=NOW - timedelta(days=31))
    unlisted = new_request(db, received_at=NOW - timedelta(days=45))
    verified = new_request(
        db,
        received_at=NOW - timedelta(days=50),
        status="in_progress",
        verification_outcome="verified",
    )
    fresh = new_request(db, received_at=NOW - timedelta(days=29))
    with session_scope(db) as s:
        closed = wf.close_all_unverified(
            s, staff.officer, now=NOW, only={listed, verified, fresh, 999999}
        )
    assert closed == [listed]
    assert [
        (load_request(db, r).status, load_request(db, r).closed_at, load_request(db, r).version)
        for r in (listed, unlisted, verified, fresh)
    ] == [
        ("unverified", NOW, 2),
        ("received", None, 1),
        ("in_progress", None, 1),
        ("received", None, 1),
    ]
    assert entries(db, listed) == [
        (
            NOW,
            "olivia",
            "privacy_request.close_unverified",
            "privacy_request",
            str(listed),
            {"status": "unverified", "version": 2},
        )
    ]
    assert entries(db, unlisted) == []
    with session_scope(db) as s:
        assert wf.close_all_unverified(s, staff.officer, now=NOW, only=set()) == []
    assert load_request(db, unlisted).status == "received"


def test_the_sweep_is_for_privacy_roles_only(db, staff):
    new_request(db, received_at=NOW - timedelta(days=40))
    with pytest.raises(wf.NotAllowed), session_scope(db) as s:
        wf.close_all_unverified(s, staff.manager, now=NOW)


# --- without an explicit clock ----------------------------------------------------------------


def test_transitions_stamp_the_wall_clock_when_no_time_is_given(db, staff):
    rid = new_request(db, received_at=utcnow() - timedelta(days=40))
    before = utcnow()
    with session_scope(db) as s:
        wf.assign(s, rid, 1, staff.officer, assignee_id=staff.officer2.id)
    with session_scope(db) as s:
        wf.close_unverified(s, rid, 2, staff.officer)
    after = utcnow()
    stamps = [e[0] for e in entries(db, rid)]
    assert len(stamps) == 2 and all(before <= at <= after for at in stamps)
    assert before <= load_request(db, rid).closed_at <= after


# --- lookups and refusals ---------------------------------------------------------------------


def test_requests_of_subject_are_that_subjects_oldest_first(db, staff):
    """Homeowner 5 and partner 5 share an id: only the type tells their requests apart. Two
    requests received at the same instant come in id order."""
    late = new_request(db, subject_type="homeowner", subject_id=5, received_at=NOW)
    first = new_request(db, subject_type="homeowner", subject_id=5, received_at=RECEIVED)
    same_time = new_request(db, subject_type="homeowner", subject_id=5, received_at=NOW)
    new_request(db, subject_type="partner", subject_id=5, received_at=RECEIVED)
    new_request(db, subject_type="homeowner", subject_id=6, received_at=RECEIVED)
    with session_scope(db) as s:
        found = [r.id for r in wf.requests_of_subject(s, "homeowner", 5)]
    assert found == [first, late, same_time]


def test_the_messages_of_a_stale_version_and_an_unknown_request(db, staff):
    rid = new_request(db)
    with pytest.raises(wf.StaleRequest) as exc, session_scope(db) as s:
        wf.add_note(s, rid, 2, staff.officer, text="x", now=NOW)
    assert str(exc.value) == (
        "This request changed since you opened it (another officer acted on it). "
        "Reload the page to see the latest state; nothing was applied."
    )
    with pytest.raises(wf.NotFound) as exc, session_scope(db) as s:
        wf.add_note(s, 4242, 1, staff.officer, text="x", now=NOW)
    assert str(exc.value) == "There is no privacy request #4242."
    with pytest.raises(wf.NotAllowed) as exc, session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.manager, text="x", now=NOW)
    assert str(exc.value) == "Only a privacy officer or an administrator may do this."


def test_no_record_found_needs_no_package_even_with_a_subject_on_file(db, staff):
    """The package gate applies to an access request about a matched subject for whom records
    were found; a "no record found" answer completes without one."""
    rid = new_request(
        db, type="access", subject_type="homeowner", subject_id=1, no_record_found=True
    )
    with session_scope(db) as s:
        wf.complete(s, rid, 1, staff.officer, resolution_note="n", response_text="r", now=NOW)
    assert load_request(db, rid).status == "completed"


def test_a_transition_sees_the_row_as_updated_even_if_the_session_held_it(db, staff):
    """The officer's session may already hold the request (the page loaded it): the transition
    works on the row as it is after the version bump, not on the stale copy."""
    rid = new_request(db)
    with session_scope(db) as s:
        held = s.get(PrivacyRequest, rid)
        assert held.version == 1
        req = wf.assign(s, rid, 1, staff.officer, assignee_id=staff.officer2.id, now=NOW)
        assert req is held and req.version == 2
    assert entries(db, rid)[0][5] == {
        "status": "received",
        "version": 2,
        "assignee_id": staff.officer2.id,
        "previous": None,
    }
