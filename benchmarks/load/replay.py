"""The recorded traffic (``traffic/<role>.json``, written by ``record.py``) as the sequence of
requests one user sends per journey, shared by ``locustfile.py`` (under load) and ``cpu.py``
(one user, CPU per request). No Locust import here: Locust patches the standard library with
gevent as soon as it is imported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
SHELL = "shell"


class Step(NamedTuple):
    """One request: its kind (Locust's "name"), method, URL path and JSON body (callbacks)."""

    kind: str
    method: str
    path: str
    body: dict | None


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


def page_steps(traffic: dict, path: str) -> list[Step]:
    """One page of a journey: the shell (the page, ``/_dash-layout``, ``/_dash-dependencies``,
    as the browser loads it), then each callback the browser sent on it, in recorded order."""
    steps = [
        Step(SHELL, "GET", path, None),
        Step(SHELL, "GET", "/_dash-layout", None),
        Step(SHELL, "GET", "/_dash-dependencies", None),
    ]
    for call in (c for c in traffic["calls"] if c["page"] == path):
        url = call.get("url", "/_dash-update-component")
        steps.append(Step(callback_kind(path, call["body"]), "POST", url, call["body"]))
    return steps
