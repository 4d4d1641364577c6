"""A manager in Chromium on the lead-flow page: changes the period, clicks a funnel step (the
rest of the page then counts the leads that reached it), switches the time series' breakdown,
reloads the address and gets the same view, then follows a link from the operations list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_partners_journey import WAIT, address, choose, wait_for_address


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#leads-page", timeout=WAIT)
    page.wait_for_selector("#leads-funnel .point", timeout=WAIT)


def click_point(page, selector: str, index: int) -> None:
    """Click a Plotly bar where it is drawn (Plotly's drag layer, above the bars, takes the
    mouse and reports the click on the point under it)."""
    point = page.locator(selector).nth(index)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(200)  # Plotly finds the point under the mouse on hover
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_range_funnel_breakdown_reload_and_operations_link(page_as):
    page = page_as("manager")
    page.goto("/leads")
    settle(page)
    expect(page.locator("#leads-period-label")).to_contain_text("Last 90 days")

    # the range
    choose(page, "leads-period", "Last 30 days")
    wait_for_address(page, r"^/leads\?period=30d$")
    settle(page)
    expect(page.locator("#leads-period-label")).to_contain_text("Last 30 days", timeout=WAIT)

    # a funnel step: bars run bottom-up (Reviewed … Created), so the fifth is "Contacted"
    click_point(page, "#leads-funnel .point", 4)
    wait_for_address(page, r"^/leads\?period=30d&step=contacted$")
    settle(page)
    expect(page.locator("#leads-selection")).to_contain_text("reached “Contacted”", timeout=WAIT)
    expect(page.locator("#leads-provinces")).to_contain_text("Leads that reached “Contacted”")

    # the time series' breakdown
    page.get_by_label("Province", exact=True).check()
    wait_for_address(page, r"^/leads\?period=30d&step=contacted&by=province$")
    settle(page)
    expect(page.locator("#leads-series")).to_contain_text("by province", timeout=WAIT)

    # a reload gives the same view
    before = address(page)
    page.reload()
    settle(page)
    assert address(page) == before
    expect(page.locator("#leads-selection")).to_contain_text("reached “Contacted”", timeout=WAIT)
    expect(page.get_by_label("Province", exact=True)).to_be_checked()
    expect(page.locator("#leads-series")).to_contain_text("by province")

    # a link from the operations list opens what the row concerns (a partner, or the partners
    # of the lead's trade and province)
    link = page.locator("#leads-operations a").first
    link.wait_for(timeout=WAIT)
    href = link.get_attribute("href")
    assert href and href.startswith("/partners"), href
    link.click()
    wait_for_address(page, "^/partners")
    page.wait_for_selector("#partner-detail-page, #partners-page", timeout=WAIT)
    assert address(page) == href
