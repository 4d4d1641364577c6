"""Retention (``data.erasure.retention``): settings, the preview per rule, the sweep in batches,
stop and resume. Dates are written by hand around ``NOW`` = 2026-06-01 12:00 with the default
periods: homeowners 24 months (cut-off 2024-06-01), recordings 6 months (2025-12-01),
unverified 30 days (2026-05-02), closed requests 3 years (2023-06-01)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.erasure import retention
from data.models import AuditLog, Homeowner, Interaction, PrivacyRequest, Setting
from data.privacy.validation import ValidationError
from data.privacy.workflow import NotAllowed
from tests.factories import add_homeowner, add_lead, base_rows
from tests.privacy_support import KEY, NOW, add_request, make_staff

RULE = retention.RULE_BY_CODE


@pytest.fixture
def world(db):
    with session_scope(db) as s:
        staff = make_staff(s)
        rows = base_rows(s)
        ids = {}
        old = add_homeowner(
            s,
            first_name="Ayanda",
            last_name="Old",
            street="3 Long Street",
            last_activity_at=datetime(2024, 5, 1),
            email="ayanda@example.co.za",
        )
        ids["due"] = old.id
        add_lead(s, rows, homeowner_id=old.id, description="Fix the gate for Ayanda Old")
        ids["recent"] = add_homeowner(s, last_activity_at=datetime(2024, 7, 1)).id
        ids["held"] = add_homeowner(
            s, last_activity_at=datetime(2020, 1, 1), legal_hold="Court order"
        ).id
        asking = add_homeowner(s, last_activity_at=datetime(2020, 1, 1))
        ids["asking"] = asking.id
        add_request(s, subject_type="homeowner", subject_id=asking.id, received_at=NOW)
        for name, at in (("old_call", datetime(2025, 11, 1)), ("new_call", datetime(2026, 1, 1))):
            call = Interaction(
                homeowner_id=rows.homeowner.id,
                channel="call",
                parties="homeowner_staff",
                at=at,
                recorded=True,
                recording_ref=f"rec-{name}",
            )
            s.add(call)
            s.flush()
            ids[name] = call.id
        ids["stale"] = add_request(s, received_at=datetime(2026, 4, 1)).id
        ids["fresh"] = add_request(s, received_at=datetime(2026, 5, 20)).id
        ids["closed_old"] = add_request(
            s,
            status="completed",
            received_at=datetime(2022, 12, 1),
            closed_at=datetime(2023, 1, 1),
            message="call me on 082 555 1234",
        ).id
        ids["closed_recent"] = add_request(
            s,
            status="denied",
            received_at=datetime(2023, 12, 1),
            closed_at=datetime(2024, 1, 1),
        ).id
    return staff, ids


def test_cutoffs_are_calendar_months_and_years():
    assert retention.cutoff(RULE["homeowners"], 24, NOW) == datetime(2024, 6, 1, 12, 0)
    assert retention.cutoff(RULE["homeowners"], 1, datetime(2026, 3, 31)) == datetime(2026, 2, 28)
    assert retention.cutoff(RULE["closed_requests"], 3, NOW) == datetime(2023, 6, 1, 12, 0)
    assert retention.cutoff(RULE["unverified"], 30, NOW) == datetime(2026, 5, 2, 12, 0)


def test_preview_counts_and_oldest_per_rule(db, world):
    with session_scope(db) as s:
        found = {p.rule.code: (p.due, p.oldest) for p in retention.preview(s, NOW)}
    assert found == {
        "homeowners": (1, datetime(2024, 5, 1)),
        "recordings": (1, datetime(2025, 11, 1)),
        "unverified": (1, datetime(2026, 4, 1)),
        "closed_requests": (1, datetime(2023, 1, 1)),
    }


def test_the_sweep_does_what_is_due_and_nothing_else(db, world):
    _, ids = world
    seen: list[tuple[str, int, int]] = []
    result = retention.sweep(db, now=NOW, key=KEY, progress=lambda *a: seen.append(a))
    assert result.done == {"homeowners": 1, "recordings": 1, "unverified": 1, "closed_requests": 1}
    assert result.residue == 0 and not result.stopped
    assert seen[-1] == ("closed_requests", 4, 4)
    with session_scope(db) as s:
        assert s.get(Homeowner, ids["due"]).email is None
        assert s.get(Homeowner, ids["due"]).erased_at == NOW
        for kept in ("recent", "held", "asking"):
            assert s.get(Homeowner, ids[kept]).erased_at is None
        assert s.get(Interaction, ids["old_call"]).recording_ref is None
        assert s.get(Interaction, ids["new_call"]).recording_ref == "rec-new_call"
        assert s.get(PrivacyRequest, ids["stale"]).status == "unverified"
        assert s.get(PrivacyRequest, ids["fresh"]).status == "received"
        old = s.get(PrivacyRequest, ids["closed_old"])
        assert (old.given_email, old.message, old.type, old.status) == (
            None,
            None,
            "access",
            "completed",
        )
        assert s.get(PrivacyRequest, ids["closed_recent"]).given_email == "thandi@example.co.za"
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.action.like("retention.%"))))
    assert actions == {
        "retention.homeowners",
        "retention.recordings",
        "retention.unverified",
        "retention.closed_requests",
    }
    again = retention.sweep(db, now=NOW, key=KEY)
    assert again.batches == 0 and sum(again.done.values()) == 0


def test_stop_then_resume(db, world):
    calls = iter([False, True])
    first = retention.sweep(db, now=NOW, key=KEY, should_stop=lambda: next(calls, True))
    assert first.stopped and first.done == {"homeowners": 1}
    second = retention.sweep(db, now=NOW, key=KEY)
    assert second.done == {"homeowners": 0, "recordings": 1, "unverified": 1, "closed_requests": 1}


def test_settings_are_validated_stored_and_used(db, world):
    staff, _ = world
    bad = {"homeowners": "0", "recordings": "x", "unverified": "10", "closed_requests": "3"}
    with session_scope(db) as s, pytest.raises(ValidationError) as caught:
        retention.save_periods(s, staff.officer, bad)
    assert set(caught.value.errors) == {"homeowners", "recordings", "unverified"}
    good = {"homeowners": "12", "recordings": "6", "unverified": "30", "closed_requests": "3"}
    with session_scope(db) as s:
        assert retention.save_periods(s, staff.officer, good) == ["homeowners"]
    with session_scope(db) as s:
        assert s.get(Setting, "retention.homeowner_months").value == "12"
        due = {p.rule.code: p.due for p in retention.preview(s, NOW)}
        # 12 months: the homeowner last active 2024-07-01 is due too (the base row of
        # 2025-01-01 as well: 17 months)
        assert due["homeowners"] == 3
        assert s.scalar(select(func.count()).where(AuditLog.action == "retention.settings")) == 1
    with session_scope(db) as s, pytest.raises(NotAllowed):
        retention.save_periods(s, staff.manager, good)


def test_a_homeowner_blocked_mid_sweep_is_skipped_and_is_not_residue(db, world, monkeypatch):
    """A hold placed between the due query and the erasure: that homeowner alone is skipped and
    left as it was (the set-wise batch erases the other one), nothing is reported as residue,
    and once the hold is released it is due for the next sweep."""
    _, ids = world
    with session_scope(db) as s:
        other = add_homeowner(
            s, first_name="Bongani", last_activity_at=datetime(2024, 4, 1), email="b@example.co.za"
        )
        ids["other_due"] = other.id
    real = retention.due_ids

    def hold_placed_meanwhile(session, rule, limit_cutoff, limit):
        found = real(session, rule, limit_cutoff, limit)
        if rule.code == "homeowners":
            session.get(Homeowner, ids["due"]).legal_hold = "Court order"
            session.flush()
        return found

    monkeypatch.setattr(retention, "due_ids", hold_placed_meanwhile)
    result = retention.sweep(db, rules=("homeowners",), now=NOW, key=KEY)
    assert (result.done, result.skipped, result.residue) == (
        {"homeowners": 1},
        {"homeowners": 1},
        0,
    )
    with session_scope(db) as s:
        kept = s.get(Homeowner, ids["due"])
        assert (kept.email, kept.erased_at) == ("ayanda@example.co.za", None)
        erased = s.get(Homeowner, ids["other_due"])
        assert (erased.first_name, erased.email, erased.erased_at) == (None, None, NOW)
        kept.legal_hold = None
    with session_scope(db) as s:
        assert retention.preview(s, NOW)[0].due == 1
