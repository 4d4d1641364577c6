"""Record each role's callback traffic in a real browser, for the load benchmark to replay.

    .venv/bin/python benchmarks/load/record.py --base-url http://127.0.0.1:8050 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_ops

Logs in through the form in headless Chromium (``/usr/bin/chromium`` through Playwright) as
``manager`` and as ``privacy`` (the demo users, password ``DEMO_PASSWORD`` or ``demo``), opens
each page of the role's journey (:data:`JOURNEYS`; a partner's and a privacy request's page
take the first id in the database), waits until no callback is in flight, and writes every
``/_dash-update-component`` body the browser sent, in order, to ``traffic/<role>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
JOURNEYS = {
    "manager": [
        "/",
        "/partners",
        "/partners?period=90d",
        "/partners/{partner}",
        "/leads",
        "/consent",
    ],
    "privacy": ["/", "/privacy", "/privacy/{request}", "/audit", "/consent"],
}
QUIET_MS = 1500


def first_ids(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        partner = conn.scalar(text("SELECT min(id) FROM partner"))
        request = conn.scalar(text("SELECT min(id) FROM privacy_request"))
    engine.dispose()
    return {"partner": partner or 1, "request": request or 1}


def record(base_url: str, user: str, password: str, paths: list[str]) -> list[dict]:
    calls: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
        page = browser.new_page()
        page.goto(f"{base_url}/login")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("#login-submit")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(QUIET_MS)
        current = {"path": ""}

        def on_request(req) -> None:
            if req.method == "POST" and "/_dash-update-component" in req.url:
                url = req.url[req.url.index("/_dash-update-component") :]
                calls.append(
                    {"page": current["path"], "url": url, "body": json.loads(req.post_data or "{}")}
                )

        page.on("request", on_request)
        for path in paths:
            current["path"] = path
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(QUIET_MS)  # lets Playwright deliver the events
        browser.close()
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8050")
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    ids = first_ids(args.database_url)
    password = os.environ.get("DEMO_PASSWORD", "demo")
    for role, journey in JOURNEYS.items():
        paths = [p.format(**ids) for p in journey]
        calls = record(args.base_url, role, password, paths)
        target = HERE / "traffic" / f"{role}.json"
        target.write_text(json.dumps({"paths": paths, "calls": calls}, indent=1))
        print(f"{role}: {len(calls)} callback requests on {len(paths)} pages -> {target}")


if __name__ == "__main__":
    main()
