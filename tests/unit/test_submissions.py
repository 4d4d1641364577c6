"""One-time submission tokens (``data.submissions``): a create form is applied at most once.

The concurrency test is the issue's proof: the same intake sent twice at the same moment, on
two connections, gives one request on SQLite and on PostgreSQL (run the file with
``TEST_DATABASE_URL`` for the latter). Expected values are written out by hand.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.models import AuditLog, LegalDisclosure, PrivacyRequest, SubmissionToken, User
from data.privacy.disclosures import SUBJECT_REQUIRED, record_disclosure
from data.privacy.intake import log_request, validate_intake
from data.privacy.validation import ValidationError
from data.submissions import STALE_FORM, AlreadySubmitted, SubmissionError, check_token, new_token
from data.users import UserError, create_user
from tests.privacy_support import NOW, make_staff, make_world

TOKEN = "tok_0123456789abcdef"  # 20 url-safe characters
INTAKE = {
    "type": "access",
    "channel": "phone",
    "received_at": "2026-05-30T09:15",
    "name": "Thandi Nkosi",
    "email": "",
    "phone": "082 000 0101",
    "message": "What do you hold about me?",
}
DISCLOSURE = {
    "reference": "SAPS CAS 123/05/2026",
    "authority": "South African Police Service",
    "legal_basis": "s205 subpoena",
    "data_released": "phone number",
    "at": "2026-05-20",
}


@pytest.fixture
def setup(db):
    with session_scope(db) as s:
        staff = make_staff(s)
        world = make_world(s)
        return staff, world


def count(db, model) -> int:
    with session_scope(db) as s:
        return s.scalar(select(func.count()).select_from(model))


def token_rows(db) -> list[tuple]:
    with session_scope(db) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    SubmissionToken.token,
                    SubmissionToken.form,
                    SubmissionToken.actor,
                    SubmissionToken.object_type,
                    SubmissionToken.object_id,
                    SubmissionToken.at,
                )
            )
        ]


def log(db, staff, world, token):
    form = validate_intake(INTAKE, now=NOW)
    with session_scope(db) as s:
        return log_request(
            s, staff.officer, form, subject=f"homeowner:{world.subject.id}", token=token, now=NOW
        ).id


def test_tokens_are_fresh_and_well_formed():
    first, second = new_token(), new_token()
    assert first != second and len(first) == 22
    assert check_token(first) == first
    for bad in (None, "", "short", "x" * 65, "has space in it 123", 12345678901234567, "<b>" * 8):
        with pytest.raises(SubmissionError) as exc:
            check_token(bad)
        assert str(exc.value) == "This form is out of date. Reload the page and enter it again."
    assert STALE_FORM == "This form is out of date. Reload the page and enter it again."


def test_the_same_intake_twice_logs_one_request(db, setup):
    staff, world = setup
    rid = log(db, staff, world, TOKEN)
    with pytest.raises(AlreadySubmitted) as exc:
        log(db, staff, world, TOKEN)
    assert (exc.value.form, exc.value.object_type, exc.value.object_id) == (
        "privacy_intake",
        "privacy_request",
        rid,
    )
    assert count(db, PrivacyRequest) == 1
    assert token_rows(db) == [(TOKEN, "privacy_intake", "olivia", "privacy_request", rid, NOW)]
    with session_scope(db) as s:
        creates = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "privacy_request.create")
        )
    assert creates == 1
    # a new token (the form reset after success) logs a new request: the repeat is linked
    second = log(db, staff, world, "tok_fedcba9876543210")
    with session_scope(db) as s:
        assert s.get(PrivacyRequest, second).status == "duplicate"


def test_a_refused_submission_frees_its_token(db, setup):
    staff, world = setup
    form = validate_intake(INTAKE, now=NOW)
    with pytest.raises(ValidationError), session_scope(db) as s:
        log_request(s, staff.officer, form, subject="homeowner:999999", token=TOKEN, now=NOW)
    assert token_rows(db) == []
    rid = log(db, staff, world, TOKEN)
    assert token_rows(db) == [(TOKEN, "privacy_intake", "olivia", "privacy_request", rid, NOW)]


def test_the_same_intake_sent_concurrently_logs_one_request(db, setup):
    """Two connections post the same form at once: one request, the other told which one."""
    staff, world = setup
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    lock = threading.Lock()

    def post() -> None:
        form = validate_intake(INTAKE, now=NOW)
        barrier.wait()
        try:
            with session_scope(db) as s:
                outcome: object = log_request(
                    s,
                    staff.officer,
                    form,
                    subject=f"homeowner:{world.subject.id}",
                    token=TOKEN,
                    now=NOW,
                ).id
        except AlreadySubmitted as exc:
            outcome = ("already", exc.object_id)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert count(db, PrivacyRequest) == 1
    with session_scope(db) as s:
        rid = s.scalar(select(PrivacyRequest.id))
    assert sorted(outcomes, key=str) == sorted([rid, ("already", rid)], key=str)


def test_a_disclosure_form_sent_twice_records_one_entry(db, setup):
    staff, world = setup
    raw = {**DISCLOSURE, "subject": f"homeowner:{world.subject.id}"}
    with session_scope(db) as s:
        entry_id = record_disclosure(s, staff.officer, raw, now=NOW, token=TOKEN).id
    with pytest.raises(AlreadySubmitted) as exc, session_scope(db) as s:
        record_disclosure(s, staff.officer, raw, now=NOW, token=TOKEN)
    assert (exc.value.object_type, exc.value.object_id) == ("legal_disclosure", entry_id)
    assert count(db, LegalDisclosure) == 1
    assert token_rows(db) == [
        (TOKEN, "legal_disclosure", "olivia", "legal_disclosure", entry_id, NOW)
    ]


def test_a_disclosure_needs_a_subject(db, setup):
    staff, _ = setup
    with pytest.raises(ValidationError) as exc, session_scope(db) as s:
        record_disclosure(s, staff.officer, DISCLOSURE, now=NOW, token=TOKEN)
    assert exc.value.errors == {
        "subject": "Find the person the information was about and choose them."
    }
    assert SUBJECT_REQUIRED == "Find the person the information was about and choose them."
    assert count(db, LegalDisclosure) == 0 and token_rows(db) == []


def test_an_account_form_sent_twice_creates_one_account(db):
    with session_scope(db) as s:
        uid = create_user(s, "nomsa.d", "correct-horse-1", "manager", "ada", token=TOKEN).id
    with pytest.raises(AlreadySubmitted) as exc, session_scope(db) as s:
        create_user(s, "nomsa.d", "correct-horse-1", "manager", "ada", token=TOKEN)
    assert (exc.value.object_type, exc.value.object_id) == ("user", uid)
    with session_scope(db) as s:
        assert s.scalars(select(User.username)).all() == ["nomsa.d"]
        row = s.get(SubmissionToken, TOKEN)
        assert (row.form, row.actor, row.object_type, row.object_id) == (
            "user_create",
            "ada",
            "user",
            uid,
        )
        assert isinstance(row.at, datetime)


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        (
            "<script>alert(4)</script>",
            "long-enough-password",
            "A username may contain only letters, digits, dots, dashes and underscores.",
        ),
        (
            "two words",
            "long-enough-password",
            "A username may contain only letters, digits, dots, dashes and underscores.",
        ),
        ("nomsa", "short", "The password must be at least 12 characters long."),
        ("nomsa", "elevenchars", "The password must be at least 12 characters long."),
        ("nomsa", "p" * 201, "The password must be at most 200 characters long."),
    ],
)
def test_account_rules_of_the_users_page(db, username, password, message):
    with pytest.raises(UserError) as exc, session_scope(db) as s:
        create_user(s, username, password, "manager", "ada", min_password=12, token=TOKEN)
    assert str(exc.value) == message
    assert count(db, User) == 0 and token_rows(db) == []


def test_twelve_characters_and_every_allowed_character_are_accepted(db):
    with session_scope(db) as s:
        create_user(s, "A.b-c_9", "twelve-chars", "marketing", "ada", min_password=12)
    with session_scope(db) as s:
        assert s.scalars(select(User.username)).all() == ["A.b-c_9"]
