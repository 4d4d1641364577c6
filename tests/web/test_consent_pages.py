"""The consent pages through the Flask test client: what a manager receives (counts, never a
person), the people page's lookup, violation list and suppression list download for privacy
officers, the guard's 403 for a manager calling a person-level callback, and bad input."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.do_not_contact import suppression_digest, suppression_key
from data.export import read_csv_export
from data.models import AuditLog, Suppression
from data.timeutil import utcnow
from tests.conftest import route
from tests.consent_support import consent, interaction
from tests.factories import add_homeowner, add_partner

NAME, SURNAME = "Zanele", "Mokoena"
EMAIL, PHONE = "zanele.mokoena@example.co.za", "+27825550101"
PARTNER_EMAIL = "owner@bestplumbing.co.za"
SECRETS = (NAME, SURNAME, EMAIL, "825550101", "082 555 0101", PARTNER_EMAIL, "Best Plumbing")


@pytest.fixture
def world(db):
    now = utcnow().replace(microsecond=0)
    ids = {}
    with session_scope(db) as s:
        person = add_homeowner(s, first_name=NAME, last_name=SURNAME, email=EMAIL, phone=PHONE,
                               created_at=now - timedelta(days=40))  # fmt: skip
        ids["person"] = person.id
        consent(s, person.id, "marketing_email", True, now - timedelta(days=40),
                evidence="signup form v3")  # fmt: skip
        consent(s, person.id, "marketing_email", False, now - timedelta(days=10), source="email",
                evidence="unsubscribe link, campaign 42")  # fmt: skip
        ids["marketing"] = interaction(
            s, now - timedelta(days=5), homeowner_id=person.id, purpose="marketing"
        ).id
        partner = add_partner(s, business_name="Best Plumbing", email=PARTNER_EMAIL,
                              joined_at=now - timedelta(days=400))  # fmt: skip
        consent(s, partner.id, "service_contact", True, now - timedelta(days=400),
                subject_type="partner")  # fmt: skip
        s.add(Suppression(kind="email", digest=suppression_digest("email", "gone@example.co.za",
                          suppression_key()), reason="erasure", created_at=now))  # fmt: skip
    return ids


def _post(client, dash_app, output: str, inputs=(), state=()):
    """Post the callback whose first output is ``output`` (component.property)."""
    for key, callback in dash_app.callback_map.items():
        outputs = callback["output"]
        many = isinstance(outputs, list | tuple)
        first = outputs[0] if many else outputs
        if f"{first.component_id}.{first.component_property}" == output:
            break
    else:
        raise AssertionError(f"no callback with output {output}")
    listed = [{"id": o.component_id, "property": o.component_property}
              for o in (outputs if many else [outputs])]  # fmt: skip
    payload = {
        "output": key,
        "outputs": listed if many else listed[0],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"] if inputs else [],
    }
    return client.post("/_dash-update-component", json=payload)


def _props(node, component_id: str) -> dict | None:
    """The props of the component ``component_id`` in a Dash JSON tree."""
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props
        children = [*node.values(), *(props.values() if isinstance(props, dict) else ())]
        return next((p for c in children if (p := _props(c, component_id)) is not None), None)
    if isinstance(node, list):
        return next((p for c in node if (p := _props(c, component_id)) is not None), None)
    return None


def _window_of(body: str) -> list[str]:
    """The monitor's period as the layout stored it (``consent-monitor-window``)."""
    props = _props(json.loads(body), "consent-monitor-window")
    assert props is not None, "no monitor window in the layout"
    return props["data"]


def _monitor(client, dash_app, data):
    return _post(client, dash_app, "consent-monitor-body.children",
                 [("consent-monitor-window", "data", data)])  # fmt: skip


def test_monitor_counts_and_refuses_a_bad_window(client_for, dash_app, world):
    client = client_for("manager")
    start = (utcnow() - timedelta(days=30)).replace(microsecond=0)
    good = _monitor(client, dash_app, [start.isoformat(), utcnow().isoformat()])
    cells = _cells(good.get_json())
    assert cells["consent-monitor-marketing_after_withdrawal"] == "1"
    assert cells["consent-monitor-access_past_due"] == "0"
    for bad in (None, ["yesterday", "today"], [utcnow().isoformat(), start.isoformat()], [1, 2]):
        text = _monitor(client, dash_app, bad).get_data(as_text=True)
        assert "could not be read" in text and "consent-monitor-table" not in text


def _records(client, dash_app, code, data):
    return _post(client, dash_app, "consent-monitor-list.children",
                 [("consent-monitor-rule", "value", code)],
                 [("consent-monitor-window", "data", data)])  # fmt: skip


def test_a_manager_lists_violations_as_records_without_people(client_for, dash_app, db, world):
    with session_scope(db) as s:  # a suppressed email comes back as a new homeowner
        later = utcnow() + timedelta(minutes=1)
        back = add_homeowner(s, first_name="Sipho", last_name="Dlamini",
                             email="gone@example.co.za", created_at=later)  # fmt: skip
        back_id = back.id
    client = client_for("manager")
    window = [
        (utcnow() - timedelta(days=30)).isoformat(),
        (utcnow() + timedelta(hours=1)).isoformat(),
    ]

    shares = _records(client, dash_app, "marketing_after_withdrawal", window)
    assert shares.status_code == 200
    text = shares.get_data(as_text=True)
    assert "1 shown, newest first." in text
    assert f"interaction #{world['marketing']}" in text and "marketing_email" in text
    assert "homeowner #" not in text and '"subject"' not in text  # no subject column
    assert all(secret not in text for secret in SECRETS)

    returning = _records(client, dash_app, "suppressed_reappearing", window).get_data(as_text=True)
    assert "1 shown, newest first." in returning
    assert "a homeowner" in returning and "erased_earlier" in returning
    assert f"#{back_id}" not in returning and "Sipho" not in returning and "gone@" not in returning

    none = _records(client, dash_app, "access_past_due", window).get_data(as_text=True)
    assert "consent-monitor-no-violations" in none
    assert "(counted now, whatever the period)" in none
    for code, data, message in (
        ("nope", window, "Choose a rule from the list."),
        (None, window, "Choose a rule from the list."),
        ("access_past_due", ["yesterday", "today"], "could not be read"),
    ):
        text = _records(client, dash_app, code, data).get_data(as_text=True)
        assert message in text and "violation-table" not in text


def _cells(node) -> dict[str, str]:
    """Component id → text of every ``Td`` with an id in a Dash JSON tree."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        props = node.get("props", {})
        if node.get("type") == "Td" and "id" in props:
            found[props["id"]] = props.get("children")
        for value in list(props.values()) + [v for k, v in node.items() if k != "props"]:
            found |= _cells(value)
    elif isinstance(node, list):
        for item in node:
            found |= _cells(item)
    return found


def _lookup(client, dash_app, text):
    return _post(
        client,
        dash_app,
        "consent-people-found.children",
        [("consent-people-find", "n_clicks", 1), ("consent-people-lookup", "n_submit", None)],
        [("consent-people-lookup", "value", text)],
    )


def test_manager_sees_counts_and_never_a_person(client_for, dash_app, world):
    client = client_for("manager")
    body = route(client, dash_app, "/consent")
    assert "consent-coverage-homeowner" in body and "consent-changes" in body
    assert "consent-monitor-window" in body and "consent-analytics-rate" in body
    window = _monitor(client, dash_app, _window_of(body))
    assert window.status_code == 200
    monitor = window.get_data(as_text=True)
    assert "consent-monitor-table" in monitor
    # the marketing email 5 days ago, after the withdrawal 10 days ago
    assert _cells(window.get_json())["consent-monitor-marketing_after_withdrawal"] == "1"
    assert "consent-people-link" not in body  # the link to people is not offered
    search = _post(client, dash_app, "consent-url.search",
                   [("consent-period", "value", "30d"), ("consent-from", "value", None),
                    ("consent-to", "value", None), ("consent-subject", "value", "homeowner"),
                    ("consent-purpose", "value", "marketing_email"),
                    ("consent-source", "value", None)])  # fmt: skip
    assert search.status_code == 200
    answer = search.get_data(as_text=True)
    assert "?period=30d&subject=homeowner&purpose=marketing_email" in answer
    filtered = route(client, dash_app, "/consent", "?period=30d&subject=homeowner")
    for text in (body, answer, filtered, monitor):
        for secret in SECRETS:
            assert secret not in text, secret
    # The withdrawal counts: 1 of 1 homeowner withdrew marketing email.
    assert "1 (100.0%)" in body


def test_manager_calling_person_level_callbacks_gets_403(client_for, dash_app, world):
    client = client_for("manager")
    for response in (
        _lookup(client, dash_app, "082 555 0101"),
        _post(
            client,
            dash_app,
            "consent-people-violations.children",
            [
                ("consent-people-rule", "value", "marketing_after_withdrawal"),
                ("consent-people-days", "value", "30"),
            ],
        ),
        _post(
            client,
            dash_app,
            "consent-people-download.data",
            [("consent-people-download-button", "n_clicks", 1)],
        ),
    ):
        assert response.status_code == 403
        text = response.get_data(as_text=True)
        assert all(secret not in text for secret in SECRETS)


@pytest.mark.parametrize(
    "typed",
    ["082 555 0101", "0825550101", "+27 82 555 0101", "+27825550101", "27825550101",
     "(082) 555-0101", " Zanele.Mokoena@Example.CO.ZA "],
)  # fmt: skip
def test_lookup_finds_the_same_person_however_typed(client_for, dash_app, world, typed):
    response = _lookup(client_for("privacy_officer"), dash_app, typed)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert f"{NAME} {SURNAME} (homeowner #{world['person']})" in text
    assert "unsubscribe link, campaign 42" in text and "signup form v3" in text
    assert "082 555 0101" in text  # shown in national form


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type an email address or a phone number."),
        ("12", "not a phone number we can read"),
        ("zanele@", "not a valid email address"),
        ("' OR 1=1 --", "not a phone number we can read"),
        ("x" * 400, "too long"),
        ("083 999 0000", "Nobody found with that email address or phone number."),
    ],
)
def test_lookup_says_clearly_when_nobody_or_bad_input(client_for, dash_app, world, typed, message):
    response = _lookup(client_for("admin"), dash_app, typed)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert message in text
    assert NAME not in text


def test_lookups_are_audited_without_the_typed_value(client_for, dash_app, db, world):
    _lookup(client_for("privacy_officer"), dash_app, "082 555 0101")
    with session_scope(db) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "consent.lookup")).one()
        assert entry.details == {"matches": [f"homeowner:{world['person']}"]}
        assert "555" not in json.dumps(entry.details)


def test_violation_list_for_privacy_officer(client_for, dash_app, world):
    response = _post(client_for("privacy_officer"), dash_app, "consent-people-violations.children",
                     [("consent-people-rule", "value", "marketing_after_withdrawal"),
                      ("consent-people-days", "value", "30")])  # fmt: skip
    text = response.get_data(as_text=True)
    assert f"interaction #{world['marketing']}" in text
    assert f"homeowner #{world['person']}" in text
    bad = _post(
        client_for("privacy_officer"),
        dash_app,
        "consent-people-violations.children",
        [("consent-people-rule", "value", "nope"), ("consent-people-days", "value", "7")],
    )
    assert "Choose a rule and a period from the lists." in bad.get_data(as_text=True)


def test_suppression_list_download(client_for, dash_app, db, world):
    response = _post(client_for("privacy_officer"), dash_app, "consent-people-download.data",
                     [("consent-people-download-button", "n_clicks", 1)])  # fmt: skip
    assert response.status_code == 200
    data = response.get_json()["response"]["consent-people-download"]["data"]
    assert data["filename"].startswith("suppression-list-")
    raw = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()
    header, table = read_csv_export(raw)
    assert header["list"] == "marketing suppression list"
    people = table[table.record == "person"]
    assert people[["purpose", "email", "phone"]].values.tolist() == [
        ["marketing_email", EMAIL, "082 555 0101"]
    ]
    entries = table[table.record == "suppression entry"]
    assert entries.reason.tolist() == ["erasure"] and entries.email.isna().all()
    with session_scope(db) as s:
        logged = s.scalars(
            select(AuditLog).where(AuditLog.action == "consent.suppression_list.export")
        ).all()
    assert len(logged) == 1 and logged[0].details["rows"] == 2


def test_monitor_counts_are_shared_for_a_minute_and_say_when(client_for, dash_app, world, db):
    """A second viewer within the cache's minute gets the first viewer's counts (and the time
    they were counted); once the entry expires, a new violation is counted."""
    from data.query_cache import MONITOR_CACHE

    client = client_for("manager")
    window = [(utcnow() - timedelta(days=30)).replace(microsecond=0).isoformat(),
              utcnow().replace(microsecond=0).isoformat()]  # fmt: skip
    first = _monitor(client, dash_app, window)
    assert _cells(first.get_json())["consent-monitor-marketing_after_withdrawal"] == "1"
    assert "Counted at " in first.get_data(as_text=True)
    with session_scope(db) as s:  # a second marketing call after the withdrawal
        interaction(s, utcnow() - timedelta(days=2), homeowner_id=world["person"],
                    purpose="marketing")  # fmt: skip
    shared = _monitor(client, dash_app, window)
    assert _cells(shared.get_json())["consent-monitor-marketing_after_withdrawal"] == "1"
    ttl = MONITOR_CACHE.ttl
    MONITOR_CACHE.ttl = 0.0  # the minute has passed
    try:
        fresh = _monitor(client, dash_app, window)
    finally:
        MONITOR_CACHE.ttl = ttl
    assert _cells(fresh.get_json())["consent-monitor-marketing_after_withdrawal"] == "2"


def test_counts_older_than_half_a_minute_are_served_and_recounted_behind(db, world):
    """A viewer 40 s after the count gets it at once; the recount started for the next viewer
    then holds the violation recorded meanwhile."""
    import time

    from data.compliance.common import Window
    from data.compliance.monitor import monitor_counts

    def marketing(counts) -> int:
        return int(counts.loc[counts["rule"] == "marketing_after_withdrawal", "violations"].sum())

    now = utcnow().replace(microsecond=0)
    start, end = now - timedelta(days=30), now + timedelta(hours=1)
    with session_scope(db) as s:
        counts, counted_at = monitor_counts(s, Window(start, end, now))
    assert marketing(counts) == 1 and counted_at == now
    with session_scope(db) as s:
        interaction(s, now - timedelta(days=2), homeowner_id=world["person"], purpose="marketing")
    with session_scope(db) as s:  # within 30 s: served, no recount
        assert marketing(monitor_counts(s, Window(start, end, now + timedelta(seconds=20)))[0]) == 1
    with session_scope(db) as s:  # 40 s later: still served at once, recounted behind
        served, at = monitor_counts(s, Window(start, end, now + timedelta(seconds=40)))
    assert marketing(served) == 1 and at == now
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_scope(db) as s:
            counts, counted_at = monitor_counts(s, Window(start, end, now + timedelta(seconds=41)))
        if counted_at != now:
            break
        time.sleep(0.05)
    assert counted_at > now and marketing(counts) == 2
