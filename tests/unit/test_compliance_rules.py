"""Each compliance rule (``data.compliance``) against a world holding its violations and its
near misses, with the expected violations listed by hand.

Window: 1–31 March 2026 (SA days: 2026-02-28 22:00 UTC up to 2026-03-31 22:00 UTC);
now = 2026-03-31 12:00 UTC (SA today 31 March, which begins 2026-03-30 22:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from data.compliance import consent_rules, records
from data.compliance.common import Window
from data.compliance.monitor import violation_counts, violation_list
from data.db import session_scope
from data.do_not_contact import suppression_digest, suppression_key
from data.erasure import retention
from data.models import Suppression
from tests.consent_support import consent, interaction
from tests.factories import (
    add_homeowner,
    add_lead,
    add_partner,
    add_privacy_request,
    add_review,
    add_share,
    base_rows,
)

NOW = datetime(2026, 3, 31, 12)
W = Window(datetime(2026, 2, 28, 22), datetime(2026, 3, 31, 22), NOW)
JAN = datetime(2026, 1, 1)
SEC = timedelta(seconds=1)


def _ids(session, query) -> set[tuple]:
    return {(r.object_type, r.object_id, r.detail) for r in session.execute(query)}


@pytest.fixture
def marketing_world(db):
    wd = datetime(2026, 3, 10, 12)
    ids = {}
    with session_scope(db) as s:
        h = add_homeowner(s)
        p = add_partner(s)
        consent(s, h.id, "marketing_email", True, JAN)
        consent(s, h.id, "marketing_email", False, wd, source="email")
        consent(s, h.id, "marketing_email", True, wd + timedelta(days=2))
        consent(s, p.id, "marketing_whatsapp", False, wd, subject_type="partner")

        def mk(name, at, **kw):
            ids[name] = interaction(s, at, homeowner_id=h.id, purpose="marketing", **kw).id

        mk("second_before", wd - SEC)  # not a violation
        mk("same_instant", wd)
        mk("hour_after", wd + timedelta(hours=1))
        mk("phone_never_asked", wd + timedelta(hours=1), channel="call")  # not: never withdrawn
        mk("after_regrant", wd + timedelta(days=3))  # not: granted again
        mk("before_window", datetime(2026, 2, 28, 21, 59))  # outside the window
        ids["service"] = interaction(s, wd + timedelta(hours=1), homeowner_id=h.id).id  # not
        ids["partner"] = interaction(
            s,
            wd + timedelta(days=1),
            partner_id=p.id,
            parties="partner-staff",
            channel="whatsapp",
            purpose="marketing",
        ).id
    return ids


def test_marketing_after_withdrawal(db, marketing_world):
    ids = marketing_world
    with session_scope(db) as s:
        got = _ids(s, consent_rules.marketing_after_withdrawal(W))
        subjects = {r.subject_type for r in s.execute(consent_rules.marketing_after_withdrawal(W))}
    assert got == {
        ("interaction", ids["same_instant"], "marketing_email"),
        ("interaction", ids["hour_after"], "marketing_email"),
        ("interaction", ids["partner"], "marketing_whatsapp"),
    }
    assert subjects == {"homeowner", "partner"}


@pytest.fixture
def recording_world(db):
    r = datetime(2026, 3, 12, 9)
    ids = {}
    with session_scope(db) as s:
        h = add_homeowner(s)
        other = add_homeowner(s)
        consent(s, h.id, "call_recording", True, r, source="phone")
        consent(s, h.id, "call_recording", False, r + timedelta(days=2), source="phone")

        def call(name, at, who=h.id, recorded=True, **kw):
            ids[name] = interaction(
                s, at, homeowner_id=who, channel="call", recorded=recorded, **kw
            ).id

        call("second_before_grant", r - SEC)
        call("at_grant", r)  # not
        call("day_after_grant", r + timedelta(days=1))  # not
        call("after_withdrawal", r + timedelta(days=3))
        call("unrecorded", r, who=other.id, recorded=False)  # not
        call("ref_only", r, who=other.id, recorded=False, recording_ref="rec/1.ogg")  # not
        ids["partner_call"] = interaction(
            s, r, partner_id=add_partner(s).id, parties="partner-staff", recorded=True
        ).id  # not: partners are not checked
    return ids


def test_recordings_without_consent(db, recording_world):
    ids = recording_world
    with session_scope(db) as s:
        got = _ids(s, consent_rules.recordings_without_consent(W))
    assert got == {
        ("interaction", ids["second_before_grant"], "never_asked"),
        ("interaction", ids["after_withdrawal"], "withdrawn"),
    }


@pytest.fixture
def share_world(db):
    t = datetime(2026, 3, 14, 8)
    ids = {}
    with session_scope(db) as s:
        rows = base_rows(s, partners=4)
        partners = rows.partners

        def share(name, homeowner, at, partner=0):
            lead = add_lead(s, rows, homeowner_id=homeowner.id, created_at=at - timedelta(hours=1))
            ids[name] = add_share(s, rows, lead, partners[partner], shared_at=at).id

        withdrew = add_homeowner(s)
        consent(s, withdrew.id, "share_with_partners", True, JAN)
        consent(s, withdrew.id, "share_with_partners", False, t, source="email")
        consent(s, withdrew.id, "share_with_partners", True, t + timedelta(days=2))
        share("second_before", withdrew, t - SEC)  # not
        share("hour_after", withdrew, t + timedelta(hours=1))
        share("after_regrant", withdrew, t + timedelta(days=3))  # not

        no_service = add_homeowner(s)
        consent(s, no_service.id, "service_contact", False, t, source="privacy_request")
        share("service_withdrawn", no_service, t + timedelta(days=1))

        requested = add_homeowner(s)
        add_privacy_request(
            s, type="service_opt_out", subject_type="homeowner", subject_id=requested.id,
            received_at=t, status="in_progress",
        )  # fmt: skip
        share("request_before", requested, t - SEC)  # not
        share("request_after", requested, t + timedelta(hours=1))

        denied = add_homeowner(s)
        add_privacy_request(
            s, type="service_opt_out", subject_type="homeowner", subject_id=denied.id,
            received_at=t, status="denied",
        )  # fmt: skip
        share("denied_request", denied, t + timedelta(hours=1))  # not

        fine = add_homeowner(s)
        consent(s, fine.id, "share_with_partners", True, JAN)
        share("fine", fine, t)  # not
    return ids


def test_shares_after_withdrawal(db, share_world):
    ids = share_world
    with session_scope(db) as s:
        got = _ids(s, consent_rules.shares_after_withdrawal(s, W))
    assert got == {
        ("lead_share", ids["hour_after"], "share_with_partners"),
        ("lead_share", ids["service_withdrawn"], "service_contact"),
        ("lead_share", ids["request_after"], "service_opt_out_request"),
    }


def test_past_retention_uses_the_sweep_rules(db):
    homeowner_cut = datetime(2024, 3, 31, 12)
    recording_cut = datetime(2025, 9, 30, 12)
    with session_scope(db) as s:
        due = add_homeowner(s, last_activity_at=homeowner_cut - SEC).id
        add_homeowner(s, last_activity_at=homeowner_cut + SEC)
        old = interaction(s, recording_cut - SEC, recorded=True, recording_ref="a.ogg").id
        interaction(s, recording_cut + SEC, recorded=True, recording_ref="b.ogg")
        periods = retention.periods(s)
        got = _ids(s, records.past_retention(W, periods))
    assert got == {("homeowner", due, "homeowners"), ("interaction", old, "recordings")}


def test_past_retention_around_the_cutoffs_equals_the_sweep(db):
    """Erased and kept homeowners on both sides of the cut-off, the homeowners the sweep must
    leave (legal hold, dispute, open request, the placeholder), and recordings kept or already
    cleared: the monitor lists exactly the due ones, and the sweep's own ids are the same."""
    cut = datetime(2024, 3, 31, 12)  # 24 months before NOW
    recording_cut = datetime(2025, 9, 30, 12)  # 6 months before NOW
    with session_scope(db) as s:
        rows = base_rows(s)

        def homeowner(at, **kw):
            return add_homeowner(s, last_activity_at=at, **kw).id

        due = {
            homeowner(cut - SEC),
            homeowner(cut - timedelta(days=400)),
            homeowner(cut - SEC, legal_hold="  "),  # a blank hold is no hold
            homeowner(cut - SEC, email=None, phone=None),
        }
        homeowner(cut)  # at the cut-off: not yet
        homeowner(cut + SEC)
        homeowner(cut - SEC, erased_at=NOW - timedelta(days=3))  # erased already
        homeowner(cut - timedelta(days=400), erased_at=cut)
        homeowner(cut + SEC, erased_at=NOW)
        homeowner(cut - SEC, legal_hold="Court order")
        homeowner(cut - SEC, source_site="erased-placeholder")
        disputed = homeowner(cut - SEC)
        add_review(s, rows, add_lead(s, rows, homeowner_id=disputed), dispute=True)
        undisputed = homeowner(cut - SEC)
        add_review(s, rows, add_lead(s, rows, homeowner_id=undisputed))
        due.add(undisputed)
        asking = homeowner(cut - SEC)
        add_privacy_request(s, subject_type="homeowner", subject_id=asking,
                            received_at=NOW - timedelta(days=2), status="in_progress")  # fmt: skip
        answered = homeowner(cut - SEC)
        add_privacy_request(s, subject_type="homeowner", subject_id=answered, status="completed",
                            received_at=NOW - timedelta(days=40), closed_at=NOW)  # fmt: skip
        due.add(answered)
        kept = interaction(s, recording_cut - SEC, recorded=True, recording_ref="c.ogg").id
        interaction(s, recording_cut - timedelta(days=30), recorded=False)  # cleared
        interaction(s, recording_cut, recorded=True, recording_ref="d.ogg")  # not yet
        periods = retention.periods(s)
        got = _ids(s, records.past_retention(W, periods))
        rule = retention.RULE_BY_CODE["homeowners"]
        swept = retention.due_ids(s, rule, retention.cutoff(rule, 24, NOW), 100)
    assert got == {("homeowner", h, "homeowners") for h in due} | {
        ("interaction", kept, "recordings")
    }
    assert sorted(swept) == sorted(due)


def test_suppressed_reappearing(db):
    with session_scope(db) as s:
        for kind, value, reason, at in (
            ("email", "gone@example.co.za", "erasure", datetime(2026, 2, 1)),
            ("phone", "082 555 0101", "service_opt_out", datetime(2026, 2, 1)),
            ("email", "late@example.co.za", "objection", datetime(2026, 3, 20)),
        ):
            s.add(Suppression(kind=kind, digest=suppression_digest(kind, value, suppression_key()),
                              reason=reason, created_at=at))  # fmt: skip
        erased = add_homeowner(s, email="gone@example.co.za", created_at=datetime(2026, 3, 5)).id
        opted = add_homeowner(s, phone="+27825550101", created_at=datetime(2026, 3, 6)).id
        add_homeowner(s, email="late@example.co.za", created_at=datetime(2026, 3, 10))  # not
        add_homeowner(s, created_at=datetime(2026, 3, 10))  # not: no match
        add_homeowner(s, email="gone@example.co.za", created_at=datetime(2026, 2, 20))  # window
        got = _ids(s, records.suppressed_reappearing(W))
        assert s.scalar(select(Suppression.id).limit(1)) is not None
    assert got == {("homeowner", erased, "erased_earlier"), ("homeowner", opted, "opted_out")}


def test_access_past_due_is_the_deemed_refusal(db):
    today_starts = datetime(2026, 3, 30, 22)
    with session_scope(db) as s:

        def req(due, **kw):
            values = {"type": "access", "status": "in_progress"} | kw
            return add_privacy_request(
                s, received_at=due - timedelta(days=30), due_at=due, **values
            ).id

        overdue = req(today_starts - SEC)
        req(today_starts)  # due today: not yet
        req(today_starts - timedelta(days=3), status="completed")  # answered
        req(today_starts - timedelta(days=3), type="erasure")  # not an access request
        got = _ids(s, records.access_past_due(W))
    assert got == {("privacy_request", overdue, "in_progress")}


def test_monitor_counts_and_lists(db, marketing_world):
    with session_scope(db) as s:
        counts = violation_counts(s, W)
        listed = violation_list(s, "marketing_after_withdrawal", W)
    march = counts[counts.rule == "marketing_after_withdrawal"]
    assert march[["period", "violations"]].values.tolist() == [["2026-03-01", 3]]
    assert set(counts.rule) == {"marketing_after_withdrawal"}
    assert listed.object_id.tolist() == [
        marketing_world["partner"],
        marketing_world["hour_after"],
        marketing_world["same_instant"],
    ]
