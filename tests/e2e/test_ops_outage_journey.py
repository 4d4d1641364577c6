"""A callback that meets a database outage in a real browser (issue 17): the page shows the
server's message and retries by itself, then draws normally once the database is back.

The outage is played by Playwright: the first callback requests after the page opens are
answered exactly as ``ops.outage`` answers them (503, the JSON message, ``Retry-After``); the
server-side answer itself is tested in ``tests/web/test_ops_outage.py``.
"""

from __future__ import annotations

import json

from ops.outage import MESSAGE


def test_a_503_shows_the_message_and_the_callback_is_retried(page_as, console):
    console.allow.append("503")  # the browser logs each refused request
    page = page_as("manager")
    page.wait_for_selector("#home-kpi-leads")
    refused = {"count": 0}

    def outage(route) -> None:
        if refused["count"] < 2:
            refused["count"] += 1
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body=json.dumps({"error": MESSAGE}),
            )
        else:
            route.continue_()

    page.route("**/_dash-update-component*", outage)
    page.click("nav a.nav-link[href='/partners']")
    banner = page.wait_for_selector("#ops-outage-banner")
    assert banner.inner_text() == MESSAGE
    page.wait_for_selector("#partners-grid .ag-row", timeout=60_000)
    assert page.query_selector("#ops-outage-banner") is None
    assert refused["count"] == 2
