"""Consent in Chromium (issue 15's "done when"):

* a manager sees coverage and trends on ``/consent``, lists one rule's violations as records
  (no person), narrows the page by purpose through the address, and is refused the people page;
* a privacy officer looks a person up by a phone number typed as ``082 555 0101``, sees their
  consent history with its evidence, downloads the suppression list, and finds the download in
  the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from data.db import make_engine, session_scope
from data.export import read_csv_export
from data.models import ConsentEvent, Homeowner
from data.timeutil import utcnow

WAIT = 45_000
PHONE = "+27825550101"
EVIDENCE = "Unsubscribed via the link in newsletter #e2e"


@pytest.fixture(scope="module")
def person(live_server):
    """A homeowner with phone 082 555 0101 who granted and then withdrew marketing email."""
    engine = make_engine(live_server.database_url)
    now = utcnow().replace(microsecond=0)
    with session_scope(engine) as s:
        existing = s.scalar(select(Homeowner.id).where(Homeowner.phone == PHONE))
        if existing is None:
            row = Homeowner(first_name="Lindiwe", last_name="E2e-Dlamini", phone=PHONE,
                            email="lindiwe.e2e@example.co.za", city="Durban",
                            province="KwaZulu-Natal", created_at=now - timedelta(days=60),
                            last_activity_at=now - timedelta(days=5))  # fmt: skip
            s.add(row)
            s.flush()
            existing = row.id
        s.add_all([
            ConsentEvent(subject_type="homeowner", subject_id=existing,
                         purpose="marketing_email", granted=True, at=now - timedelta(days=60),
                         source="web_form", evidence="Signed up on the quote form"),
            ConsentEvent(subject_type="homeowner", subject_id=existing,
                         purpose="marketing_email", granted=False, at=now - timedelta(days=3),
                         source="email", evidence=EVIDENCE),
        ])  # fmt: skip
        name = " ".join(s.execute(select(Homeowner.first_name, Homeowner.last_name)
                                  .where(Homeowner.id == existing)).one())  # fmt: skip
    engine.dispose()
    return existing, name


def test_manager_sees_coverage_and_trends(page_as, person, console):
    page = page_as("manager")
    page.goto("/consent")
    page.wait_for_selector("#consent-page", timeout=WAIT)
    coverage = page.locator("#consent-coverage-homeowner")
    expect(coverage).to_contain_text("Consent coverage: homeowners", timeout=WAIT)
    expect(coverage.locator(".bars .point").first).to_be_visible(timeout=WAIT)
    expect(page.locator("#consent-changes")).to_contain_text("Opt-ins and opt-outs over time")
    expect(page.locator("#consent-changes .bars .point").first).to_be_visible(timeout=WAIT)
    expect(page.locator("#consent-coverage-table")).to_contain_text("Marketing by email")
    # the monitor is counted after the page is shown (its own callback)
    expect(page.locator("#consent-monitor-table")).to_contain_text(
        "Access requests past", timeout=WAIT
    )
    assert page.locator("#consent-people-link").count() == 0
    # one rule's violations as records: no person, no homeowner number
    page.select_option("#consent-monitor-rule", "suppressed_reappearing")
    listed = page.locator("#consent-monitor-list")
    expect(listed).to_contain_text("shown, newest first", timeout=WAIT)
    assert "homeowner #" not in listed.inner_text()
    body = page.content()
    _pid, name = person
    assert name not in body and "082 555 0101" not in body

    page.goto("/consent?purpose=marketing_email&subject=homeowner")
    page.wait_for_selector("#consent-page", timeout=WAIT)
    table = page.locator("#consent-coverage-table")
    expect(table).to_contain_text("Marketing by email", timeout=WAIT)
    expect(table).not_to_contain_text("Call recording")

    console.allow.append("status of 403")  # the people page refuses a manager, as it must
    page.goto("/consent/people")
    expect(page.locator("#shell-forbidden")).to_be_visible(timeout=WAIT)


def test_privacy_officer_looks_up_a_phone_and_downloads_the_list(page_as, person, tmp_path):
    pid, name = person
    page = page_as("privacy_officer")
    page.goto("/consent")
    page.wait_for_selector("#consent-page", timeout=WAIT)
    page.click("#consent-people-link")
    page.wait_for_selector("#consent-people-page", timeout=WAIT)

    page.fill("#consent-people-lookup", "082 555 0101")
    page.click("#consent-people-find")
    found = page.locator("#consent-people-found")
    expect(found).to_contain_text(f"(homeowner #{pid})", timeout=WAIT)
    expect(found).to_contain_text(name)
    history = page.locator(f"#consent-people-history-homeowner-{pid}")
    expect(history).to_contain_text(EVIDENCE)
    expect(history).to_contain_text("Signed up on the quote form")
    expect(history.locator("tr", has_text=EVIDENCE)).to_contain_text("current")

    page.fill("#consent-people-lookup", "not a number")
    page.click("#consent-people-find")
    expect(page.locator("#consent-people-lookup-error")).to_contain_text(
        "not a phone number we can read", timeout=WAIT
    )

    with page.expect_download() as download:
        page.click("#consent-people-download-button")
    target = Path(tmp_path) / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name.startswith("suppression-list-") and target.suffix == ".csv"
    _header, table = read_csv_export(target.read_bytes())
    mine = table[(table.record == "person") & (table.subject_id == pid)]
    assert mine.purpose.tolist() == ["marketing_email"]
    assert mine.phone.tolist() == ["082 555 0101"]
    assert (table.record == "suppression entry").any()

    page.goto("/audit?object_type=suppression")
    cells = page.locator("#audit-grid .ag-cell[col-id='action']")
    expect(cells.filter(has_text="consent.suppression_list.export").first).to_be_visible(
        timeout=WAIT
    )
