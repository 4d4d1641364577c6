"""Shared builders for the privacy desk tests (unit and web): staff, a subject with a history,
and requests in any state, built with the data layer itself where a state has a transition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from data.db import session_scope
from data.models import ConsentEvent, Homeowner, Interaction, Partner, PrivacyRequest
from data.privacy import workflow
from data.privacy.workflow import Actor
from data.users import create_user
from tests.factories import BaseRows, add_homeowner, add_lead, add_review, add_share, base_rows

NOW = datetime(2026, 6, 1, 12, 0)
KEY = b"test-suppression-key"


@dataclass
class Staff:
    officer: Actor
    officer2: Actor
    admin: Actor
    manager: Actor


def make_staff(session: Session) -> Staff:
    made = {}
    for name, role in (
        ("olivia", "privacy_officer"),
        ("oscar", "privacy_officer"),
        ("ada", "admin"),
        ("max", "manager"),
    ):
        user = create_user(session, name, "pw-12345", role, actor="test")
        made[name] = Actor(user.id, name, role)
    return Staff(made["olivia"], made["oscar"], made["ada"], made["max"])


@dataclass
class World:
    rows: BaseRows
    subject: Homeowner
    other: Homeowner
    partner: Partner


def make_world(session: Session) -> World:
    """A homeowner with two leads (one shared with two partners), a review each way, an
    interaction and consent history; plus another homeowner whose data must never leak."""
    rows = base_rows(session)
    subject = rows.homeowner
    subject.first_name, subject.last_name = "Thandi", "Nkosi"
    subject.email, subject.phone = "thandi@example.co.za", "+27820000101"
    other = add_homeowner(
        session,
        first_name="Pieter",
        last_name="Other",
        email="pieter@example.co.za",
        phone="+27839999999",
    )
    lead1 = add_lead(session, rows, description="Leaking geyser <script>alert(1)</script>")
    add_lead(session, rows, description="Rewire the kitchen", created_at=NOW - timedelta(5))
    add_share(session, rows, lead1, rows.partners[0])
    add_share(session, rows, lead1, rows.partners[1])
    add_review(session, rows, lead1, comment="Great work by the plumber")
    add_review(
        session,
        rows,
        lead1,
        author_side="partner_about_homeowner",
        comment="Friendly client",
        rating=5,
    )
    other_lead = add_lead(
        session, rows, homeowner_id=other.id, description="OTHER PERSON'S SECRET JOB"
    )
    add_share(session, rows, other_lead, rows.partners[2])
    add_review(session, rows, other_lead, homeowner_id=other.id, comment="OTHER PERSON'S REVIEW")
    session.add(
        Interaction(
            lead_id=lead1.id,
            homeowner_id=subject.id,
            partner_id=rows.partners[0].id,
            channel="call",
            parties="homeowner_partner",
            at=NOW - timedelta(days=20),
            duration_s=120,
            recorded=True,
            recording_ref="rec-0001",
            purpose="quality_control",
        )
    )
    for purpose in ("marketing_email", "marketing_phone", "service_contact"):
        session.add(
            ConsentEvent(
                subject_type="homeowner",
                subject_id=subject.id,
                purpose=purpose,
                granted=True,
                at=NOW - timedelta(days=100),
                source="web_form",
            )
        )
    session.add(
        ConsentEvent(
            subject_type="homeowner",
            subject_id=other.id,
            purpose="marketing_email",
            granted=True,
            at=NOW - timedelta(days=100),
            source="web_form",
            evidence="OTHER PERSON'S CONSENT",
        )
    )
    session.flush()
    return World(rows, subject, other, rows.partners[0])


def add_request(session: Session, **fields) -> PrivacyRequest:
    received = fields.pop("received_at", NOW - timedelta(days=3))
    values = {
        "type": "access",
        "channel": "email",
        "given_name": "Thandi Nkosi",
        "given_email": "thandi@example.co.za",
        "given_phone": "082 000 0101",
        "received_at": received,
        "due_at": received + timedelta(days=30),
        "original_due_at": received + timedelta(days=30),
        "status": "received",
        "extended": False,
        "no_record_found": False,
        "version": 1,
    }
    values.update(fields)
    req = PrivacyRequest(**values)
    session.add(req)
    session.flush()
    return req


def verified_request(engine: Engine, actor: Actor, **fields) -> tuple[int, int]:
    """A request taken through verification with the real transition; returns (id, version)."""
    with session_scope(engine) as s:
        req = add_request(s, **fields)
        request_id = req.id
    with session_scope(engine) as s:
        req = workflow.verify_identity(
            s,
            request_id,
            1,
            actor,
            method="registered_email_reply",
            outcome="verified",
            evidence="Replied from the registered address",
            now=NOW,
        )
        return req.id, req.version


# --- calling Dash callbacks through the Flask test client --------------------------------------


def find_callback(dash_app, trigger: str) -> str:
    """The key of the callback that has ``trigger`` (a component id) among its inputs."""
    for key, callback in dash_app.callback_map.items():
        if any(spec["id"] == trigger for spec in callback["inputs"]):
            return key
    raise KeyError(trigger)


def call(client, dash_app, trigger: str, values: dict | None = None, prop: str = "n_clicks"):
    """Fire the callback triggered by ``trigger`` as the browser would, with ``values`` for its
    inputs and states (component id → value; pattern-matching ids take the list Dash sends).
    Returns the Flask response."""
    from tests.conftest import callback_payload

    values = {trigger: 1, **(values or {})}
    key = find_callback(dash_app, trigger)
    callback = dash_app.callback_map[key]

    def item(spec):
        if spec["id"].startswith("{"):
            return values.get(spec["id"], [])
        return {"id": spec["id"], "property": spec["property"], "value": values.get(spec["id"])}

    payload = callback_payload(dash_app, key)
    if not isinstance(callback["output"], list):
        payload["outputs"] = payload["outputs"][0]  # a single output is sent as one object
    payload["inputs"] = [item(s) for s in callback["inputs"]]
    payload["state"] = [item(s) for s in callback.get("state", [])]
    payload["changedPropIds"] = [f"{trigger}.{prop}"]
    return client.post("/_dash-update-component", json=payload)


def response_of(response) -> dict:
    """The ``response`` part of a callback answer (component id → property → value)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]
