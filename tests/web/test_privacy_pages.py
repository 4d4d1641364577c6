"""The privacy pages through the real app: layouts, every action callback, bad input, stale
versions, the access-package gate, and 403 for roles outside the desk.

Where a page builds an access package, corrects or records an objection, the world is the
crowded one (``crowded``): a second homeowner and a second partner with a row in every
registered table, whose data must be absent from the package and unchanged afterwards."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.models import AuditLog, ConsentEvent, Homeowner, PrivacyRequest, Suppression, User
from data.privacy.workflow import Actor
from data.timeutil import today, utcnow
from tests.conftest import route
from tests.privacy_support import (
    OTHER_MARKER,
    add_request,
    call,
    find_callback,
    make_crowded_world,
    make_world,
    others_rows,
    response_of,
    traces_of_others,
    verified_request,
)


@pytest.fixture
def officer_client(client_for):
    return client_for("privacy_officer")


@pytest.fixture
def world(db, officer_client):
    with session_scope(db) as s:
        return make_world(s)


@pytest.fixture
def crowded(db, officer_client):
    """:func:`make_crowded_world`: the subject plus other people everywhere."""
    with session_scope(db) as s:
        return make_crowded_world(s)


def others_now(db, world) -> dict:
    """Every row of the other people, every column (compare before and after an action)."""
    with db.connect() as conn:
        return others_rows(conn, world.others)


def officer(db) -> Actor:
    with session_scope(db) as s:
        user = s.scalar(select(User).where(User.username == "privacy"))
        return Actor(user.id, user.username, user.role)


def new_request(db, world, **fields) -> int:
    """A request received three days ago (by the real clock: pages use today's date)."""
    fields = {
        "subject_type": "homeowner",
        "subject_id": world.subject.id,
        "received_at": utcnow() - timedelta(days=3),
        **fields,
    }
    with session_scope(db) as s:
        return add_request(s, **fields).id


def req(db, rid) -> PrivacyRequest:
    with session_scope(db) as s:
        return s.get(PrivacyRequest, rid)


def text_of(response) -> str:
    return json.dumps(response_of(response), ensure_ascii=False)


def page(client, dash_app, path: str, search: str = "") -> str:
    """The rendered page as decoded text (Dash's JSON escapes ``/`` and ``<``)."""
    return json.dumps(json.loads(route(client, dash_app, path, search)), ensure_ascii=False)


# --- layouts ----------------------------------------------------------------------------------


def test_queue_page_shows_masked_identifiers_only(db, world, officer_client, dash_app):
    rid = new_request(db, world, message="<script>alert('x')</script>")
    body = page(officer_client, dash_app, "/privacy")
    assert "privacy-queue-grid" in body and f"/privacy/{rid}" in body
    assert "t***@example.co.za" in body and "082 *** 0101" in body
    assert "thandi@example.co.za" not in body and "0820000101" not in body
    assert "dangerously" not in body


@pytest.mark.parametrize(
    ("search", "visible"),
    [("", True), ("?status=closed", False), ("?type=erasure", False), ("?overdue=1", False)],
)
def test_queue_filters_from_the_url(db, world, officer_client, dash_app, search, visible):
    rid = new_request(db, world)
    body = page(officer_client, dash_app, "/privacy", search)
    assert (f"/privacy/{rid})" in body) is visible


@pytest.mark.parametrize("search", ["?type=bogus", "?status=lost", "?assignee=abc", "?overdue=x"])
def test_bad_queue_filters_show_a_message(db, world, officer_client, dash_app, search):
    body = page(officer_client, dash_app, "/privacy", search)
    assert "Showing open requests instead" in body and "privacy-queue-grid" in body


def test_filters_are_written_to_the_url(officer_client, dash_app):
    response = call(
        officer_client,
        dash_app,
        "privacy-filter-type",
        {
            "privacy-filter-type": "access",
            "privacy-filter-status": "all",
            "privacy-filter-assignee": "none",
            "privacy-filter-flags": ["overdue"],
        },
        prop="value",
    )
    search = response_of(response)["privacy-url"]["search"]
    assert search == "?type=access&status=all&assignee=none&overdue=1"


def test_request_page_renders_the_timeline_and_allowed_actions(db, world, officer_client, dash_app):
    rid = new_request(db, world, message="<img src=x onerror=alert(1)>")
    body = page(officer_client, dash_app, f"/privacy/{rid}")
    assert "privacy-request-timeline" in body and "Request received by email" in body
    assert "privacy-request-action-verify" in body
    assert "privacy-request-action-access-package" not in body  # not verified yet
    assert "thandi@example.co.za" in body  # the request page shows identifiers in full
    assert "<img src=x onerror=alert(1)>" in body  # shown as text: a string child, no markup


@pytest.mark.parametrize(
    ("path", "text"), [("/privacy/abc", "not a valid"), ("/privacy/99999", "no privacy request")]
)
def test_request_page_bad_ids(officer_client, dash_app, path, text):
    assert text in page(officer_client, dash_app, path)


# --- intake -----------------------------------------------------------------------------------

INTAKE = {
    "privacy-intake-type": "access",
    "privacy-intake-channel": "phone",
    "privacy-intake-received": "2026-01-10T09:00",
    "privacy-intake-name": "Thandi Nkosi",
    "privacy-intake-email": "",
    "privacy-intake-phone": "082-000-0101",
    "privacy-intake-message": "<b>what do you hold?</b>",
    "privacy-intake-token": "intake_token_0001",
}


def test_intake_finds_candidates_and_logs_the_request(db, world, officer_client, dash_app):
    found = response_of(call(officer_client, dash_app, "privacy-intake-find", INTAKE))
    options = found["privacy-intake-subject"]["options"]
    assert options[0]["value"] == f"homeowner:{world.subject.id}"
    assert "same phone number" in options[0]["label"] and options[-1]["value"] == "none"
    logged = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-intake-submit",
            {**INTAKE, "privacy-intake-subject": options[0]["value"]},
        )
    )
    assert "Logged as request #" in json.dumps(logged)
    with session_scope(db) as s:
        created = s.scalar(select(PrivacyRequest))
        assert (created.subject_id, created.channel, created.status) == (
            world.subject.id,
            "phone",
            "received",
        )
        assert created.message == "<b>what do you hold?</b>"


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"privacy-intake-type": None}, "Request type is required."),
        ({"privacy-intake-email": "nope", "privacy-intake-phone": ""}, "malformed"),
        ({"privacy-intake-phone": "555-1234"}, "not a number we accept"),
        ({"privacy-intake-received": "2099-01-01T00:00"}, "future"),
        ({"privacy-intake-message": "x" * (100 * 1024 + 1)}, "too long"),
    ],
)
def test_intake_bad_input(db, world, officer_client, dash_app, overrides, text):
    found = text_of(call(officer_client, dash_app, "privacy-intake-find", {**INTAKE, **overrides}))
    assert text in found
    logged = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-intake-submit",
            {**INTAKE, **overrides, "privacy-intake-subject": "none"},
        )
    )
    assert text in logged
    with session_scope(db) as s:
        assert s.scalar(select(func.count()).select_from(PrivacyRequest)) == 0


def test_intake_refuses_a_subject_that_was_not_proposed(db, world, officer_client, dash_app):
    forged = {**INTAKE, "privacy-intake-subject": f"homeowner:{world.other.id}"}
    assert "does not match" in text_of(
        call(officer_client, dash_app, "privacy-intake-submit", forged)
    )


# --- actions on a request ---------------------------------------------------------------------


def state(rid, version):
    return {"privacy-request-state": {"id": rid, "version": version}}


def test_verify_then_stale_second_officer(db, world, officer_client, dash_app):
    rid = new_request(db, world)
    values = {
        **state(rid, 1),
        "privacy-request-verify-method": "registered_phone_otp",
        "privacy-request-verify-outcome": "verified",
        "privacy-request-verify-evidence": "Code confirmed",
    }
    out = response_of(call(officer_client, dash_app, "privacy-request-verify-submit", values))
    assert out["privacy-request-state"]["data"] == {"id": rid, "version": 2}
    assert "In progress (verified)" in json.dumps(out["privacy-request-view"])
    stale = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-note-submit",
            {**state(rid, 1), "privacy-request-note-text": "late"},
        )
    )
    assert "changed since you opened it" in stale and "Reload" in stale
    assert req(db, rid).version == 2


def test_extend_once_then_refused(db, world, officer_client, dash_app):
    rid = new_request(db, world)
    values = {
        "privacy-request-extend-days": 10,
        "privacy-request-extend-reason": "Archive search",
        "privacy-request-extend-notice": today().isoformat(),
    }
    first = response_of(
        call(officer_client, dash_app, "privacy-request-extend-submit", {**state(rid, 1), **values})
    )
    assert "Deadline extended" in json.dumps(first["privacy-request-view"])
    assert "second extension is not allowed" in json.dumps(first["privacy-request-view"])
    again = text_of(
        call(officer_client, dash_app, "privacy-request-extend-submit", {**state(rid, 2), **values})
    )
    assert "second extension is not allowed" in again
    assert req(db, rid).version == 2


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ({"privacy-request-extend-notice": "2999-01-01"}, "future"),
        ({"privacy-request-extend-days": 45}, "Enter the number of days, from 1 to 30."),
        ({"privacy-request-extend-days": "999"}, "Enter the number of days, from 1 to 30."),
        ({"privacy-request-extend-days": None}, "Enter the number of days, from 1 to 30."),
        ({"privacy-request-extend-reason": ""}, "Give the reason for the extension."),
    ],
)
def test_extend_bad_input(db, world, officer_client, dash_app, values, text):
    rid = new_request(db, world)
    base = {
        "privacy-request-extend-days": 10,
        "privacy-request-extend-reason": "x",
        "privacy-request-extend-notice": "2026-01-01",
    }
    body = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-extend-submit",
            {**state(rid, 1), **base, **values},
        )
    )
    assert text in body and not req(db, rid).extended


def test_the_access_package_gate_cannot_be_bypassed(db, world, officer_client, dash_app):
    rid = new_request(db, world)  # not verified
    for trigger in ("privacy-request-package-json", "privacy-request-package-html"):
        out = response_of(call(officer_client, dash_app, trigger, {**state(rid, 99), trigger: 1}))
        assert "privacy-request-download" not in out
        assert "verified" in json.dumps(out["privacy-request-package-result"])
    preview = text_of(
        call(officer_client, dash_app, "privacy-request-package-preview", state(rid, 1))
    )
    assert "verified" in preview and "Leaking geyser" not in preview
    with session_scope(db) as s:
        count = select(func.count()).where(AuditLog.action.like("%access_package%"))
        assert s.scalar(count.select_from(AuditLog)) == 0


def test_package_download_and_completion(db, crowded, officer_client, dash_app):
    world = crowded
    others_before = others_now(db, world)
    rid, version = verified_request(
        db, officer(db), type="access", subject_type="homeowner", subject_id=world.subject.id
    )
    out = response_of(
        call(officer_client, dash_app, "privacy-request-package-json", state(rid, version))
    )
    package = json.loads(out["privacy-request-download"]["data"]["content"])
    assert [lead["lead_id"] for lead in package["sections"]["leads"]] == [
        world.ids["lead1"],
        world.ids["lead2"],
    ]
    # The other homeowner and the other partner have a row in every table: none reaches here.
    assert traces_of_others(package, world.others) == []
    assert "OTHER PERSON" not in json.dumps(package)
    html_out = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-package-html",
            {**state(rid, version), "privacy-request-package-html": 1},
        )
    )
    report = html_out["privacy-request-download"]["data"]["content"]
    assert "&lt;script&gt;" in report and "<script>" not in report
    lowered = report.lower()
    assert [m for m in world.others.markers if m in lowered] == []
    assert OTHER_MARKER.lower() not in lowered and "other person" not in lowered
    done = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-complete-submit",
            {
                **state(rid, version),
                "privacy-request-complete-note": "Sent by email",
                "privacy-request-complete-response": "Please find attached",
            },
        )
    )
    assert "The request is completed." in json.dumps(done["privacy-request-view"])
    with session_scope(db) as s:
        actions = s.scalars(
            select(AuditLog.action)
            .where(AuditLog.object_type == "privacy_request", AuditLog.object_id == str(rid))
            .order_by(AuditLog.id)
        ).all()
    assert actions == [
        "privacy_request.verify",
        "privacy_request.access_package.download",
        "privacy_request.access_package.download",
        "privacy_request.complete",
    ]
    assert others_now(db, world) == others_before


def test_objection_records_withdrawals_and_suppression(db, crowded, officer_client, dash_app):
    world = crowded
    others_before = others_now(db, world)
    rid, version = verified_request(
        db, officer(db), type="objection", subject_type="homeowner", subject_id=world.subject.id
    )
    out = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-optout-submit",
            {**state(rid, version), "privacy-request-optout-purposes": ["marketing_email"]},
        )
    )
    assert "Suppression entries added: 2" in out
    with session_scope(db) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 2
        withdrawn = s.execute(
            select(ConsentEvent.subject_type, ConsentEvent.subject_id, ConsentEvent.purpose).where(
                ConsentEvent.granted.is_(False)
            )
        ).all()
        assert withdrawn == [("homeowner", world.subject.id, "marketing_email")]
    # The other homeowner's consent to marketing email, and every other row of theirs, stand.
    assert others_now(db, world) == others_before


def test_correction_through_pattern_matching_fields(db, crowded, officer_client, dash_app):
    world = crowded
    others_before = others_now(db, world)
    rid, version = verified_request(
        db, officer(db), type="correction", subject_type="homeowner", subject_id=world.subject.id
    )
    key = '{"field":["ALL"],"type":"privacy-request-correct-field"}'
    fields = [
        {
            "id": {"type": "privacy-request-correct-field", "field": name},
            "property": "value",
            "value": value,
        }
        for name, value in (("email", "new@example.co.za"), ("last_name", "Nkosi"))
    ]
    ids = [{"id": f["id"], "property": "id", "value": f["id"]} for f in fields]
    callback = dash_app.callback_map[find_callback(dash_app, "privacy-request-correct-submit")]
    assert [s["id"] for s in callback["state"]][:2] == [key, key]
    from tests.conftest import callback_payload

    payload = callback_payload(dash_app, find_callback(dash_app, "privacy-request-correct-submit"))
    payload["inputs"] = [
        {"id": "privacy-request-correct-submit", "property": "n_clicks", "value": 1}
    ]
    payload["state"] = [
        fields,
        ids,
        {
            "id": "privacy-request-state",
            "property": "data",
            "value": {"id": rid, "version": version},
        },
    ]
    out = text_of(officer_client.post("/_dash-update-component", json=payload))
    assert "Corrected: email" in out and "Partner 0" in out
    assert OTHER_MARKER not in out  # the other partner got none of the subject's leads
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email == "new@example.co.za"
        assert s.get(Homeowner, world.other.id).email == "pieter@example.co.za"
    assert others_now(db, world) == others_before


def test_deny_needs_a_reason_code(db, world, officer_client, dash_app):
    rid = new_request(db, world)
    out = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-deny-submit",
            {
                **state(rid, 1),
                "privacy-request-deny-response": "No.",
                "privacy-request-deny-confirm": ["yes"],
            },
        )
    )
    assert "Choose the reason for the denial." in out and req(db, rid).status == "received"
    # a complete form without the confirmation tick is refused on the server
    unconfirmed = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-request-deny-submit",
            {
                **state(rid, 1),
                "privacy-request-deny-reason": "legal_hold",
                "privacy-request-deny-response": "No.",
                "privacy-request-deny-confirm": [],
            },
        )
    )
    assert "Tick “I confirm” to deny the request; nothing was changed." in unconfirmed
    assert (req(db, rid).status, req(db, rid).version) == ("received", 1)


def test_close_stale_button(db, world, officer_client, dash_app):
    from datetime import timedelta

    from data.timeutil import utcnow

    rid = new_request(db, world, received_at=utcnow() - timedelta(days=45))
    fresh = new_request(db, world, received_at=utcnow() - timedelta(days=2), type="objection")
    # first the list of what it will close, and nothing is closed yet
    shown = response_of(call(officer_client, dash_app, "privacy-close-stale"))
    listed = json.dumps(shown["privacy-close-stale-result"], ensure_ascii=False)
    assert f"#{rid} · access · received" in listed and f"#{fresh} " not in listed
    assert "These 1 request(s) will be closed as unverified:" in listed
    assert shown["privacy-close-stale-ids"]["data"] == [rid]
    assert req(db, rid).status == "received"
    # cancelling closes nothing
    cancel = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-close-stale-cancel",
            {"privacy-close-stale-ids": [rid]},
        )
    )
    assert "Nothing was closed." in cancel and req(db, rid).status == "received"
    # confirming closes exactly the listed ones; a request not listed is not closed even if due
    late = new_request(db, world, received_at=utcnow() - timedelta(days=40), type="objection")
    out = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-close-stale-confirm",
            {"privacy-close-stale-ids": [rid], "privacy-queue-nudge": 0},
        )
    )
    assert f"Closed as unverified: #{rid}." in json.dumps(out["privacy-close-stale-result"])
    assert out["privacy-queue-nudge"]["data"] == 1
    assert (req(db, rid).status, req(db, late).status) == ("unverified", "received")


def test_record_a_disclosure(db, world, officer_client, dash_app):
    found = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-disclosure-find",
            {"privacy-disclosure-lookup": "THANDI@example.co.za"},
        )
    )
    subject = found["privacy-disclosure-subject"]["options"][0]["value"]
    out = response_of(
        call(
            officer_client,
            dash_app,
            "privacy-disclosure-submit",
            {
                "privacy-disclosure-reference": "CAS 1/2026",
                "privacy-disclosure-authority": "SAPS",
                "privacy-disclosure-basis": "s205 subpoena",
                "privacy-disclosure-released": "phone number",
                "privacy-disclosure-date": "2026-01-05",
                "privacy-disclosure-subject": subject,
                "privacy-disclosure-token": "disclosure_token_01",
            },
        )
    )
    assert out["privacy-disclosure-grid"]["rowData"][0]["authority"] == "SAPS"
    # the form is cleared for the next entry, with a new token
    assert out["privacy-disclosure-reference"]["value"] == ""
    assert out["privacy-disclosure-subject"]["value"] is None
    assert out["privacy-disclosure-token"]["data"] != "disclosure_token_01"
    bad = text_of(
        call(
            officer_client,
            dash_app,
            "privacy-disclosure-submit",
            {"privacy-disclosure-date": "x", "privacy-disclosure-token": "disclosure_token_02"},
        )
    )
    assert "Reference is required." in bad and "Disclosure date must be a date" in bad
    assert "Find the person the information was about and choose them." in bad


# --- other roles ------------------------------------------------------------------------------

PRIVACY_TRIGGERS = [
    "privacy-intake-find",
    "privacy-intake-submit",
    "privacy-close-stale",
    "privacy-disclosure-submit",
    "privacy-request-verify-submit",
    "privacy-request-package-json",
    "privacy-request-package-html",
    "privacy-request-package-preview",
    "privacy-request-optout-submit",
    "privacy-request-complete-submit",
]


@pytest.mark.parametrize("role", ["manager", "marketing"])
def test_other_roles_get_403_from_every_privacy_callback(db, world, client_for, dash_app, role):
    rid, version = verified_request(
        db, officer(db), type="access", subject_type="homeowner", subject_id=world.subject.id
    )
    client = client_for(role)
    for trigger in PRIVACY_TRIGGERS:
        response = call(client, dash_app, trigger, state(rid, version))
        assert response.status_code == 403, trigger
    assert "shell-forbidden" in route(client, dash_app, f"/privacy/{rid}")
    assert "shell-forbidden" in route(client, dash_app, "/privacy")
    with session_scope(db) as s:
        count = select(func.count()).where(AuditLog.action.like("%access_package%"))
        assert s.scalar(count.select_from(AuditLog)) == 0
