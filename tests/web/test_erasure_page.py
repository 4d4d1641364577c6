"""The erasure on the request page, through the real app: the preview, blockers, the typed
confirmation (checked on the server), the receipt afterwards, and refusals in plain words."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import Homeowner, PrivacyRequest, User
from data.privacy.workflow import Actor
from tests.conftest import route
from tests.privacy_support import call, make_crowded_world, response_of, verified_request


@pytest.fixture
def officer_client(client_for):
    return client_for("privacy_officer")


@pytest.fixture
def erasable(db, officer_client):
    with session_scope(db) as s:
        world = make_crowded_world(s)
        user = s.scalar(select(User).where(User.username == "privacy"))
        actor = Actor(user.id, user.username, user.role)
    rid, version = verified_request(
        db, actor, type="erasure", subject_type="homeowner", subject_id=world.subject.id
    )
    return world, rid, version


def text_of(response) -> str:
    return json.dumps(response_of(response), ensure_ascii=False)


def state(rid: int, version: int) -> dict:
    return {"privacy-request-state": {"id": rid, "version": version}}


def test_the_page_offers_the_preview_and_the_preview_lists_the_tables(
    db, erasable, officer_client, dash_app
):
    _, rid, version = erasable
    page = json.dumps(json.loads(route(officer_client, dash_app, f"/privacy/{rid}")))
    assert "Preview the erasure" in page
    out = text_of(
        call(officer_client, dash_app, "privacy-request-erase-preview-submit", state(rid, version))
    )
    assert "consent_event" in out and "Type the request number" in out
    assert "privacy-request-erase-submit" in out
    assert "Partners to tell (2)" in out and "Partner 0" in out and "Partner 2" not in out


def test_a_wrong_number_erases_nothing_the_right_one_shows_the_receipt(
    db, erasable, officer_client, dash_app
):
    world, rid, version = erasable
    trigger = "privacy-request-erase-submit"
    wrong = text_of(
        call(
            officer_client,
            dash_app,
            trigger,
            {**state(rid, version), "privacy-request-erase-typed": "1"},
        )
    )
    assert "Type the request number to confirm the erasure" in wrong
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email == "thandi@example.co.za"
    right = text_of(
        call(
            officer_client,
            dash_app,
            trigger,
            {**state(rid, version), "privacy-request-erase-typed": f" {rid} "},
        )
    )
    assert "Erased. The receipt is below." in right
    assert "Residue scan: nothing found" in right
    assert "Partners to tell (2)" in right and "/partners/" in right
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email is None
        assert s.get(PrivacyRequest, rid).status == "completed"


def test_a_blocked_erasure_shows_its_blockers_and_no_button(db, erasable, officer_client, dash_app):
    world, rid, version = erasable
    with session_scope(db) as s:
        s.get(Homeowner, world.subject.id).legal_hold = "Court order 7/2026"
    out = text_of(
        call(officer_client, dash_app, "privacy-request-erase-preview-submit", state(rid, version))
    )
    assert "A legal hold is on record" in out
    assert "privacy-request-erase-submit" not in out
