"""The desk's shared pieces without a browser: which actions a request page leads with, the
live queue's fingerprint, the bulk close's list, clipping and plain-words results.
Expected values are written by hand from the issue and docs/privacy-desk.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from components.actions import clipped_text, confirm_panel, done, plain, refused
from components.privacy_request_actions import next_steps
from data.db import read_connection, session_scope
from data.privacy import workflow as wf
from data.privacy.queue import ClosableRequest, closable_unverified, queue_version
from tests.privacy_support import NOW, add_request, make_staff


@dataclass
class View:
    request: dict[str, Any]
    allowed: tuple[str, ...]
    refusals: dict[str, str] = field(default_factory=dict)


def view(status: str, type_: str, allowed: tuple[str, ...], no_record: bool = False) -> View:
    return View({"status": status, "type": type_, "no_record_found": no_record}, allowed)


@pytest.mark.parametrize(
    ("v", "steps"),
    [
        (view("received", "access", ("verify", "assign", "note", "extend", "deny")), ["verify"]),
        (
            view(
                "in_progress",
                "access",
                ("assign", "note", "extend", "deny", "access_package", "complete"),
            ),
            ["access_package", "complete"],
        ),
        (
            view("in_progress", "objection", ("assign", "note", "deny", "opt_out", "complete")),
            ["opt_out", "complete"],
        ),
        (
            view(
                "received",
                "correction",
                ("verify", "assign", "note", "extend", "deny", "complete"),
                no_record=True,
            ),
            ["complete"],
        ),
        (
            view("verifying", "access", ("verify", "assign", "note", "deny", "close_unverified")),
            ["close_unverified", "verify"],
        ),
        (view("completed", "access", ("note", "access_package")), []),
        (view("denied", "objection", ("note",)), []),
    ],
)
def test_the_page_leads_with_the_next_step(v, steps):
    assert next_steps(v) == steps


def test_queue_fingerprint_moves_with_intake_and_every_transition(db):
    with session_scope(db) as s:
        staff = make_staff(s)
    with read_connection(db) as conn:
        assert queue_version(conn) == "0:0:0"
    with session_scope(db) as s:
        rid = add_request(s).id
    with read_connection(db) as conn:
        assert queue_version(conn) == f"1:{rid}:1"
    with session_scope(db) as s:
        wf.add_note(s, rid, 1, staff.officer, text="called back", now=NOW)
    with read_connection(db) as conn:
        assert queue_version(conn) == f"1:{rid}:2"


def test_the_bulk_close_lists_what_it_would_close(db):
    with session_scope(db) as s:
        old = add_request(s, received_at=NOW - timedelta(days=40), type="objection").id
        older = add_request(s, received_at=NOW - timedelta(days=60), status="verifying").id
        add_request(s, received_at=NOW - timedelta(days=29))
        add_request(s, received_at=NOW - timedelta(days=90), status="completed")
    with read_connection(db) as conn:
        assert closable_unverified(conn, NOW) == [
            ClosableRequest(older, "access", "verifying", NOW - timedelta(days=60)),
            ClosableRequest(old, "objection", "received", NOW - timedelta(days=40)),
        ]


def test_plain_sentences():
    assert plain("request type is required") == "Request type is required."
    assert plain("Enter the number of days, from 1 to 30.") == (
        "Enter the number of days, from 1 to 30."
    )
    assert plain("") == ""


def test_a_refusal_lists_messages_without_field_codes_and_names_its_controls():
    result = refused(
        {"days": "Enter the number of days, from 1 to 30.", "reason": "reason is required"},
        "x-error",
        fields={"days": "x-days", "reason": "x-reason", "other": "x-other"},
    )
    assert result.className == "action-result mt-2"
    assert getattr(result, "data-fields") == "x-days x-reason"
    items = result.children.children[0].children
    assert [li.children for li in items] == [
        "Enter the number of days, from 1 to 30.",
        "Reason is required.",
    ]
    single = refused("the request is closed (denied)")
    assert single.children.children == ["The request is closed (denied)."]
    assert done("Note added.", "d").children.children == ["Note added."]


def test_confirm_panel_lists_items_and_names_its_buttons():
    panel = confirm_panel("p", "These 2 request(s) will be closed:", ["#1", "#2"], "Close 2")
    assert panel.id == "p-panel"
    alert = panel.children
    listed = alert.children[1]
    assert (listed.id, [li.children for li in listed.children]) == ("p-list", ["#1", "#2"])
    buttons = alert.children[3].children
    assert [(b.id, b.children) for b in buttons] == [
        ("p-confirm", "Close 2"),
        ("p-cancel", "Cancel"),
    ]


def test_long_text_is_clipped_behind_show_more():
    short = clipped_text("two\nlines")
    assert short.children == "two\nlines" and "clipped" not in short.className
    text = "x" * 700
    long = clipped_text(text)
    head, details = long.children
    assert head.children == "x" * 600 + " …"
    assert details.children[0].children == "Show more (700 characters)"
    assert details.children[1].children == text
    many_lines = "\n".join(str(i) for i in range(10))
    head, _ = clipped_text(many_lines).children
    assert head.children == "0\n1\n2\n3\n4\n5\n6\n7 …"
