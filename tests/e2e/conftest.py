"""Browser journeys: a real server process on a small demo database, driven by Playwright in
Debian's headless Chromium (``/usr/bin/chromium``; no browser download).

Without Chromium the journeys are skipped, unless ``E2E_REQUIRE_BROWSER=1`` (set by CI), in
which case they fail. Every page fixture records browser console errors and uncaught page
errors; a test fails if any appear that it did not expect.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

E2E_LEADS = 5400  # 27 partners: two pages in the partner grid (25 a page)
E2E_SEED = 7
E2E_PASSWORD = "e2e-password"
E2E_USERS = {
    "admin": "admin",
    "manager": "manager",
    "privacy_officer": "privacy",
    "marketing": "marketing",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    database_url: str
    as_of: date
    instance_path: Path


E2E_PG_DATABASE = "pod_e2e"


def _e2e_database_url(folder: Path) -> str:
    """The journeys' own demo database, never the unit tests' one: an SQLite file, or, when
    the suite runs on PostgreSQL (``TEST_DATABASE_URL``), a scratch database on that server."""
    from sqlalchemy import text

    from data.db import make_engine

    suite_url = os.environ.get("TEST_DATABASE_URL", "")
    if not suite_url.startswith("postgresql"):
        return f"sqlite:///{folder / 'e2e.db'}"
    admin = make_engine(suite_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {E2E_PG_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {E2E_PG_DATABASE}"))
    admin.dispose()
    return suite_url.rsplit("/", 1)[0] + "/" + E2E_PG_DATABASE


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``python app.py`` on its own demo database (see :func:`_e2e_database_url`)."""
    from data.db import make_engine
    from data.demo import build_demo

    folder = tmp_path_factory.mktemp("e2e")
    database_url = _e2e_database_url(folder)
    as_of = date.today()
    engine = make_engine(database_url)
    build_demo(
        engine,
        leads=E2E_LEADS,
        seed=E2E_SEED,
        as_of=as_of,
        password=E2E_PASSWORD,
        progress=lambda _line: None,
    )
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret",
        "INSTANCE_PATH": str(folder),
        "PORT": str(port),
    }
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {(folder / 'server.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("server did not start within 60 s")
    yield LiveServer(url=url, database_url=database_url, as_of=as_of, instance_path=folder)
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        message = "Chromium not found (apt-get install chromium)"
        if os.environ.get("E2E_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class ConsoleWatch:
    """Console errors and page errors seen by one page; ``allow`` lists expected substrings."""

    errors: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allow)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def new_page(browser, live_server: LiveServer, console: ConsoleWatch, tmp_path: Path):
    """``new_page()`` opens a fresh browser context (downloads accepted) watched for errors."""
    contexts = []

    def make():
        context = browser.new_context(accept_downloads=True, base_url=live_server.url)
        context.set_default_timeout(45_000)  # a busy 2-core machine renders a page in 10-30 s
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
        page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not console.unexpected(), f"browser console errors: {console.unexpected()}"


def login_as(page, role: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#username", E2E_USERS[role])
    page.fill("#password", E2E_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#shell-username")


@pytest.fixture
def page_as(new_page) -> Callable[[str], object]:
    """``page_as(role)``: a logged-in page on the overview."""

    def make(role: str):
        page = new_page()
        login_as(page, role)
        return page

    return make
