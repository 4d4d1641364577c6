"""Erasure and retention in Chromium (issue 13's "done when"): an officer previews an erasure,
confirms it by typing the request number and sees the receipt; then previews retention and runs
a small sweep whose progress bar fills (a Dash background callback, disk-cache manager)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from data.db import make_engine


@pytest.fixture
def live_db(live_server):
    engine = make_engine(live_server.database_url)
    yield engine
    engine.dispose()


READY = """
SELECT r.id, r.subject_id FROM privacy_request r JOIN homeowner h ON h.id = r.subject_id
WHERE r.type = 'erasure' AND r.status = 'in_progress' AND r.verification_outcome = 'verified'
  AND r.subject_type = 'homeowner' AND h.legal_hold IS NULL
  AND NOT EXISTS (SELECT 1 FROM review v WHERE v.homeowner_id = h.id AND v.dispute)
ORDER BY r.id
"""


def test_an_officer_previews_confirms_and_sees_the_receipt(page_as, live_db):
    with live_db.connect() as conn:
        rid, homeowner_id = conn.execute(text(READY)).first()
        email = conn.execute(
            text("SELECT email FROM homeowner WHERE id = :h"), {"h": homeowner_id}
        ).scalar()
    assert email
    page = page_as("privacy_officer")
    page.goto(f"/privacy/{rid}")
    page.click("#privacy-request-erase-preview-submit")
    expect(page.locator("#privacy-request-erase-plan")).to_contain_text("consent_event")
    page.fill("#privacy-request-erase-typed", "0")
    page.click("#privacy-request-erase-submit")
    expect(page.locator("#privacy-request-erase-result")).to_contain_text("Type the request number")
    page.fill("#privacy-request-erase-typed", str(rid))
    page.click("#privacy-request-erase-submit")
    expect(page.locator("#privacy-request-erase-receipt")).to_be_visible(timeout=30_000)
    expect(page.locator("#privacy-request-erase-scan")).to_contain_text("nothing found")
    with live_db.connect() as conn:
        row = conn.execute(
            text("SELECT email, erased_at FROM homeowner WHERE id = :h"), {"h": homeowner_id}
        ).one()
        status = conn.execute(
            text("SELECT status FROM privacy_request WHERE id = :r"), {"r": rid}
        ).scalar()
    assert row.email is None and row.erased_at is not None and status == "completed"


def test_retention_preview_and_a_small_sweep_with_its_progress_bar(page_as, live_db):
    due = "SELECT COUNT(*) FROM interaction WHERE recording_ref IS NOT NULL AND at < :cutoff"
    page = page_as("privacy_officer")
    page.goto("/retention")
    page.click("#retention-preview-submit")
    expect(page.locator("#retention-preview-table")).to_be_visible()
    recordings = int(page.locator("#retention-due-recordings").inner_text().replace(",", ""))
    assert recordings > 0
    # only the call recordings, in batches of 200: several batches, so the bar moves
    for label in ("Homeowner personal data", "Unverified privacy", "Identifiers in closed"):
        page.get_by_role("checkbox", name=label).uncheck()
    page.fill("#retention-batch", "200")
    page.click("#retention-start")
    expect(page.locator("#retention-sweep-done")).to_contain_text("recordings", timeout=120_000)
    bar = page.locator("#retention-progress .progress-bar")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    page.click("#retention-preview-submit")
    expect(page.locator("#retention-due-recordings")).to_have_text("0")
    now = datetime.now(UTC).replace(tzinfo=None)
    kept = "SELECT COUNT(*) FROM interaction WHERE recording_ref IS NOT NULL AND at > :since"
    with live_db.connect() as conn:  # 6 months: gone before 184 days ago, kept after 181
        assert conn.execute(text(due), {"cutoff": now - timedelta(days=184)}).scalar() == 0
        assert conn.execute(text(kept), {"since": now - timedelta(days=181)}).scalar() > 0
