"""The privacy desk in use (issue 11's "done when"), in Chromium:

* an error appears under the button that caused it, in plain words, and in view;
* a double-click on every create form (intake, legal disclosure, staff account) gives one record;
* the bulk close lists what it will close and closes nothing until confirmed;
* the queue shows a request logged elsewhere without a reload;
* a long note is clipped behind "show more"; the request page leads with the next step.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from data.db import make_engine, session_scope
from data.timeutil import utcnow
from tests.e2e.test_privacy_journeys import choose, log_request, scalar
from tests.privacy_support import add_request


@pytest.fixture
def officer(page_as):
    return page_as("privacy_officer")


@pytest.fixture
def live_db(live_server):
    engine = make_engine(live_server.database_url)
    yield engine
    engine.dispose()


def new_request(engine, **fields) -> int:
    """A request as another officer (or the unverified sweep's past) would have left it."""
    fields = {
        "received_at": utcnow().replace(microsecond=0) - timedelta(days=3),
        "given_name": "Journey Person",
        "given_email": "journey.person@example.org",
        "no_record_found": True,
        **fields,
    }
    with session_scope(engine) as s:
        return add_request(s, **fields).id


def queue_count(page) -> int:
    """The count line's number, read as ``expect`` reads it (``textContent``): its
    ``innerText`` is empty while a loading overlay hides the line, which made a read right
    after the check fail now and then."""
    count = page.locator("#privacy-queue-count")
    expect(count).to_contain_text("request(s)")
    return int((count.text_content() or "").split()[0])


def result_beside(page, button: str, result: str) -> None:
    """The result is right under its button and inside the viewport."""
    locator = page.locator(result)
    expect(locator).to_be_in_viewport()
    button_box = page.locator(button).bounding_box()
    result_box = locator.bounding_box()
    assert button_box and result_box
    assert 0 <= result_box["y"] - (button_box["y"] + button_box["height"]) < 120


def test_an_error_appears_beside_its_button_in_plain_words(officer, live_db):
    page = officer
    rid = new_request(live_db, type="correction")
    page.goto(f"/privacy/{rid}")
    # the next step first, the rest folded; clock and due date in the header
    expect(page.locator("#privacy-request-action-complete")).to_contain_text("Next step")
    expect(page.locator("#privacy-request-due")).to_contain_text("Due ")
    expect(page.locator("#privacy-request-action-deny")).to_be_hidden()
    page.click("#privacy-request-open-extend")
    page.fill("#privacy-request-extend-days", "999")
    page.fill("#privacy-request-extend-reason", "")
    page.locator("#privacy-request-extend-submit").scroll_into_view_if_needed()
    page.click("#privacy-request-extend-submit")
    error = "#privacy-request-extend-result .action-result"
    expect(page.locator(error)).to_contain_text("Enter the number of days, from 1 to 30.")
    expect(page.locator(error)).to_contain_text("Give the reason for the extension.")
    assert "days:" not in page.inner_text(error)
    result_beside(page, "#privacy-request-extend-submit", error)
    expect(page.locator("#privacy-request-extend-days")).to_have_class(re.compile("is-invalid"))
    # denial needs its own confirmation: without the tick nothing happens
    page.click("#privacy-request-open-deny")
    choose(page, "privacy-request-deny-reason", "Legal hold")
    page.fill("#privacy-request-deny-response", "We must keep these records.")
    page.click("#privacy-request-deny-submit")
    expect(page.locator("#privacy-request-deny-result")).to_contain_text("Tick “I confirm”")
    status = scalar(live_db, "SELECT status FROM privacy_request WHERE id = :r", r=rid)
    assert status == "received"


def test_double_clicks_on_create_forms_give_one_record(officer, page_as, live_db):
    page = officer
    email = "double.click@example.org"
    log_request(page, type_label="Erasure (delete my data)", channel="Email", name="", email=email)
    page.get_by_text("No record found", exact=False).first.click()
    page.dblclick("#privacy-intake-submit")
    page.wait_for_selector("#privacy-intake-logged")
    page.wait_for_timeout(1500)  # let the second click's answer arrive too
    logged = scalar(live_db, "SELECT count(*) FROM privacy_request WHERE given_email = :e", e=email)
    assert logged == 1
    # the form was reset after success
    assert page.input_value("#privacy-intake-email") == ""

    sid = scalar(live_db, "SELECT min(id) FROM homeowner WHERE email IS NOT NULL")
    subject_email = scalar(live_db, "SELECT email FROM homeowner WHERE id = :h", h=sid)
    page.goto("/privacy?tab=disclosures")
    page.fill("#privacy-disclosure-reference", "JOURNEY/2026/1")
    page.fill("#privacy-disclosure-authority", "Information Regulator")
    page.fill("#privacy-disclosure-basis", "POPIA s89")
    page.fill("#privacy-disclosure-released", "contact details")
    page.click("#privacy-disclosure-submit")  # no subject yet: refused beside the button
    expect(page.locator("#privacy-disclosure-result")).to_contain_text(
        "Find the person the information was about and choose them."
    )
    page.fill("#privacy-disclosure-lookup", subject_email)
    page.click("#privacy-disclosure-find")
    page.locator("#privacy-disclosure-subject input").first.check()
    page.dblclick("#privacy-disclosure-submit")
    page.wait_for_selector("#privacy-disclosure-recorded")
    page.wait_for_timeout(1500)
    recorded = scalar(
        live_db, "SELECT count(*) FROM legal_disclosure WHERE reference = 'JOURNEY/2026/1'"
    )
    assert recorded == 1
    assert page.input_value("#privacy-disclosure-reference") == ""

    admin = page_as("admin")
    admin.goto("/admin/users")
    admin.fill("#users-new-username", "double.click")
    admin.click("#users-new-role")
    admin.get_by_role("listbox").get_by_role("option", name="Manager", exact=True).click()
    admin.fill("#users-new-password", "a-long-password-1")
    admin.dblclick("#users-create")
    expect(admin.locator("#users-create-result")).to_contain_text("double.click")
    admin.wait_for_timeout(1500)
    assert scalar(live_db, "SELECT count(*) FROM app_user WHERE username = 'double.click'") == 1
    assert admin.input_value("#users-new-username") == ""
    # roles are words in the grid
    expect(admin.locator("#users-grid .ag-cell[col-id='role']").first).not_to_have_text(
        "privacy_officer"
    )


def test_bulk_close_lists_what_it_closes_and_needs_confirming(officer, live_db):
    page = officer
    old = utcnow().replace(microsecond=0) - timedelta(days=45)
    stale = [new_request(live_db, received_at=old, type=t) for t in ("access", "objection")]
    page.goto("/privacy")
    before = queue_count(page)
    page.click("#privacy-close-stale")
    listed = page.locator("#privacy-close-stale-list")
    for rid in stale:
        expect(listed).to_contain_text(f"#{rid} ·")
    expect(page.locator("#privacy-close-stale-confirm")).to_be_in_viewport()
    shown = listed.locator("li").count()
    assert shown >= 2
    open_now = scalar(
        live_db,
        "SELECT count(*) FROM privacy_request WHERE status = 'received' AND id IN (:a, :b)",
        a=stale[0],
        b=stale[1],
    )
    assert open_now == 2  # showing the list closed nothing
    page.click("#privacy-close-stale-confirm")
    expect(page.locator("#privacy-close-stale-done")).to_contain_text(f"#{stale[0]}")
    with live_db.connect() as conn:
        statuses = conn.execute(
            text("SELECT status FROM privacy_request WHERE id IN (:a, :b)"),
            {"a": stale[0], "b": stale[1]},
        ).scalars()
        assert set(statuses) == {"unverified"}
    # the queue no longer lists them, without a reload
    expect(page.locator("#privacy-queue-count")).to_have_text(f"{before - shown} request(s)")


def test_the_queue_shows_a_new_request_without_reload(officer, live_db):
    page = officer
    page.goto("/privacy")
    page.wait_for_selector("#privacy-queue-grid .ag-row")
    page.evaluate("window.__same_document = true")
    rid = new_request(
        live_db, type="analytics_opt_out", received_at=utcnow().replace(microsecond=0)
    )
    cell = page.locator("#privacy-queue-grid").get_by_text(f"#{rid}", exact=True)
    expect(cell).to_have_count(1, timeout=20_000)
    assert page.evaluate("window.__same_document === true")  # no reload happened


def test_a_long_note_is_clipped(officer, live_db):
    page = officer
    rid = new_request(live_db, type="objection")
    page.goto(f"/privacy/{rid}")
    page.click("#privacy-request-open-note")
    long_note = "\n".join(f"Line {i}: " + "call log entry " * 20 for i in range(60))
    page.fill("#privacy-request-note-text", long_note)
    page.click("#privacy-request-note-submit")
    expect(page.locator("#privacy-request-done")).to_contain_text("Note added.")
    note = page.locator(".timeline-note .clipped")
    expect(note).to_have_count(1)
    expect(note.locator("summary")).to_contain_text("Show more")
    expect(note.locator(".clipped-full")).to_be_hidden()
    assert page.locator(".timeline-note").bounding_box()["height"] < 400
    note.locator("summary").click()
    expect(note.locator(".clipped-full")).to_be_visible()
