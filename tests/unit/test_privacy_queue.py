"""Queue filters, masking, clock colours, the summary (open by type and age, median days to
close, overdue, deemed refusals), the disclosures register and the request page's timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.db import read_connection, session_scope
from data.privacy import workflow as wf
from data.privacy.disclosures import list_disclosures, record_disclosure
from data.privacy.queue import QueueFilters, queue_summary, request_queue
from data.privacy.request_view import load_request_view
from data.privacy.validation import ValidationError
from tests.privacy_support import NOW, add_request, make_staff, make_world

TODAY = NOW.date()


@pytest.fixture
def staff(db):
    with session_scope(db) as s:
        return make_staff(s)


@pytest.fixture
def queue_rows(db, staff):
    """Requests at known points of the clock (received N days before NOW)."""
    made = {}
    with session_scope(db) as s:
        for name, days_ago, fields in [
            ("fresh", 1, {}),
            ("amber", 23, {"type": "objection", "assignee_id": staff.officer.id}),
            ("red", 27, {"status": "verifying"}),
            ("overdue_access", 35, {"status": "in_progress"}),
            ("overdue_erasure", 40, {"type": "erasure"}),
            ("closed", 60, {"status": "completed", "closed_at": NOW - timedelta(days=50)}),
            ("denied", 100, {"status": "denied", "closed_at": NOW - timedelta(days=80)}),
            ("dup", 5, {"status": "duplicate", "closed_at": NOW - timedelta(days=5)}),
        ]:
            made[name] = add_request(s, received_at=NOW - timedelta(days=days_ago), **fields).id
    return made


def queue(db, **filters):
    with read_connection(db) as conn:
        return request_queue(conn, QueueFilters(**filters), TODAY)


def test_default_queue_hides_closed_requests_and_sorts_by_due_date(db, queue_rows):
    df = queue(db)
    assert list(df["id"]) == [
        queue_rows[k] for k in ("overdue_erasure", "overdue_access", "red", "amber", "fresh")
    ]


def test_queue_masks_identifiers_and_colours_days_left(db, queue_rows):
    df = queue(db).set_index("id")
    row = df.loc[queue_rows["fresh"]]
    assert row["subject"] == "T. N. · t***@example.co.za · 082 *** 0101"
    assert "thandi@" not in df.to_json() and "000 0101" not in df.to_json()
    assert (row["days_left"], row["days_class"]) == (29, "days-green")
    assert df.loc[queue_rows["amber"], "days_class"] == "days-amber"
    assert df.loc[queue_rows["red"], "days_class"] == "days-red"
    overdue = df.loc[queue_rows["overdue_access"]]
    assert (overdue["days_label"], overdue["days_class"]) == ("5 days overdue", "days-overdue")
    assert bool(overdue["deemed_refusal"]) is True
    assert bool(df.loc[queue_rows["overdue_erasure"], "deemed_refusal"]) is False


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "objection"}, ["amber"]),
        ({"status": "verifying"}, ["red"]),
        ({"status": "closed"}, ["denied", "closed", "dup"]),
        ({"overdue": True}, ["overdue_erasure", "overdue_access"]),
        ({"due_week": True}, ["red"]),
        ({"unassigned": True}, ["overdue_erasure", "overdue_access", "red", "fresh"]),
    ],
)
def test_queue_filters(db, queue_rows, filters, expected):
    assert list(queue(db, **filters)["id"]) == [queue_rows[k] for k in expected]


def test_queue_filter_by_assignee_and_all(db, queue_rows, staff):
    assert list(queue(db, assignee=staff.officer.id)["id"]) == [queue_rows["amber"]]
    assert len(queue(db, status="all")) == len(queue_rows)


def test_queue_filters_reject_unknown_values():
    with pytest.raises(ValueError):
        QueueFilters(type="nonsense")
    with pytest.raises(ValueError):
        QueueFilters(status="lost")


def test_summary(db, queue_rows):
    with read_connection(db) as conn:
        summary = queue_summary(conn, TODAY)
    assert (summary.open_total, summary.overdue) == (5, 2)
    ages = summary.open_by_type_age
    assert ages.loc["access", "0–9 days"] == 1
    assert ages.loc["access", "20–29 days"] == 1
    assert ages.loc["access", "30+ days"] == 1
    assert ages.loc["objection", "20–29 days"] == 1
    assert ages.loc["erasure", "30+ days"] == 1
    assert ages["total"].sum() == 5
    medians = summary.median_days_to_close.set_index("type")
    # closed: 60 → closed after 10 days; denied: 100 → after 20; duplicates excluded
    assert medians.loc["access", "closed"] == 2 and medians.loc["access", "median_days"] == 15.0
    assert medians.loc["erasure", "closed"] == 0
    assert list(summary.deemed_refusals["id"]) == [queue_rows["overdue_access"]]
    assert summary.deemed_refusals.iloc[0]["days_overdue"] == 5


def test_median_ignores_requests_closed_more_than_a_year_ago(db, staff):
    with session_scope(db) as s:
        add_request(
            s,
            received_at=NOW - timedelta(days=500),
            status="completed",
            closed_at=NOW - timedelta(days=400),
        )
    with read_connection(db) as conn:
        medians = queue_summary(conn, TODAY).median_days_to_close.set_index("type")
    assert medians.loc["access", "closed"] == 0


# --- legal disclosures register ---------------------------------------------------------------

DISCLOSURE = {
    "reference": "SAPS CAS 123/05/2026",
    "authority": "South African Police Service",
    "legal_basis": "Criminal Procedure Act s205 subpoena",
    "data_released": "Name, phone and lead history <b>2025</b>",
    "at": "2026-05-20",
}


def test_record_and_list_disclosures(db, staff):
    with session_scope(db) as s:
        world = make_world(s)
        subject = f"homeowner:{world.subject.id}"
    with session_scope(db) as s:
        record_disclosure(s, staff.officer, {**DISCLOSURE, "subject": subject}, now=NOW)
    with read_connection(db) as conn:
        df = list_disclosures(conn)
        mine = list_disclosures(conn, "homeowner", world.subject.id)
        nobody = list_disclosures(conn, "homeowner", world.other.id)
    assert len(df) == len(mine) == 1 and nobody.empty
    row = df.iloc[0]
    assert (row["subject"], row["recorded_by"]) == (f"homeowner #{world.subject.id}", "olivia")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"authority": "x" * 200}, "authority"),
        ({"legal_basis": None}, "legal_basis"),
        ({"data_released": " "}, "data_released"),
        ({"at": "2026-07-01"}, "at"),
        ({"at": "soon"}, "at"),
        ({"subject": "homeowner:999999"}, "subject"),
        ({"subject": "robot:1"}, "subject"),
    ],
)
def test_disclosure_validation(db, staff, overrides, field):
    with pytest.raises(ValidationError) as exc, session_scope(db) as s:
        record_disclosure(s, staff.officer, {**DISCLOSURE, **overrides}, now=NOW)
    assert field in exc.value.errors


# --- the request page's view ------------------------------------------------------------------


def test_request_view_timeline_lists_actions_notes_disclosures_and_other_requests(db, staff):
    with session_scope(db) as s:
        world = make_world(s)
        sid = world.subject.id
        earlier = add_request(
            s, subject_type="homeowner", subject_id=sid, received_at=NOW - timedelta(days=90)
        ).id
        rid = add_request(
            s, subject_type="homeowner", subject_id=sid, type="objection", received_at=NOW
        ).id
        record_disclosure(s, staff.officer, {**DISCLOSURE, "subject": f"homeowner:{sid}"}, now=NOW)
    with session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.officer, text="<script>x</script> called", now=NOW)
    with session_scope(db) as s:
        wf.extend(
            s,
            rid,
            2,
            staff.officer,
            days=7,
            reason="Archive search",
            notice_date="2026-06-01",
            now=NOW,
        )
    with session_scope(db) as s:
        view = load_request_view(s, rid, now=NOW)
    assert view is not None and view.version == 3
    titles = [e.title for e in view.timeline]
    assert titles[0].startswith("Other request #") and f"#{earlier}" in titles[0]
    assert "Request received by email" in titles
    assert "Internal note" in titles
    assert any(t.startswith("Deadline extended by 7 days") for t in titles)
    assert any(t.startswith("Disclosed to South African Police Service") for t in titles)
    note = next(e for e in view.timeline if e.kind == "note")
    assert note.detail == "<script>x</script> called" and note.actor == "olivia"
    assert "extend" not in view.allowed and "second extension" in view.refusals["extend"]
    assert view.badge is not None and view.badge.days == 37
    assert view.default_purposes == ("marketing_email", "marketing_phone", "marketing_whatsapp")
    assert view.consent["marketing_email"][0] is True


def test_request_view_of_an_unknown_request(db, staff):
    with session_scope(db) as s:
        assert load_request_view(s, 4242, now=NOW) is None
