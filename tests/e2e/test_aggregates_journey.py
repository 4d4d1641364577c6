"""Marketing in Chromium: picks province × age band for last year, sees the suppressed cells
marked in the cross-tab, downloads the Excel file and the CSV, and the ledger refuses a
differencing pair (the same table again after one homeowner left the population)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from playwright.sync_api import expect
from sqlalchemy import select, text

from data.db import make_engine
from data.export import read_csv_export
from data.models import Homeowner, Lead
from data.timeutil import start_of
from tests.e2e.test_partners_journey import WAIT, choose

GRID = "#aggregates-grid"


def _download(page, button: str, folder: Path) -> bytes:
    with page.expect_download() as download:
        page.click(button)
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved.read_bytes()


def _someone_counted(database_url: str, year: int) -> int:
    """A homeowner with a lead last year and no privacy request (left untouched by others)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(Lead.homeowner_id)
                .join(Homeowner, Homeowner.id == Lead.homeowner_id)
                .where(
                    Lead.created_at >= start_of(pd.Timestamp(year, 1, 1).date()),
                    Lead.created_at < start_of(pd.Timestamp(year + 1, 1, 1).date()),
                    Homeowner.erased_at.is_(None),
                    text(
                        "homeowner.id NOT IN (SELECT subject_id FROM privacy_request "
                        "WHERE subject_id IS NOT NULL)"
                    ),
                )
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()


def _set_erased(database_url: str, homeowner_id: int, erased: bool) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                Homeowner.__table__.update()
                .where(Homeowner.id == homeowner_id)
                .values(erased_at=pd.Timestamp.now().to_pydatetime() if erased else None)
            )
    finally:
        engine.dispose()


def test_marketing_exports_and_the_ledger_refuses_differencing(
    page_as, live_server, tmp_path, console
):
    year = live_server.as_of.year - 1
    page = page_as("marketing")
    page.get_by_role("link", name="Aggregates").click()
    page.wait_for_selector("#aggregates-page", timeout=WAIT)

    choose(page, "aggregates-dim-1", "Province")
    choose(page, "aggregates-dim-2", "Age band")
    page.fill("#aggregates-from", f"{year}-01")
    page.fill("#aggregates-to", f"{year}-12")
    page.click("#aggregates-apply")
    page.wait_for_url(f"**/aggregates?dims=province%2Cage_band*from={year}-01&to={year}-12*")
    page.wait_for_selector(f"{GRID} [role='gridcell']", timeout=WAIT)

    # suppressed cells are marked in the cross-tab, and the report counts them
    hidden = page.locator(f"{GRID} [role='gridcell']", has_text="x")
    expect(hidden.first).to_be_visible(timeout=WAIT)
    report = page.locator("#aggregates-report")
    expect(report).to_contain_text("cells suppressed under k (primary)")
    expect(report).to_contain_text(f"{year}-01 to {year}-12")

    xlsx = _download(page, "#aggregates-export-xlsx", tmp_path)
    sheets = pd.read_excel(io.BytesIO(xlsx), sheet_name=None, dtype=object)
    assert list(sheets) == ["Cross-tab", "Long form", "Filters"]
    assert (sheets["Cross-tab"] == "x").to_numpy().any()
    csv = _download(page, "#aggregates-export-csv", tmp_path)
    assert csv.decode("utf-8-sig").startswith("# generated")
    report_lines, table = read_csv_export(csv)
    assert list(table.columns) == ["province", "age_band", "value", "status"]
    assert set(table["status"]) == {"released", "suppressed"}
    released = table[table["status"] == "released"]
    assert ((released["value"] == 0) | (released["value"] >= 10)).all()
    assert report_lines["k (minimum homeowners per released cell)"] == "10"
    expect(page.locator("#aggregates-export-result")).to_contain_text("Exported")

    # one homeowner leaves the population: the same table again would single them out
    someone = _someone_counted(live_server.database_url, year)
    _set_erased(live_server.database_url, someone, True)
    try:
        page.click("#aggregates-export-csv")
        refusal = page.locator("#aggregates-refused")
        expect(refusal).to_contain_text("Refused (differencing)", timeout=WAIT)
        expect(refusal).to_contain_text("fewer than k = 10")
    finally:
        _set_erased(live_server.database_url, someone, False)


def _remaining_budget(page) -> float:
    """The year's remaining ε, as the page's report says it."""
    row = page.locator("#aggregates-report tr", has_text="privacy budget")
    expect(row).to_contain_text("remaining", timeout=WAIT)
    return float(row.inner_text().rsplit("remaining", 1)[1].strip())


def test_marketing_exports_differentially_private_counts_and_spends_budget(
    page_as, live_server, tmp_path, console
):
    """In the private mode the page shows the mechanism and the year's budget but no counts;
    the export holds non-negative noisy counts with ε in its report, and the budget the page
    shows afterwards is smaller by exactly that ε."""
    year = live_server.as_of.year - 1
    page = page_as("marketing")
    page.goto("/aggregates")
    page.wait_for_selector("#aggregates-page", timeout=WAIT)
    choose(page, "aggregates-dim-1", "Province")
    page.fill("#aggregates-from", f"{year}-01")
    page.fill("#aggregates-to", f"{year}-12")
    page.check("#aggregates-dp")
    page.fill("#aggregates-epsilon", "0.5")
    page.click("#aggregates-apply")
    report = page.locator("#aggregates-report")
    expect(report).to_contain_text("pure ε-differential privacy", timeout=WAIT)
    expect(page.get_by_text("Differentially private mode")).to_be_visible()
    assert page.locator(f"{GRID} [role='gridcell']").count() == 0  # no counts on the page
    before = _remaining_budget(page)

    csv = _download(page, "#aggregates-export-csv", tmp_path)
    lines, table = read_csv_export(csv)
    assert lines["epsilon (this table)"] == "0.5"
    assert list(table.columns)[:3] == ["province", "age_band", "value"]  # the page's 2nd default
    values = pd.to_numeric(table["value"])
    assert (values >= 0).all() and (values == values.round()).all()

    page.reload()
    expect(report).to_contain_text("pure ε-differential privacy", timeout=WAIT)
    assert abs(_remaining_budget(page) - (before - 0.5)) < 1e-9
