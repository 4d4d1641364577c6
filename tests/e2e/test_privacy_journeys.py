"""The privacy desk in Chromium, end to end (issue 4's "done when"):

* an access request logged by phone, matched, verified, its package downloaded (that subject's
  leads, shares, reviews and consent history and nobody else's), completed, and every step in
  the audit log;
* a request extended once, a second extension refused (and a stale tab told to reload);
* an objection that ends as withdrawn marketing consent plus a suppression entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from data.db import make_engine
from tests.e2e.conftest import login_as


@pytest.fixture
def officer(page_as):
    return page_as("privacy_officer")


@pytest.fixture
def live_db(live_server):
    engine = make_engine(live_server.database_url)
    yield engine
    engine.dispose()


def one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def national(e164: str) -> str:
    """+27821234567 → "082 123 4567" (as a caller would dictate it)."""
    digits = "0" + e164[3:]
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def choose(page, dropdown_id: str, label: str) -> None:
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=label, exact=True).click()


def log_request(page, *, type_label: str, channel: str, name: str, email="", phone="") -> None:
    """Fill the intake form, find the records, confirm the subject (or none) and log it."""
    page.goto("/privacy?tab=intake")
    page.wait_for_selector("#privacy-intake-type")
    choose(page, "privacy-intake-type", type_label)
    choose(page, "privacy-intake-channel", channel)
    page.fill("#privacy-intake-name", name)
    page.fill("#privacy-intake-email", email)
    page.fill("#privacy-intake-phone", phone)
    page.fill("#privacy-intake-message", "Logged during the browser journey <b>test</b>")
    page.click("#privacy-intake-find")
    page.wait_for_selector("#privacy-intake-found")


def confirm_and_open(page, subject_text: str) -> int:
    page.get_by_text(subject_text, exact=False).first.click()
    page.click("#privacy-intake-submit")
    page.wait_for_selector("#privacy-intake-logged")
    link = page.locator("#privacy-intake-open")
    href = link.get_attribute("href")
    assert href and href.startswith("/privacy/")
    link.click()
    page.wait_for_selector("#privacy-request-timeline")
    return int(href.rsplit("/", 1)[1])


def verify_identity(page, method: str) -> None:
    choose(page, "privacy-request-verify-method", method)
    choose(page, "privacy-request-verify-outcome", "Verified")
    page.fill("#privacy-request-verify-evidence", "Confirmed during the browser journey")
    page.click("#privacy-request-verify-submit")
    expect(page.locator("#privacy-request-status")).to_have_text("In progress (verified)")


# --- 1. access request by phone ---------------------------------------------------------------

ACCESS_SUBJECT = """
SELECT h.id, h.first_name, h.last_name, h.phone FROM homeowner h
WHERE h.erased_at IS NULL AND h.legal_hold IS NULL AND h.phone IS NOT NULL
  AND h.first_name IS NOT NULL AND h.last_name IS NOT NULL
  AND EXISTS (SELECT 1 FROM lead l JOIN lead_share s ON s.lead_id = l.id
              WHERE l.homeowner_id = h.id)
  AND EXISTS (SELECT 1 FROM review r WHERE r.homeowner_id = h.id)
  AND EXISTS (SELECT 1 FROM consent_event c
              WHERE c.subject_type = 'homeowner' AND c.subject_id = h.id)
  AND NOT EXISTS (SELECT 1 FROM privacy_request p
                  WHERE p.subject_type = 'homeowner' AND p.subject_id = h.id)
  AND (SELECT count(*) FROM homeowner h2 WHERE h2.phone = h.phone) = 1
  AND NOT EXISTS (SELECT 1 FROM partner pa WHERE pa.phone = h.phone)
ORDER BY h.id LIMIT 1
"""


def test_access_request_by_phone_from_intake_to_audit_log(officer, live_db, tmp_path):
    page = officer
    sid, first, last, phone = one(live_db, ACCESS_SUBJECT)
    log_request(
        page,
        type_label="Access (what do you hold about me?)",
        channel="Phone",
        name=f"{first} {last}",
        phone=national(phone),
    )
    assert "same phone number" in page.inner_text("#privacy-intake-confirm")
    rid = confirm_and_open(page, f"(homeowner #{sid})")
    assert "privacy-request-action-access-package" not in page.content()  # not verified yet
    verify_identity(page, "One-time code sent to the registered phone")

    with page.expect_download() as download:
        page.click("#privacy-request-package-json")
    package = json.loads(Path(download.value.path()).read_text())
    with page.expect_download() as download:
        page.click("#privacy-request-package-html")
    report = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.endswith(".html")

    sections = package["sections"]
    assert sections["profile"][0]["id"] == sid
    with live_db.connect() as conn:
        lead_ids = set(
            conn.execute(text("SELECT id FROM lead WHERE homeowner_id = :h"), {"h": sid}).scalars()
        )
        shares = conn.execute(
            text(
                "SELECT count(*) FROM lead_share s JOIN lead l ON l.id = s.lead_id "
                "WHERE l.homeowner_id = :h"
            ),
            {"h": sid},
        ).scalar()
        reviews = conn.execute(
            text("SELECT count(*) FROM review WHERE homeowner_id = :h"), {"h": sid}
        ).scalar()
        consent = conn.execute(
            text(
                "SELECT count(*) FROM consent_event "
                "WHERE subject_type = 'homeowner' AND subject_id = :h"
            ),
            {"h": sid},
        ).scalar()
        others = set(
            conn.execute(
                text("SELECT email FROM homeowner WHERE id <> :h AND email IS NOT NULL"), {"h": sid}
            ).scalars()
        )
    assert {lead["lead_id"] for lead in sections["leads"]} == lead_ids
    assert {s["lead_id"] for s in sections["shares"]} <= lead_ids
    assert len(sections["shares"]) == shares
    assert len(sections["reviews"]) == reviews
    assert len(sections["consent_history"]) == consent
    dump = json.dumps(package)
    assert not [e for e in others if e in dump], "another homeowner's email is in the package"
    assert "<script" not in report.lower()
    assert first in report and last in report

    page.fill("#privacy-request-complete-note", "Package sent by email")
    page.fill("#privacy-request-complete-response", "Attached is everything we hold about you.")
    page.click("#privacy-request-complete-submit")
    expect(page.locator("#privacy-request-status")).to_have_text("Completed")

    page.goto(f"/audit?object_type=privacy_request&object_id={rid}")
    cells = page.locator("#audit-grid .ag-cell[col-id='action']")
    expect(page.locator("#audit-count")).to_have_text("6 entries")
    cells.filter(has_text="privacy_request.complete").wait_for()  # the infinite model loaded
    expect(cells.filter(has_text="privacy_request")).to_have_count(6)
    actions = cells.all_inner_texts()
    assert sorted(actions) == sorted(
        [
            "privacy_request.view",  # opening the request is a read of personal data (audited)
            "privacy_request.create",
            "privacy_request.verify",
            "privacy_request.access_package.download",
            "privacy_request.access_package.download",
            "privacy_request.complete",
        ]
    )
    assert set(page.locator("#audit-grid .ag-cell[col-id='actor']").all_inner_texts()) == {
        "privacy"
    }


# --- 2. extension once, a second refused ------------------------------------------------------


def test_extend_once_and_the_second_extension_is_refused(officer, new_page, live_db):
    page = officer
    log_request(
        page,
        type_label="Correction of my details",
        channel="Post",
        name="Nobody Known",
        email="nobody.known@example.org",
    )
    assert "No homeowner or partner matches" in page.inner_text("#privacy-intake-feedback")
    rid = confirm_and_open(page, "No record found")
    stale = new_page()  # a second officer, with the request open before the extension
    login_as(stale, "privacy_officer", f"/privacy/{rid}")
    stale.goto(f"/privacy/{rid}")
    stale.click("#privacy-request-open-extend")  # folded: not the next step
    stale.wait_for_selector("#privacy-request-action-extend")

    page.click("#privacy-request-open-extend")
    page.fill("#privacy-request-extend-days", "14")
    page.fill("#privacy-request-extend-reason", "Records held by several partners (PAIA s57)")
    page.click("#privacy-request-extend-submit")
    expect(page.locator("#privacy-request-done")).to_contain_text("Deadline extended")
    assert page.locator("#privacy-request-action-extend").count() == 0
    assert "second extension is not allowed" in page.inner_text("#privacy-request-extend-refused")

    stale.fill("#privacy-request-extend-days", "30")
    stale.fill("#privacy-request-extend-reason", "Trying again")
    stale.click("#privacy-request-extend-submit")
    stale.wait_for_selector("#privacy-request-stale")
    assert "changed since you opened it" in stale.inner_text("#privacy-request-stale")
    stale.click("#privacy-request-stale a")
    stale.wait_for_selector("#privacy-request-extend-refused")
    assert stale.locator("#privacy-request-action-extend").count() == 0

    extended, due, original_due = one(
        live_db,
        "SELECT extended, due_at, original_due_at FROM privacy_request WHERE id = :r",
        r=rid,
    )
    days = datetime.fromisoformat(str(due)) - datetime.fromisoformat(str(original_due))
    assert extended and round(days.total_seconds() / 86400) == 14
    assert (
        scalar(
            live_db,
            "SELECT count(*) FROM audit_log "
            "WHERE action = 'privacy_request.extend' AND object_id = :r",
            r=str(rid),
        )
        == 1
    )


# --- 3. objection → withdrawn marketing consent and suppression -------------------------------

OBJECTION_SUBJECT = """
SELECT h.id, h.first_name, h.last_name, h.email FROM homeowner h
WHERE h.erased_at IS NULL AND h.email IS NOT NULL AND h.first_name IS NOT NULL
  AND (SELECT c.granted FROM consent_event c
       WHERE c.subject_type = 'homeowner' AND c.subject_id = h.id
         AND c.purpose = 'marketing_email'
       ORDER BY c.id DESC LIMIT 1) IS TRUE
  AND NOT EXISTS (SELECT 1 FROM privacy_request p
                  WHERE p.subject_type = 'homeowner' AND p.subject_id = h.id)
  AND (SELECT count(*) FROM homeowner h2 WHERE h2.email = h.email) = 1
ORDER BY h.id DESC LIMIT 1
"""


def test_objection_withdraws_marketing_consent_and_suppresses(officer, live_db, live_server):
    page = officer
    sid, first, last, email = one(live_db, OBJECTION_SUBJECT)
    log_request(
        page,
        type_label="Objection to marketing / processing",
        channel="Email",
        name=f"{first} {last}",
        email=email.upper(),
    )
    rid = confirm_and_open(page, f"(homeowner #{sid})")
    verify_identity(page, "Reply from the registered email address")
    page.wait_for_selector("#privacy-request-action-opt-out")
    page.click("#privacy-request-optout-submit")
    expect(page.locator("#privacy-request-done")).to_contain_text("Suppression entries added")

    granted, source, evidence = one(
        live_db,
        "SELECT granted, source, evidence FROM consent_event WHERE subject_type = 'homeowner' "
        "AND subject_id = :h AND purpose = 'marketing_email' ORDER BY id DESC LIMIT 1",
        h=sid,
    )
    assert (granted, source) == (0, "privacy_request") and f"#{rid}" in evidence
    key_file = live_server.instance_path / "suppression_key"
    key = os.environ.get("SUPPRESSION_KEY") or key_file.read_text().strip()
    # the digest the list must hold, computed here (not with the function under test):
    # HMAC-SHA256 of "email:<address as stored>" under the instance's key
    digest = hmac.new(
        key.encode(), f"email:{email.strip().lower()}".encode(), hashlib.sha256
    ).hexdigest()
    assert scalar(live_db, "SELECT reason FROM suppression WHERE digest = :d", d=digest) == (
        "objection"
    )
    timeline = page.inner_text("#privacy-request-timeline")
    assert "Opt-outs recorded" in timeline and "Marketing by email" in timeline
