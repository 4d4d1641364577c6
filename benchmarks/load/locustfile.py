"""Locust users replaying recorded browser traffic (``record.py``): 4 managers : 1 privacy
officer, each user's requests one after another.

Each user logs in once through the real form (GET ``/login`` for the CSRF token, POST the
credentials), then loops over its role's journey: for every page, the shell (``GET`` the page,
``/_dash-layout``, ``/_dash-dependencies``) and then each callback body the browser sent on
that page, in the recorded order. Request kinds (Locust's "name") are ``shell`` and
``cb <page> <first output id>``, so the statistics are per kind. ``--think`` (seconds, default
0) waits between pages.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from locust import HttpUser, between, events, task

HERE = Path(__file__).resolve().parent
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo")
THINK = float(os.environ.get("LOAD_THINK_SECONDS", "0"))


def load_traffic(role: str) -> dict:
    return json.loads((HERE / "traffic" / f"{role}.json").read_text())


def page_kind(path: str) -> str:
    """``/partners/123`` → ``/partners/<id>``; the query string is dropped."""
    path = path.split("?")[0]
    return re.sub(r"/\d+", "/<id>", path)


def callback_kind(page: str, body: dict) -> str:
    output = str(body.get("output", "?")).strip(".")
    first = output.split("...")[0].split(".")[0]
    if first.startswith("{"):
        first = json.loads(first.split("}")[0] + "}").get("type", "pattern")
    return f"cb {page_kind(page)} {first}"


@events.init_command_line_parser.add_listener
def _(parser) -> None:
    parser.add_argument("--think", type=float, default=THINK, help="seconds between pages")


class Replayer(HttpUser):
    abstract = True
    role = ""
    username = ""
    wait_time = between(0, 0)

    def on_start(self) -> None:
        self.traffic = load_traffic(self.role)
        page = self.client.get("/login", name="login form")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.client.post(
            "/login",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrf_token": token.group(1) if token else "",
                "next": "/",
            },
            name="login",
            allow_redirects=False,
        )

    @task
    def journey(self) -> None:
        think = self.environment.parsed_options.think if self.environment.parsed_options else 0
        calls = self.traffic["calls"]
        for path in self.traffic["paths"]:
            self.client.get(path, name="shell")
            self.client.get("/_dash-layout", name="shell")
            self.client.get("/_dash-dependencies", name="shell")
            for call in (c for c in calls if c["page"] == path):
                self.client.post(
                    call.get("url", "/_dash-update-component"),
                    json=call["body"],
                    name=callback_kind(path, call["body"]),
                )
            if think:
                self._sleep(think)

    def _sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)


class Manager(Replayer):
    weight = 4
    role = "manager"
    username = "manager"


class PrivacyOfficer(Replayer):
    weight = 1
    role = "privacy"
    username = "privacy"
