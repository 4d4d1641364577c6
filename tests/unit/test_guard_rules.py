"""The guard's rules, on hand-built callbacks and page registries (no app, no database).

docs/security.md: a callback may run only for the roles that may open *every* page owning one
of its outputs (ids carry their page's ``id_prefix``; the longest prefix wins; pattern-matching
ids are attributed by their ``type``); the shell's and Dash's router's ids are any logged-in
user's; an output no page owns makes the callback refused for everyone, admin included; the
callback is looked up by the request body's ``output`` key only, and a malformed body is 400.
"""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import dash
import pytest
from dash import ALL, ALLSMALLER, MATCH, Output
from flask import Flask

import guard

ADMIN, MANAGER, PRIVACY, MARKETING = "admin", "manager", "privacy_officer", "marketing"
EVERYONE = frozenset({ADMIN, MANAGER, PRIVACY, MARKETING})
NOBODY: frozenset[str] = frozenset()

# A page registry like Dash's, written by hand (prefixes chosen to overlap on purpose).
REGISTRY = OrderedDict(
    (page["module"], page)
    for page in [
        {
            "module": "pages.home",
            "path": "/",
            "allowed_roles": [ADMIN, MANAGER, PRIVACY, MARKETING],
            "id_prefix": "home",
            "nav_order": 0,
            "layout": lambda **_: "home layout",
        },
        {
            "module": "pages.partners",
            "path": "/partners",
            "allowed_roles": [ADMIN, MANAGER],
            "id_prefix": "partners",
            "nav_order": 20,
            "layout": lambda **_: "partners layout",
        },
        {
            "module": "pages.partner_detail",
            "path": "/partners/none",
            "path_template": "/partners/<partner_id>",
            "allowed_roles": [ADMIN, MANAGER],
            "id_prefix": "partner-detail",
            "layout": lambda **_: "detail layout",
        },
        {
            "module": "pages.privacy",
            "path": "/privacy",
            "allowed_roles": [ADMIN, PRIVACY],
            "id_prefix": "privacy",
            "nav_order": 40,
            "layout": lambda **_: "privacy layout",
        },
        {
            "module": "pages.privacy_request",
            "path": "/privacy/none",
            "path_template": "/privacy/<request_id>",
            "allowed_roles": [PRIVACY],  # narrower than /privacy, to see the longest prefix win
            "id_prefix": "privacy-request",
            "layout": lambda **_: "request layout",
        },
        {
            "module": "pages.users",
            "path": "/admin/users",
            "allowed_roles": [ADMIN],
            "id_prefix": "users",
            "nav_order": 95,
            "layout": lambda **_: "users layout",
        },
        {
            "module": "pages.aggregates",
            "path": "/aggregates",
            "allowed_roles": [MARKETING],
            "id_prefix": "aggregates",
            "nav_order": 50,
            "layout": lambda **_: "aggregates layout",
        },
    ]
)

PREFIXES = {
    "shell": EVERYONE,
    "home": EVERYONE,
    "partners": frozenset({ADMIN, MANAGER}),
    "partner-detail": frozenset({ADMIN, MANAGER}),
    "privacy": frozenset({ADMIN, PRIVACY}),
    "privacy-request": frozenset({PRIVACY}),
    "users": frozenset({ADMIN}),
    "aggregates": frozenset({MARKETING}),
}


@pytest.fixture
def registry(monkeypatch) -> OrderedDict:
    """The hand-built registry in place of Dash's (restored after the test)."""
    pages = OrderedDict((k, dict(v)) for k, v in REGISTRY.items())
    monkeypatch.setattr(dash, "page_registry", pages)
    return pages


def cb(*outputs: Output, no_output: bool = False, single: bool = False) -> dict[str, Any]:
    """A registered-callback entry as Dash stores it in ``callback_map``."""
    entry: dict[str, Any] = {"output": outputs[0] if single else list(outputs)}
    if no_output:
        entry["no_output"] = True
    return entry


def out(component_id: Any, prop: str = "children") -> Output:
    return Output(component_id, prop)


# --- attribution of one component id -----------------------------------------------------------


@pytest.mark.parametrize(
    ("component_id", "expected"),
    [
        ("partners", {ADMIN, MANAGER}),  # the prefix itself
        ("partners-grid", {ADMIN, MANAGER}),
        ("partner-detail-url", {ADMIN, MANAGER}),
        ("users-grid", {ADMIN}),
        ("aggregates-chart", {MARKETING}),
        ("shell-navbar", EVERYONE),
        ("home-cards", EVERYONE),
        # longest prefix wins: privacy-request-* is the request page's, not the desk's
        ("privacy-request-view", {PRIVACY}),
        ("privacy-intake-name", {ADMIN, PRIVACY}),
        ("privacy-requests-list", {ADMIN, PRIVACY}),  # "privacy-" only
        # a prefix must be followed by "-": these belong to no page
        ("partnersgrid", NOBODY),
        ("usersx-grid", NOBODY),
        ("partner", NOBODY),
        ("nowhere-result", NOBODY),
        ("", NOBODY),
        ("-partners-grid", NOBODY),
        ("PARTNERS-grid", NOBODY),
        # Dash's page router renders guarded layouts: any logged-in user
        ("_pages_content", EVERYONE),
        ("_pages_store", EVERYONE),
    ],
)
def test_roles_for_a_string_id(component_id, expected):
    assert guard.roles_for_component_id(component_id, PREFIXES) == frozenset(expected)


@pytest.mark.parametrize(
    ("component_id", "expected"),
    [
        ({"type": "users-row", "index": MATCH}, {ADMIN}),
        ({"type": "partners-chip", "index": ALL}, {ADMIN, MANAGER}),
        ({"index": ALLSMALLER, "type": "privacy-request-field"}, {PRIVACY}),
        ({"type": "users-row", "index": 3}, {ADMIN}),
        ({"type": "nowhere-row", "index": MATCH}, NOBODY),
        ({"index": MATCH}, NOBODY),  # no type: nothing to attribute by
        ({"kind": "users-row"}, NOBODY),
        ({"type": "", "index": 1}, NOBODY),
        # the type decides, not another key that happens to carry a page prefix
        ({"type": "nowhere", "page": "users-row"}, NOBODY),
    ],
)
def test_pattern_matching_ids_are_attributed_by_type(component_id, expected):
    assert guard.roles_for_component_id(component_id, PREFIXES) == frozenset(expected)


def test_no_prefixes_means_nothing_is_attributable():
    assert guard.roles_for_component_id("partners-grid", {}) == NOBODY
    assert guard.roles_for_component_id("shell-navbar", {}) == NOBODY


# --- a callback: intersection over its outputs, fail closed ------------------------------------


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        (cb(out("partners-grid"), single=True), {ADMIN, MANAGER}),
        (cb(out("partners-grid")), {ADMIN, MANAGER}),
        (cb(out("partners-grid", "rowData"), out("partners-count")), {ADMIN, MANAGER}),
        # two pages: only the roles allowed on both
        (cb(out("partners-grid"), out("privacy-url", "search")), {ADMIN}),
        (cb(out("privacy-intake-result"), out("privacy-request-view")), {PRIVACY}),
        (cb(out("partners-grid"), out("users-grid")), {ADMIN}),
        (cb(out("home-cards"), out("users-grid")), {ADMIN}),
        # pages with no role in common: nobody, admin included
        (cb(out("partners-grid"), out("privacy-request-view")), NOBODY),
        (cb(out("aggregates-chart"), out("users-grid")), NOBODY),
        (cb(out("users-grid"), out("aggregates-chart"), out("home-cards")), NOBODY),
        # shell and router outputs take nothing away from a page's roles
        (cb(out("shell-alert"), out("users-grid")), {ADMIN}),
        (cb(out("shell-alert"), out("aggregates-chart")), {MARKETING}),
        (cb(out("shell-alert")), EVERYONE),
        (cb(out("_pages_content"), out("_pages_store", "data")), EVERYONE),
        (cb(out("_pages_content"), out("users-grid")), {ADMIN}),
        # pattern-matching outputs
        (cb(out({"type": "users-row", "index": MATCH})), {ADMIN}),
        (cb(out({"type": "partners-chip", "index": ALL}), out("privacy-url")), {ADMIN}),
        (cb(out({"type": "home-card", "index": MATCH}), out("partners-count")), {ADMIN, MANAGER}),
    ],
)
def test_callback_roles_are_the_intersection_over_outputs(callback, expected):
    assert guard.callback_roles(callback, PREFIXES) == frozenset(expected)


@pytest.mark.parametrize(
    "callback",
    [
        cb(out("nowhere-result"), single=True),
        cb(out("nowhere-result")),
        cb(out("partnersgrid")),
        # one unattributable output is enough, whoever owns the others
        cb(out("home-cards"), out("nowhere-result")),
        cb(out("shell-alert"), out("nowhere-result")),
        cb(out("_pages_content"), out("nowhere-result")),
        cb(out("users-grid"), out("nowhere-result")),
        cb(out("nowhere-result"), out("users-grid")),
        cb(out({"type": "nowhere-row", "index": MATCH})),
        cb(out({"index": MATCH}), out("users-grid")),
        # no outputs at all
        cb(),
        cb(out("users-grid"), no_output=True),
        {"output": [], "no_output": True},
    ],
)
def test_unattributable_callbacks_are_refused_for_every_role(callback):
    roles = guard.callback_roles(callback, PREFIXES)
    assert roles == NOBODY
    for role in (ADMIN, MANAGER, PRIVACY, MARKETING):
        assert role not in roles


def test_no_known_prefix_refuses_even_a_normal_callback():
    assert guard.callback_roles(cb(out("users-grid")), {}) == NOBODY


# --- prefixes and paths from the page registry -------------------------------------------------


def test_page_prefixes_come_from_the_registry_plus_the_shell(registry):
    assert guard.page_prefixes() == PREFIXES


def test_a_page_without_id_prefix_owns_no_component(registry):
    registry["pages.users"].pop("id_prefix")
    prefixes = guard.page_prefixes()
    assert "users" not in prefixes
    assert guard.callback_roles(cb(out("users-grid")), prefixes) == NOBODY


def test_a_prefix_roles_change_with_the_page_declaration(registry):
    """The rule reads the page's declaration: widening a page widens its callbacks (this is
    why tests/web/test_permission_matrix.py pins the expected roles by hand)."""
    registry["pages.partners"]["allowed_roles"] = [ADMIN, MANAGER, PRIVACY]
    prefixes = guard.page_prefixes()
    assert guard.callback_roles(cb(out("partners-grid")), prefixes) == {ADMIN, MANAGER, PRIVACY}


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/", "pages.home"),
        ("/partners", "pages.partners"),
        ("/partners/", "pages.partners"),
        ("/partners/17", "pages.partner_detail"),
        ("/partners/17/", "pages.partner_detail"),
        ("/privacy/abc", "pages.privacy_request"),
        ("/admin/users", "pages.users"),
        ("/partners/17/edit", None),  # a template segment is one path segment
        ("/partnersx", None),
        ("/admin", None),
        ("/nowhere", None),
    ],
)
def test_page_for_path(registry, path, module):
    page = guard.page_for_path(path)
    assert (page["module"] if page else None) == module


@pytest.mark.parametrize(
    ("module", "role", "expected"),
    [
        ("pages.partners", MANAGER, True),
        ("pages.partners", PRIVACY, False),
        ("pages.partners", None, False),
        ("pages.users", ADMIN, True),
        ("pages.users", MANAGER, False),
        ("pages.users", "Admin", False),
        ("pages.users", "", False),
    ],
)
def test_role_may_open(module, role, expected):
    assert guard.role_may_open(REGISTRY[module], role) is expected


def test_a_page_without_allowed_roles_opens_for_nobody():
    page = {k: v for k, v in REGISTRY["pages.home"].items() if k != "allowed_roles"}
    assert not guard.role_may_open(page, ADMIN)


def test_visible_pages_are_the_menu_pages_the_role_may_open():
    pages = list(REGISTRY.values())
    names = {role: [p["module"] for p in guard.visible_pages(role, pages)] for role in EVERYONE}
    assert names[MANAGER] == ["pages.home", "pages.partners"]  # detail page: no nav_order
    assert names[PRIVACY] == ["pages.home", "pages.privacy"]
    assert names[MARKETING] == ["pages.home", "pages.aggregates"]
    assert names[ADMIN] == ["pages.home", "pages.partners", "pages.privacy", "pages.users"]
    assert guard.visible_pages(None, pages) == []


def test_route_roles_refuses_unknown_roles():
    with pytest.raises(ValueError, match="unknown roles"):
        guard.route_roles(ADMIN, "superuser")
    view = guard.route_roles(ADMIN, MANAGER)(lambda: "ok")
    assert view.allowed_roles == {ADMIN, MANAGER}


# --- the callback request: looked up by its ``output`` key, malformed bodies -------------------

CALLBACK_MAP = {
    "home-cards.children": cb(out("home-cards"), single=True),
    "users-grid.rowData": cb(out("users-grid", "rowData"), single=True),
    "..partners-grid.rowData...users-result.children..": cb(
        out("partners-grid", "rowData"), out("users-result")
    ),
    "nowhere-result.children": cb(out("nowhere-result"), single=True),
}


@pytest.fixture
def check(registry):
    """``check(role, **request)`` runs the guard's callback check on one request; returns the
    status it answers with, or None when it lets the request through."""
    app = Flask(__name__)
    dash_app = SimpleNamespace(callback_map=CALLBACK_MAP)

    def run(role: str, **request: Any) -> int | None:
        with app.test_request_context("/_dash-update-component", method="POST", **request):
            response = guard._check_callback(dash_app, role)
        return None if response is None else response.status_code

    return run


@pytest.mark.parametrize(
    ("role", "key", "expected"),
    [
        (MARKETING, "home-cards.children", None),
        (ADMIN, "home-cards.children", None),
        (ADMIN, "users-grid.rowData", None),
        (MANAGER, "users-grid.rowData", 403),
        (PRIVACY, "users-grid.rowData", 403),
        (ADMIN, "..partners-grid.rowData...users-result.children..", None),
        (MANAGER, "..partners-grid.rowData...users-result.children..", 403),
        (ADMIN, "nowhere-result.children", 403),
        (MARKETING, "nowhere-result.children", 403),
        (ADMIN, "not-registered.children", 400),
        (ADMIN, "", 400),
    ],
)
def test_callback_request_by_role(check, role, key, expected):
    assert check(role, json={"output": key}) == expected


def test_the_body_cannot_borrow_outputs_from_another_callback(check):
    """Only the ``output`` key counts (it is what Dash dispatches on): listing harmless outputs
    does not open a privileged callback, and listing privileged ones does not close a harmless
    one."""
    borrowed = {"output": "users-grid.rowData", "outputs": {"id": "home-cards", "property": "x"}}
    assert check(MARKETING, json=borrowed) == 403
    listed = {"output": "home-cards.children", "outputs": {"id": "users-grid", "property": "x"}}
    assert check(MARKETING, json=listed) is None


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": "", "content_type": "application/json"},
        {"data": "output=home-cards.children"},  # a form post
        {"json": ["home-cards.children"]},
        {"json": "home-cards.children"},
        {"json": None},
        {"json": {}},
        {"json": {"outputs": {"id": "home-cards", "property": "children"}}},
        {"json": {"output": None}},
        {"json": {"output": 1}},
        {"json": {"output": ["home-cards.children"]}},
        {"json": {"output": {"id": "home-cards", "property": "children"}}},
    ],
    ids=[
        "invalid-json",
        "empty-body",
        "form",
        "list",
        "string",
        "null",
        "empty-object",
        "no-output-key",
        "output-null",
        "output-int",
        "output-list",
        "output-dict",
    ],
)
@pytest.mark.parametrize("role", [ADMIN, MARKETING])
def test_malformed_callback_bodies_are_400(check, role, request_kwargs):
    assert check(role, **request_kwargs) == 400


# --- page layouts check the role themselves -----------------------------------------------------


def test_wrapped_layouts_refuse_roles_the_page_does_not_allow(registry, monkeypatch):
    forbidden = object()
    monkeypatch.setattr(guard.messages, "forbidden", lambda: forbidden)
    guard.wrap_page_layouts()
    users_layout = registry["pages.users"]["layout"]
    for role, expected in ((ADMIN, "users layout"), (MANAGER, forbidden), (None, forbidden)):
        monkeypatch.setattr(guard, "current_role", lambda role=role: role)
        assert users_layout() is expected, role


def test_a_page_without_roles_or_prefix_stops_the_app(registry):
    registry["pages.partners"].pop("allowed_roles")
    with pytest.raises(RuntimeError, match="allowed_roles"):
        guard.wrap_page_layouts()


def test_wrapped_layouts_pass_keyword_arguments_and_serve_static_layouts(registry, monkeypatch):
    """A callable layout gets the router's keyword arguments; a layout that is a component (not
    callable) is served as it is."""
    registry["pages.partner_detail"]["layout"] = lambda **kwargs: ("detail", kwargs)
    static = ["a component tree"]
    registry["pages.home"]["layout"] = static
    guard.wrap_page_layouts()
    monkeypatch.setattr(guard, "current_role", lambda: MANAGER)
    assert registry["pages.partner_detail"]["layout"](partner_id="17") == (
        "detail",
        {"partner_id": "17"},
    )
    assert registry["pages.home"]["layout"]() is static


def test_a_failing_layout_shows_a_message_and_logs_its_page(registry, monkeypatch, caplog):
    failed = object()
    monkeypatch.setattr(guard.messages, "unexpected_error", lambda: failed)

    def broken(**_):
        raise LookupError("boom")

    registry["pages.users"]["layout"] = broken
    guard.wrap_page_layouts()
    monkeypatch.setattr(guard, "current_role", lambda: ADMIN)
    with caplog.at_level("ERROR", logger="guard"):
        assert registry["pages.users"]["layout"]() is failed
    [entry] = caplog.records
    assert entry.getMessage() == "layout of pages.users failed"
    assert entry.exc_info is not None and entry.exc_info[0] is LookupError


def test_layouts_are_wrapped_once_and_every_page_is_wrapped(registry, monkeypatch):
    """Wrapping is idempotent (create_dash may run more than once in a process): an already
    guarded layout is kept as it is, and the pages after it are still wrapped."""
    guard.wrap_page_layouts()
    first = {module: page["layout"] for module, page in registry.items()}
    assert all(layout.guarded is True for layout in first.values())
    registry["pages.aggregates"]["layout"] = lambda **_: "new aggregates layout"
    guard.wrap_page_layouts()
    assert {m: registry[m]["layout"] for m in registry if m != "pages.aggregates"} == {
        m: layout for m, layout in first.items() if m != "pages.aggregates"
    }
    aggregates = registry["pages.aggregates"]["layout"]
    assert aggregates.guarded is True
    monkeypatch.setattr(guard, "current_role", lambda: MANAGER)
    monkeypatch.setattr(guard.messages, "forbidden", lambda: "forbidden")
    assert aggregates() == "forbidden"  # the new layout was wrapped: managers are refused


def test_register_route_roles_collects_the_declared_views_only(monkeypatch):
    monkeypatch.setattr(guard, "_ROUTE_ROLES", {})
    app = Flask(__name__)
    app.add_url_rule("/declared", "declared", guard.route_roles(ADMIN, PRIVACY)(lambda: "ok"))
    app.add_url_rule("/undeclared", "undeclared", lambda: "ok")
    guard.register_route_roles(app)
    assert {"declared": frozenset({ADMIN, PRIVACY})} == guard._ROUTE_ROLES


# --- refusals: their status and body; what counts as an API call ------------------------------


def test_refusals_are_json_with_the_reason(registry):
    app = Flask(__name__)
    dash_app = SimpleNamespace(callback_map=CALLBACK_MAP)
    cases = [
        ({"data": "x"}, ADMIN, 400, "malformed callback request"),
        ({"json": {"output": "not-registered.children"}}, ADMIN, 400, "unknown callback"),
        ({"json": {"output": "users-grid.rowData"}}, MANAGER, 403, "not allowed for your role"),
    ]
    for request_kwargs, role, status, message in cases:
        with app.test_request_context("/_dash-update-component", method="POST", **request_kwargs):
            response = guard._check_callback(dash_app, role)
            assert (response.status_code, response.get_json()) == (status, {"error": message})
    with app.test_request_context("/"):
        denied = guard._deny(401, "login required")
        assert (denied.status_code, denied.get_json()) == (401, {"error": "login required"})
        assert denied.mimetype == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/partners", True),
        ("GET", "/download/file.csv", True),
        ("GET", "/_dash-layout", True),
        ("GET", "/_reload-hash", True),
        ("GET", "/partners", False),
        ("GET", "/apiary", False),  # a prefix is a whole path segment
        ("HEAD", "/partners", True),  # anything but GET is treated as a call, never a page
        ("POST", "/partners", True),
    ],
)
def test_what_counts_as_an_api_call(method, path, expected):
    with Flask(__name__).test_request_context(path, method=method):
        assert guard._is_api(path) is expected


@pytest.mark.parametrize(
    ("role", "capability", "expected"),
    [
        (ADMIN, "export_audit_log", True),
        (MANAGER, "export_audit_log", False),
        (MANAGER, "export_partner_table", True),
        (None, "export_partner_table", False),
        (ADMIN, "no_such_capability", False),
    ],
)
def test_current_role_can_asks_the_roles_map_for_the_logged_in_role(
    monkeypatch, role, capability, expected
):
    monkeypatch.setattr(guard, "current_role", lambda: role)
    assert guard.current_role_can(capability) is expected


def test_only_trailing_slashes_are_ignored_in_a_path(registry):
    assert guard.page_for_path("/partnersX") is None
    assert guard.page_for_path("/privacy/7X")["module"] == "pages.privacy_request"
    assert guard.page_for_path("//")["module"] == "pages.home"
