"""Locust users replaying recorded browser traffic (``record.py``): 4 managers : 1 privacy
officer, each user's requests one after another.

Each user logs in once through the real form (GET ``/login`` for the CSRF token, POST the
credentials), then loops over its role's journey: for every page, the shell (``GET`` the page,
``/_dash-layout``, ``/_dash-dependencies``) and then each callback body the browser sent on
that page, in the recorded order. Request kinds (Locust's "name") are ``shell`` and
``cb <page> <first output id>``, so the statistics are per kind. ``--think`` (seconds, default
0) is the mean pause between pages, a person reading what the page shows: each pause is drawn
uniformly from half to one and a half times it, so users started together do not stay in step.

The users are ``FastHttpUser`` (geventhttpclient), not ``HttpUser`` (requests): Locust runs on
the machine it measures, and ``requests`` cost about 2.5 ms of CPU per request there, several
times what geventhttpclient costs (``run.py`` reports Locust's own CPU).
"""

from __future__ import annotations

import os
import random
import re
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task
from replay import load_traffic, page_steps

PASSWORD = os.environ.get("DEMO_PASSWORD", "demo")
THINK = float(os.environ.get("LOAD_THINK_SECONDS", "0"))


@events.init_command_line_parser.add_listener
def _(parser) -> None:
    parser.add_argument("--think", type=float, default=THINK, help="mean seconds between pages")


class Replayer(FastHttpUser):
    abstract = True
    role = ""
    username = ""
    wait_time = between(0, 0)

    def on_start(self) -> None:
        self.traffic = load_traffic(self.role)
        page = self.client.get("/login", name="login form")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        form = {
            "username": self.username,
            "password": PASSWORD,
            "csrf_token": token.group(1) if token else "",
            "next": "/",
        }
        self.client.post(
            "/login",
            data=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="login",
            allow_redirects=False,
        )

    @task
    def journey(self) -> None:
        think = self.environment.parsed_options.think if self.environment.parsed_options else 0
        for path in self.traffic["paths"]:
            for step in page_steps(self.traffic, path):
                self.client.request(step.method, step.path, json=step.body, name=step.kind)
            if think:
                self._sleep(think * random.uniform(0.5, 1.5))

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
