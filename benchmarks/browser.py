"""Time the partner pages in a real browser: what a manager waits for, not what a query costs.

    .venv/bin/python benchmarks/browser.py [--leads 100000 | --database-url URL] [--runs 5]
                                           [--json FILE] [--warm] [--cookie-login] [--waterfall]
                                           [--tab-pause MS]

Starts the app as ``make run`` does (``app.py``, Flask's threaded server) on a generated
benchmark database (default ``/tmp/pod-bench/leads-N.db``, built by ``benchmarks/run.py
--leads N``), logs in as ``manager`` in headless Chromium (``/usr/bin/chromium`` through
Playwright) and times, per run:

* ``load /partners``: a navigation to the page until the grid's rows and both charts are drawn,
  typed into a tab that is already open (``--tab-pause`` ms after the tab opened; with 0 the
  new tab's own start-up, ~0.3 s of the browser's work on two cores, overlaps the load and adds
  150-200 ms to it);
* ``change period (90 days)`` and ``change trade``: choosing the option in the filter bar until
  the new view (cards, charts, rows) is drawn;
* ``open a partner``: clicking the first partner in the grid until the detail page's charts are
  drawn.

"Drawn" is measured in the page: a script added to every document notes, on every animation
frame, when the page's figures (Plotly's laid-out figure object), grid rows or text (but not AG
Grid's hidden screen-reader announcements) last changed, and counts the callback requests in
flight. A step is over once its elements are there, no callback is running and nothing changed
for ``--quiet`` ms; its time is the moment of the *last* change, from the navigation's start
or from the click (recorded by a capturing listener, in ``sessionStorage`` so that it survives
a full navigation).

The server's result cache is cleared before every timed step (the app runs under a small
launcher that clears it on SIGUSR1), so each step costs what it costs the first visitor of a
view; ``--warm`` keeps it.

The benchmark writes to the database only through the app: the login form records the attempt
and an audit entry, a schema behind the code is migrated when the app starts, and the first
ranking of a standard period on a new day stores its per-partner totals. ``--cookie-login``
signs the session cookie instead of submitting the form and refuses a schema that needs a
migration; the app's own stores remain, so run it on a copy of a database that must stay
untouched (``sqlite3 SRC ".backup COPY"``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402

DEFAULT_DIR = Path("/tmp/pod-bench")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
USERNAME = "manager"
CALLBACK_PATH = "/_dash-update-component"

#: Runs in every document before the app's scripts: the change tracker described above.
TRACKER_JS = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const ids = new WeakMap();
  let next = 1;
  const uid = (o) => {
    if (o == null) return 0;
    if (!ids.has(o)) ids.set(o, next++);
    return ids.get(o);
  };
  const bench = { inflight: 0, lastNet: 0, lastChange: now(), sig: "", changes: [], long: [],
                  draws: [] };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        bench.long.push([performance.timeOrigin + e.startTime, e.duration]);
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long-task timing in this browser */ }
  window.__bench = bench;
  const fetch0 = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (!url.includes("_dash-update-component")) return fetch0(input, init);
    bench.inflight += 1;
    const done = () => { bench.inflight -= 1; bench.lastNet = now(); };
    return fetch0(input, init).then(
      (r) => r.clone().text().then(() => { done(); return r; }),
      (e) => { done(); throw e; });
  };
  document.addEventListener("click", (e) => {
    const target = e.target && e.target.closest && e.target.closest("[role=option], a");
    if (target) sessionStorage.setItem("__benchClick", String(now()));
  }, true);
  const drawn = new WeakMap();  // figure element → its last laid-out figure
  const signature = () => {
    const parts = [];
    for (const g of document.querySelectorAll(".js-plotly-plot")) {
      parts.push(uid(g), uid(g._fullLayout), g.data ? g.data.length : -1);
      if (g._fullLayout && drawn.get(g) !== g._fullLayout) {
        drawn.set(g, g._fullLayout);
        const owner = g.closest("[id]");
        if (bench.draws.length < 500) bench.draws.push([now(), owner ? owner.id : "?"]);
      }
    }
    for (const grid of document.querySelectorAll(".ag-root-wrapper")) {
      const rows = grid.querySelectorAll(".ag-row");
      parts.push(uid(grid), rows.length, rows.length ? rows[0].textContent.length : 0);
    }
    const content = document.getElementById("_pages_content");
    let text = content ? content.textContent.length : -1;
    // AG Grid's screen-reader announcements ("1 to 25 of 5,000. Page 1 of 200") live in a
    // 1-pixel clipped region it updates 200 ms after the rows: nothing a person sees
    for (const aria of document.querySelectorAll(".ag-aria-description-container")) {
      text -= aria.textContent.length;
    }
    parts.push(text);
    return parts.join(",");
  };
  const tick = () => {
    const sig = signature();
    if (sig !== bench.sig) {
      bench.sig = sig;
      bench.lastChange = now();
      if (bench.changes.length < 500) bench.changes.push([bench.lastChange, sig]);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

#: True (with the timings) once the step's elements are drawn and the page has been quiet.
SETTLED_JS = r"""
(spec) => {
  const b = window.__bench;
  if (!b) return null;
  const t = performance.timeOrigin + performance.now();
  if (spec.url && !new RegExp(spec.url).test(location.pathname + location.search)) return null;
  for (const sel of spec.selectors || []) if (!document.querySelector(sel)) return null;
  for (const id of spec.graphs || []) {
    const g = document.querySelector(`#${id} .js-plotly-plot`);
    if (!g || !g._fullLayout || (spec.withData && !(g.data && g.data.length))) return null;
  }
  if (b.inflight > 0 || t - b.lastNet < spec.quiet || t - b.lastChange < spec.quiet) return null;
  const click = Number(sessionStorage.getItem("__benchClick") || 0);
  const from = Math.max(click, performance.timeOrigin);
  return { end: b.lastChange, origin: performance.timeOrigin, click,
           changes: b.changes.filter((c) => c[0] >= from).map((c) => c[0]),
           long: b.long.filter((l) => l[0] >= from),
           draws: b.draws.filter((d) => d[0] >= from) };
}
"""

PARTNER_GRAPHS = ["partners-scatter", "partners-by-trade"]
DETAIL_GRAPHS = [
    "partner-detail-trend",
    "partner-detail-funnel",
    "partner-detail-stars",
    "partner-detail-aspects",
    "partner-detail-response",
]
GRID_ROW_LINK = "#partners-grid a[href^='/partners/']"


@dataclass
class Step:
    name: str
    samples_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)  # long tasks on the main thread
    callbacks: list[list[dict[str, Any]]] = field(default_factory=list)
    last_run: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        last = self.callbacks[-1] if self.callbacks else []
        return {
            "name": self.name,
            "runs": len(self.samples_ms),
            "median_ms": round(statistics.median(self.samples_ms), 1),
            "p95_ms": round(float(np.percentile(self.samples_ms, 95)), 1),
            "samples_ms": [round(s, 1) for s in self.samples_ms],
            "long_tasks_ms": round(statistics.median(self.busy_ms), 1),
            "callbacks": len(last),
            "callback_kb": round(sum(c["bytes"] for c in last) / 1024, 1),
            "slowest_callback_ms": round(max((c["ms"] for c in last), default=0), 1),
            "figure_draws": len(self.last_run.get("figure_draws", [])),
            "last_run": {"callbacks": last, **self.last_run},
        }


# --- the server -------------------------------------------------------------------------------


def serve_app() -> None:
    """The launcher the benchmark runs: ``python app.py``, plus SIGUSR1 → clear the cache."""
    from data.query_cache import clear_all

    signal.signal(signal.SIGUSR1, lambda *_: clear_all())
    import app

    app.main()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, secret: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.instance = tempfile.TemporaryDirectory(prefix="pod-browser-")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret,
            "INSTANCE_PATH": self.instance.name,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
        }
        self.process = subprocess.Popen(
            self.command(),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server exited; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the server did not start within 120 s; see {log}")

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--serve-app"]

    def clear_cache(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        self.instance.cleanup()


# --- the database -----------------------------------------------------------------------------


def inspect_database(url: str, no_migration: bool) -> dict[str, Any]:
    """Read-only checks and what the steps need: the manager's id, the trades to choose."""
    from sqlalchemy import select, text

    from data.db import make_engine, schema_is_current
    from data.models import Trade, User

    engine = make_engine(url)
    try:
        if not schema_is_current(engine):
            if no_migration:
                raise SystemExit(f"{url}: the schema is not current (the app would migrate it)")
            print("note: the app will migrate this database's schema on start")
        with engine.connect() as conn:
            meta = dict(conn.execute(text("SELECT key, value FROM data_meta")).all())
            user = conn.execute(
                select(User.id, User.session_version).where(User.username == USERNAME)
            ).first()
            trades = conn.execute(select(Trade.name).order_by(Trade.name)).scalars().all()
    finally:
        engine.dispose()
    if user is None:
        raise SystemExit(f"no user {USERNAME!r} in {url}: build it with benchmarks/run.py")
    return {
        "user_id": user[0],
        "session_version": user[1] or 0,
        "trades": trades,
        "leads": meta.get("demo_leads", "?"),
    }


def session_cookie(secret: str, db: dict[str, Any], user_agent: str) -> str:
    """Flask's signed session cookie for a logged-in user, made with the secret the benchmark
    gave the server: a login that writes nothing. It holds what the login form's answer
    holds (Flask-Login's keys and ``auth.login_session_fields``, which bind the session to the
    client's address and browser), so the server accepts it as the same login."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    from auth import login_session_fields

    app = Flask("benchmark")
    app.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    client = {"REMOTE_ADDR": "127.0.0.1"}
    with app.test_request_context(environ_base=client, headers={"User-Agent": user_agent}):
        fields = login_session_fields(db["session_version"])
    return serializer.dumps({"_user_id": str(db["user_id"]), "_fresh": True, **fields})


# --- the browser ------------------------------------------------------------------------------


def settle(page: Any, spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    handle = page.wait_for_function(SETTLED_JS, arg=spec, polling=50, timeout=timeout_s * 1000)
    return handle.json_value()


def choose(page: Any, dropdown_id: str, label: str) -> None:
    """Open a Dash dropdown and click one of its options (the click starts the clock)."""
    page.click(f"#{dropdown_id}")
    option = page.get_by_role("option", name=label, exact=True)
    option.wait_for(state="visible", timeout=10_000)
    option.click()


class Recorder:
    """The Dash callback requests of one step: output, duration, response size."""

    def __init__(self, page: Any) -> None:
        self.items: list[dict[str, Any]] = []
        page.on("requestfinished", self._finished)

    def _finished(self, request: Any) -> None:
        if CALLBACK_PATH not in request.url:
            return
        timing = request.timing
        try:
            output = (request.post_data_json or {}).get("output", "?")
            size = request.sizes()["responseBodySize"]
        except Exception:  # the page went away under the request
            output, size = "?", 0
        self.items.append(
            {
                "output": str(output)[:80],
                "start": timing["startTime"],
                "ms": timing["responseEnd"],
                "bytes": size,
            }
        )

    def take(self, origin: float) -> list[dict[str, Any]]:
        out = [
            {**c, "start": round(c["start"] - origin, 1), "ms": round(c["ms"], 1)}
            for c in sorted(self.items, key=lambda c: c["start"])
        ]
        self.items = []
        return out


def run_steps(args: argparse.Namespace, server: Server, db: dict[str, Any]) -> list[Step]:
    from playwright.sync_api import sync_playwright

    partners = {"graphs": PARTNER_GRAPHS, "withData": True, "selectors": [GRID_ROW_LINK]}
    quiet = {"quiet": args.quiet}
    steps = {
        name: Step(name)
        for name in ("load /partners", "change period (90 days)", "change trade", "open a partner")
    }
    trades = [t for t in db["trades"] if t != "Other"] or db["trades"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
        context.set_default_timeout(args.timeout * 1000)
        context.add_init_script(TRACKER_JS)
        if args.cookie_login:
            probe = context.new_page()
            cookie = session_cookie(args.secret, db, probe.evaluate("navigator.userAgent"))
            probe.close()
            context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
        else:
            page = context.new_page()
            page.goto("/login?next=/")
            page.fill("#username", USERNAME)
            page.fill("#password", args.password)
            page.click("#login-submit")
            page.wait_for_selector("#shell-username")
            page.close()

        def fresh_partners_page() -> Any:
            page = context.new_page()
            recorder = Recorder(page)
            page.goto("about:blank")
            # a user types the address into a tab that is already open; a tab opened and
            # navigated at once also times its own start-up (--tab-pause 0: +150-200 ms)
            page.wait_for_timeout(args.tab_pause)
            if not args.warm:
                server.clear_cache()
            page.goto("/partners")
            found = settle(page, {**partners, **quiet}, args.timeout)
            return page, recorder, found

        for run in range(args.warmup + args.runs):
            counted = run >= args.warmup
            page, recorder, found = fresh_partners_page()
            record(steps["load /partners"], found, None, recorder, counted)

            for step, dropdown, label, pattern in (
                ("change period (90 days)", "partners-period", "Last 90 days", r"period=90d"),
                ("change trade", "partners-trade", trades[run % len(trades)], r"trade="),
            ):
                if step == "change trade":  # from the default view again
                    page.close()
                    page, recorder, found = fresh_partners_page()
                since = before_click(page, recorder, server, args.warm)
                choose(page, dropdown, label)
                found = settle(page, {**partners, **quiet, "url": pattern}, args.timeout)
                record(steps[step], found, since, recorder, counted)

            since = before_click(page, recorder, server, args.warm)
            page.locator(GRID_ROW_LINK).first.click()
            detail = {"graphs": DETAIL_GRAPHS, "selectors": ["#partner-detail-name"], **quiet}
            found = settle(page, {**detail, "url": r"^/partners/\d+"}, args.timeout)
            record(steps["open a partner"], found, since, recorder, counted)
            page.close()
            if counted:
                times = ", ".join(f"{s.name} {s.samples_ms[-1]:.0f}" for s in steps.values())
                print(f"run {run + 1 - args.warmup}: {times} ms", flush=True)
        browser.close()
    return list(steps.values())


def before_click(page: Any, recorder: Recorder, server: Server, warm: bool) -> float:
    """Forget earlier callbacks, clear the server's cache, and return the page's clock."""
    recorder.take(0)
    if not warm:
        server.clear_cache()
    return page.evaluate("performance.timeOrigin + performance.now()")


def record(
    step: Step, found: dict[str, Any], since: float | None, recorder: Recorder, counted: bool
) -> None:
    """One sample: from the navigation's start (``since`` None) or from the click after
    ``since`` (a click the tracker did not see would otherwise time from an earlier one)."""
    if since is None:
        start = found["origin"]
    elif found["click"] >= since:
        start = found["click"]
    else:
        raise RuntimeError(f"{step.name}: the tracker saw no click on an option or a link")
    callbacks = recorder.take(start)
    if counted:
        step.samples_ms.append(found["end"] - start)
        step.busy_ms.append(sum(duration for _, duration in found["long"]))
        step.callbacks.append(callbacks)
        step.last_run = {
            "changes_ms": [round(t - start) for t in found["changes"]],
            "long_tasks_ms": [[round(t - start), round(d)] for t, d in found["long"]],
            "figure_draws": [[round(t - start), graph] for t, graph in found["draws"]],
        }


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--leads", type=int, default=100_000, help="picks /tmp/pod-bench/leads-N.db"
    )
    parser.add_argument("--database-url", help="default: sqlite:////tmp/pod-bench/leads-N.db")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of every step")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--warm", action="store_true", help="keep the server's result cache")
    parser.add_argument(
        "--cookie-login", action="store_true", help="log in without the form (no login records)"
    )
    parser.add_argument("--password", default=None, help="default: benchmarks/run.py's")
    parser.add_argument("--quiet", type=int, default=600, help="ms without change = drawn")
    parser.add_argument(
        "--tab-pause", type=int, default=500, help="ms in a blank new tab before the first load"
    )
    parser.add_argument("--timeout", type=float, default=90, help="seconds per step")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--waterfall", action="store_true", help="print the last run's callbacks")
    parser.add_argument("--serve-app", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def print_table(steps: list[Step], label: str) -> None:
    print(f"\n{label}")
    print("(long tasks: main-thread tasks over 50 ms, summed; callbacks, JSON, slowest callback")
    print(" and figure draws: the last run)")
    header = f"{'step':<26}{'runs':>5}{'median ms':>11}{'p95 ms':>9}{'long tasks':>12}"
    print(header + f"{'callbacks':>11}{'JSON KB':>9}{'slowest cb ms':>15}{'draws':>7}")
    print("-" * (len(header) + 42))
    for step in steps:
        s = step.summary()
        print(
            f"{s['name']:<26}{s['runs']:>5}{s['median_ms']:>11.0f}{s['p95_ms']:>9.0f}"
            f"{s['long_tasks_ms']:>12.0f}{s['callbacks']:>11}{s['callback_kb']:>9.1f}"
            f"{s['slowest_callback_ms']:>15.0f}{s['figure_draws']:>7}"
        )


def print_waterfall(steps: list[Step]) -> None:
    """The last run of every step: callbacks, main-thread long tasks, visible changes."""
    for step in steps:
        last = step.summary()["last_run"]
        print(f"\n{step.name} (last run; ms from the start of the step)")
        for c in last["callbacks"]:
            bar = f"{c['start']:>7.0f} → {c['start'] + c['ms']:>7.0f}"
            print(f"  callback {bar}  {c['bytes'] / 1024:>7.1f} KB  {c['output']}")
        tasks = ", ".join(f"{t}+{d}" for t, d in last["long_tasks_ms"])
        print(f"  long tasks (start+ms): {tasks or 'none'}")
        print(f"  changes drawn at: {', '.join(map(str, last['changes_ms']))}")
        draws = ", ".join(f"{g}@{t}" for t, g in last["figure_draws"])
        print(f"  figures (re)drawn: {draws or 'none'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_app:
        serve_app()
        return 0
    from benchmarks.run import BENCH_PASSWORD

    args.password = args.password or BENCH_PASSWORD
    args.secret = os.urandom(24).hex()
    url = args.database_url or f"sqlite:///{DEFAULT_DIR / f'leads-{args.leads}.db'}"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise SystemExit(f"{url} does not exist: build it with benchmarks/run.py --leads N")
    db = inspect_database(url, args.cookie_login)
    log = Path(tempfile.gettempdir()) / f"pod-browser-server-{os.getpid()}.log"
    print(f"database {re.sub(r'//[^@/]*@', '//…@', url)} ({db['leads']} leads); server log {log}")
    server = Server(url, args.secret, log)
    try:
        steps = run_steps(args, server, db)
    finally:
        server.stop()
    cache = "warm server cache" if args.warm else "server cache cleared before every step"
    label = f"{db['leads']} leads, {args.runs} runs (+{args.warmup} warm-up), {cache}"
    print_table(steps, label)
    if args.waterfall:
        print_waterfall(steps)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "database": re.sub(r"//[^@/]*@", "//…@", url),
            "leads": db["leads"],
            "runs": args.runs,
            "warm": args.warm,
            "steps": [s.summary() for s in steps],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
