"""A manager or marketer never receives a homeowner's contact details or name (issue 12,
point 1).

The database is seeded with one homeowner whose details are planted, in varied spellings, in a
lead description, reviews in both directions and call notes. Then, logged in as a manager (and
as marketing), the test opens every page that role may open (every partner's detail page too)
through Dash's router, and fires every callback the role may call, with each input set from
the values the pages rendered or left empty; no response may contain any of the homeowner's
identifiers (written out by hand below), whatever their spelling.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import timedelta

import dash
import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import Interaction, Partner
from data.timeutil import utcnow
from guard import callback_roles, page_prefixes
from tests.conftest import callback_payload, route
from tests.factories import add_lead, add_review, add_share, base_rows

# The homeowner's identifiers, folded (lower-case ASCII letters and digits only).
TRACES = ("zanokuhle", "vermeulen", "protea", "832987217", "zvermeulen", "webmail")
PLANTED = [
    "Please call me on cell0832987217 or 083.298.7217, Zanokuhle",
    "Great work! zvermeulen @ webmail.co.za if you need a reference",
    "Mrs Vermeulen at 7 Protea Lane was friendly, WhatsApp 083\u2013298\u20137217",
    "Email zvermeulen (at) webmail [dot] co [dot] za, ask for ZANOKUHLE",
]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch.lower() for ch in text if ch.isascii() and ch.isalnum())


def _seed(db) -> list[int]:
    now = utcnow() - timedelta(days=3)
    with session_scope(db) as s:
        rows = base_rows(s, partners=2)
        owner = rows.homeowner
        owner.first_name, owner.last_name = "Zanokuhle", "Vermeulen"
        owner.street, owner.phone = "7 Protea Lane", "+27832987217"
        owner.email = "zvermeulen@webmail.co.za"
        for i, text in enumerate(PLANTED):
            lead = add_lead(s, rows, description=text, created_at=now - timedelta(days=i))
            for partner in rows.partners:
                add_share(s, rows, lead, partner)
                at = now - timedelta(days=i)
                add_review(s, rows, lead, partner, comment=text, rating=2 + i % 3, created_at=at)
                add_review(
                    s,
                    rows,
                    lead,
                    partner,
                    comment=text,
                    author_side="partner_about_homeowner",
                    dispute=True,
                    moderation_status="flagged",
                    created_at=at,
                )
                s.add(
                    Interaction(
                        lead_id=lead.id,
                        homeowner_id=owner.id,
                        partner_id=partner.id,
                        channel="call",
                        parties="homeowner_staff",
                        at=now,
                        purpose="dispute",
                        notes=text,
                    )
                )
        s.flush()
        return list(s.scalars(select(Partner.id)))


def _pages_of(role: str, partner_ids: list[int]) -> list[str]:
    paths = []
    for page in dash.page_registry.values():
        if role not in page["allowed_roles"]:
            continue
        template = page.get("path_template")
        if template:
            paths += [re.sub(r"<[^>]+>", str(p), template) for p in partner_ids]
        else:
            paths.append(page["path"])
    return paths


def _rendered_values(body: str) -> dict[tuple[str, str], object]:
    """(component id, property) → value for every string-id component in a rendered layout."""
    found: dict[tuple[str, str], object] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                for name, value in props.items():
                    found.setdefault((props["id"], name), value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(body))
    return found


@pytest.mark.parametrize("role", ["manager", "marketing"])
def test_no_callback_a_lower_role_may_call_returns_a_homeowner_identifier(
    client_for, dash_app, db, role
):
    partner_ids = _seed(db)
    client = client_for(role)
    bodies: list[str] = []
    values: dict[tuple[str, str], object] = {}
    for path in _pages_of(role, partner_ids):
        body = route(client, dash_app, path)
        bodies.append(body)
        values.update(_rendered_values(body))
    prefixes = page_prefixes()
    fired = 0
    for key, callback in dash_app.callback_map.items():
        if role not in callback_roles(callback, prefixes):
            continue
        payload = callback_payload(dash_app, key)
        for part in ("inputs", "state"):
            payload[part] = [
                {
                    "id": dep["id"],
                    "property": dep["property"],
                    "value": values.get((dep["id"], dep["property"])),
                }
                for dep in callback.get(part, [])
                if isinstance(dep.get("id"), str)
            ]
        for path in _pages_of(role, partner_ids):
            for item in payload["inputs"] + payload["state"]:
                if item["id"] == "_pages_location" and item["property"] == "pathname":
                    item["value"] = path
            response = client.post("/_dash-update-component", json=payload)
            bodies.append(response.get_data(as_text=True))
            fired += 1
    assert fired > 5  # the crawl reached the role's callbacks
    leaks = sorted({t for body in bodies for t in TRACES if t in _fold(body)})
    assert leaks == []
