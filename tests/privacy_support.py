"""Shared builders for the privacy desk tests (unit and web): staff, a subject with a history,
and requests in any state, built with the data layer itself where a state has a transition;
and a second person everywhere (:func:`add_other_people`): another homeowner and another partner
with a row in every registered table, with helpers to search a package for them
(:func:`traces_of_others`) and to snapshot their rows (:func:`others_rows`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from data import rollups
from data.db import session_scope
from data.models import (
    ConsentEvent,
    Homeowner,
    Interaction,
    Lead,
    LeadEvent,
    LeadShare,
    LegalDisclosure,
    Partner,
    PartnerArea,
    PartnerTrade,
    PrivacyRequest,
    PrivacyRequestNote,
)
from data.privacy import workflow
from data.privacy.models import PrivacyCorrection
from data.privacy.workflow import Actor
from data.schema import load_all_models
from data.subject_rows import subject_rows
from data.subjects import REGISTRIES
from data.timeutil import as_date
from data.users import create_user
from tests.factories import (
    EPOCH,
    BaseRows,
    add_homeowner,
    add_lead,
    add_partner,
    add_review,
    add_share,
    base_rows,
)

NOW = datetime(2026, 6, 1, 12, 0)
#: An hour after the factories' default lead time.
EPOCH_PLUS_HOUR = EPOCH + timedelta(hours=1)
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
    #: The ids of the rows :func:`make_world` wrote, by name, recorded as they were inserted.
    ids: dict[str, int] = field(default_factory=dict)
    #: The second people (:func:`add_other_people`), for the tests that add them.
    others: OtherPeople | None = None


def make_world(session: Session) -> World:
    """A homeowner with two leads (one shared with two partners), a review each way, an
    interaction and consent history; plus another homeowner whose data must never leak."""
    ids: dict[str, int] = {}
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
    lead2 = add_lead(session, rows, description="Rewire the kitchen", created_at=NOW - timedelta(5))
    ids["lead1"], ids["lead2"] = lead1.id, lead2.id
    ids["share1"] = add_share(session, rows, lead1, rows.partners[0]).id
    ids["share2"] = add_share(session, rows, lead1, rows.partners[1]).id
    ids["review_by_subject"] = add_review(
        session, rows, lead1, comment="Great work by the plumber"
    ).id
    ids["review_of_subject"] = add_review(
        session,
        rows,
        lead1,
        author_side="partner_about_homeowner",
        comment="Friendly client",
        rating=5,
    ).id
    other_lead = add_lead(
        session, rows, homeowner_id=other.id, description="OTHER PERSON'S SECRET JOB"
    )
    ids["other_lead"] = other_lead.id
    ids["other_share"] = add_share(session, rows, other_lead, rows.partners[2]).id
    ids["other_review"] = add_review(
        session, rows, other_lead, homeowner_id=other.id, comment="OTHER PERSON'S REVIEW"
    ).id
    interaction = Interaction(
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
    session.add(interaction)
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
    other_consent = ConsentEvent(
        subject_type="homeowner",
        subject_id=other.id,
        purpose="marketing_email",
        granted=True,
        at=NOW - timedelta(days=100),
        source="web_form",
        evidence="OTHER PERSON'S CONSENT",
    )
    session.add(other_consent)
    session.flush()
    ids["interaction"], ids["other_consent"] = interaction.id, other_consent.id
    return World(rows, subject, other, rows.partners[0], ids)


# --- a second person everywhere ----------------------------------------------------------------

#: In every text value of the other people's rows, so that a leak is found by plain search.
OTHER_MARKER = "OTHER-PERSON-MARKER"
#: The evidence on ``world.partner``'s consent event (never in the subject homeowner's package).
PARTNER_ZERO = "PARTNER-ZERO-CONSENT"


@dataclass
class OtherPeople:
    """Another homeowner (``World.other``) and another partner, each with a row in every table
    of their registry (:data:`data.subjects.REGISTRIES`). Nothing of theirs may appear in the
    subject's access package, nor change when the subject is corrected or opts out."""

    homeowner_id: int
    partner_id: int
    #: By hand, as each row was inserted: (subject_type, table) → the keys of the other
    #: person's rows of that table (``id``; ``(partner_id, trade_id)`` for partner_trade).
    rows: dict[tuple[str, str], set[Any]]
    #: Lower-case strings of theirs that must never appear in another subject's output.
    markers: tuple[str, ...]
    #: Their registered identifiers, as stored: (kind, value) pairs a suppression would hash.
    identifiers: tuple[tuple[str, str], ...]

    def ids(self, subject_type: str, table: str) -> set[Any]:
        return self.rows[(subject_type, table)]

    def id_of(self, subject_type: str) -> int:
        return self.homeowner_id if subject_type == "homeowner" else self.partner_id


def add_other_people(session: Session, world: World) -> OtherPeople:
    """Give ``world.other`` and a new partner a row in every table that can hold a person.

    They are each other's counterparty (the other homeowner's lead goes to the other partner),
    never the subject's, so no row of theirs belongs in the subject's or ``world.partner``'s
    package. ``world.partner`` also gets a consent event: its id equals the subject
    homeowner's, so a ``(subject_type, subject_id)`` pair read without its type would mix them.
    Rows are recorded by hand in ``OtherPeople.rows`` (and ``world.ids``) as they are written.
    """
    ids = world.ids
    rows: dict[tuple[str, str], set[Any]] = {}

    def mine(table: str, key: Any, *subject_types: str) -> None:
        for subject_type in subject_types or ("homeowner", "partner"):
            rows.setdefault((subject_type, table), set()).add(key)

    def add(obj: Any) -> Any:
        session.add(obj)
        session.flush()
        return obj

    base = world.rows
    home = world.other
    home.street, home.suburb = f"12 {OTHER_MARKER} Street", f"{OTHER_MARKER} Park"
    home.postal_code, home.birth_year = "7999", 1961
    partner = add_partner(
        session,
        business_name=f"{OTHER_MARKER} Roofing",
        contact_name=f"Olga {OTHER_MARKER}",
        email="olga@other-person-marker.co.za",
        phone="+27840000999",
        website="https://other-person-marker.example",
        skills=f"{OTHER_MARKER} skills",
        biography=f"{OTHER_MARKER} biography",
        payment_token="tok-other-person-marker",
        payment_last4="9999",
        province="Western Cape",
        city="Cape Town",
    )
    h, p = home.id, partner.id
    ids["other_partner"] = p
    mine("homeowner", h, "homeowner")
    mine("partner", p, "partner")
    # make_world's rows of the other homeowner (its lead went to Partner 2, not the other partner).
    mine("lead", ids["other_lead"], "homeowner")
    mine("lead_share", ids["other_share"], "homeowner")
    mine("review", ids["other_review"], "homeowner")
    mine("consent_event", ids["other_consent"], "homeowner")
    mine("aggregate_cell", ids["other_lead"], "homeowner")  # its lead's de-identified copy

    lead = session.get(Lead, ids["other_lead"])
    assert lead is not None
    share = add_share(session, base, lead, partner, shared_at=EPOCH_PLUS_HOUR)
    mine("lead_share", share.id)
    event = add(
        LeadEvent(
            lead_id=lead.id,
            partner_id=p,
            from_status="created",
            to_status="shared",
            at=EPOCH_PLUS_HOUR,
            actor="system",
        )
    )
    mine("lead_event", event.id)

    def interaction(n: int, parties: str, **who: int) -> Interaction:
        return add(
            Interaction(
                channel="call",
                parties=parties,
                at=NOW - timedelta(days=30 - n),
                duration_s=60,
                recorded=True,
                recording_ref=f"rec-{OTHER_MARKER}-{n}",
                purpose="service",
                notes=f"{OTHER_MARKER} call {n}",
                **who,
            )
        )

    mine(
        "interaction",
        interaction(1, "homeowner_partner", lead_id=lead.id, homeowner_id=h, partner_id=p).id,
    )
    # Reaches the other homeowner only through the lead (no homeowner_id on the row).
    mine("interaction", interaction(2, "partner_staff", lead_id=lead.id, partner_id=p).id)
    mine("interaction", interaction(3, "homeowner_staff", homeowner_id=h).id, "homeowner")
    mine("interaction", interaction(4, "partner_staff", partner_id=p).id, "partner")

    by_home = add_review(session, base, lead, partner, comment=f"{OTHER_MARKER} review of roofer")
    about_home = add_review(
        session,
        base,
        lead,
        partner,
        author_side="partner_about_homeowner",
        comment=f"{OTHER_MARKER} review of the client",
        created_at=lead.created_at + timedelta(days=8),
    )
    mine("review", by_home.id)
    mine("review", about_home.id)

    def consent(subject_type: str, subject_id: int, purpose: str, evidence: str) -> int:
        return add(
            ConsentEvent(
                subject_type=subject_type,
                subject_id=subject_id,
                purpose=purpose,
                granted=True,
                at=NOW - timedelta(days=90),
                source="web_form",
                evidence=evidence,
            )
        ).id

    for purpose in ("marketing_phone", "marketing_whatsapp", "service_contact", "ad_cookies"):
        mine("consent_event", consent("homeowner", h, purpose, f"{OTHER_MARKER} form"), "homeowner")
    for purpose in ("marketing_email", "marketing_phone", "service_contact", "analytics_tracking"):
        mine("consent_event", consent("partner", p, purpose, f"{OTHER_MARKER} form"), "partner")
    ids["partner_consent"] = consent("partner", world.partner.id, "marketing_email", PARTNER_ZERO)

    people = {
        "homeowner": (h, "Pieter Other", "pieter@example.co.za", "083 999 9999"),
        "partner": (p, f"Olga {OTHER_MARKER}", "olga@other-person-marker.co.za", "084 000 0999"),
    }
    for subject_type, (subject_id, name, email, phone) in people.items():
        req = add_request(
            session,
            type="correction" if subject_type == "homeowner" else "objection",
            subject_type=subject_type,
            subject_id=subject_id,
            given_name=name,
            given_email=email,
            given_phone=phone,
            message=f"{OTHER_MARKER} request",
            received_at=NOW - timedelta(days=10),
        )
        ids[f"other_{subject_type}_request"] = req.id
        mine("privacy_request", req.id, subject_type)
        note = add(
            PrivacyRequestNote(request_id=req.id, at=NOW - timedelta(days=9), text=OTHER_MARKER)
        )
        mine("privacy_request_note", note.id, subject_type)
        correction = add(
            PrivacyCorrection(
                request_id=req.id,
                subject_type=subject_type,
                subject_id=subject_id,
                field="last_name" if subject_type == "homeowner" else "contact_name",
                before_value=f"{OTHER_MARKER} before",
                after_value=f"{OTHER_MARKER} after",
                at=NOW - timedelta(days=8),
            )
        )
        mine("privacy_correction", correction.id, subject_type)
        disclosure = add(
            LegalDisclosure(
                reference=f"{OTHER_MARKER}/{subject_type}",
                authority="South African Police Service",
                legal_basis=f"{OTHER_MARKER} subpoena",
                data_released=f"{OTHER_MARKER} phone records",
                subject_type=subject_type,
                subject_id=subject_id,
                at=NOW - timedelta(days=7),
            )
        )
        mine("legal_disclosure", disclosure.id, subject_type)

    add(PartnerTrade(partner_id=p, trade_id=base.trade.id))
    mine("partner_trade", (p, base.trade.id), "partner")
    mine(
        "partner_area",
        add(PartnerArea(partner_id=p, province="Western Cape", city="Cape Town")).id,
        "partner",
    )
    others = OtherPeople(
        homeowner_id=h,
        partner_id=p,
        rows=rows,
        markers=(
            OTHER_MARKER.lower(),
            "other person",
            "pieter",
            "+27839999999",
            "083 999 9999",
            "+27840000999",
            "084 000 0999",
        ),
        identifiers=(
            ("email", "pieter@example.co.za"),
            ("phone", "+27839999999"),
            ("email", "olga@other-person-marker.co.za"),
            ("phone", "+27840000999"),
        ),
    )
    world.others = others
    # The standard periods' per-partner rows (data.rollups.presets) are a derived table too:
    # store them for the day of the last share, so both partners have rows there.
    session.flush()
    last = session.scalar(select(func.max(LeadShare.shared_at)))
    rollups.recompute_presets(session.connection(), as_date(last), (0, ""))
    return others


def make_crowded_world(session: Session) -> World:
    """:func:`make_world` plus :func:`add_other_people` (``world.others``)."""
    world = make_world(session)
    add_other_people(session, world)
    return world


def others_rows(conn: Connection, others: OtherPeople) -> dict[tuple[str, str], list[dict]]:
    """The other people's rows of every table in their registry (derived rollups included),
    every column: take it before an action on the subject and compare after."""
    load_all_models()
    found: dict[tuple[str, str], list[dict]] = {}
    for subject_type, registry in REGISTRIES.items():
        for entry in registry.all_tables():
            query = subject_rows(subject_type, entry.table, others.id_of(subject_type))
            found[(subject_type, entry.table)] = [dict(r) for r in conn.execute(query).mappings()]
    return found


def _values(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _values(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _values(item, f"{path}[{i}]")
    else:
        yield path, value


def traces_of_others(package: dict[str, Any], others: OtherPeople) -> list[str]:
    """Every value of ``package`` that holds one of the other people's marker strings, or
    points at a lead or privacy request of theirs (``[]`` when there is none)."""
    leads = others.ids("homeowner", "lead")
    requests = others.ids("homeowner", "privacy_request") | others.ids("partner", "privacy_request")
    found = []
    for path, value in _values(package):
        text = str(value).lower()
        found += [f"{path} = {value!r}" for marker in others.markers if marker in text]
        if path.endswith(".lead_id") and value in leads:
            found.append(f"{path} = {value!r} (the other homeowner's lead)")
        if ".privacy_requests[" in path and path.endswith(".id") and value in requests:
            found.append(f"{path} = {value!r} (the other people's request)")
    return found


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


def new_request(engine: Engine, **fields) -> int:
    """:func:`add_request` in its own committed transaction; returns the request's id."""
    with session_scope(engine) as s:
        return add_request(s, **fields).id


def load_request(engine: Engine, request_id: int) -> PrivacyRequest:
    """The request as committed (a detached copy)."""
    with session_scope(engine) as s:
        return s.get(PrivacyRequest, request_id)


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
