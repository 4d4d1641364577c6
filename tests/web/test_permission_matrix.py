"""Who may do what, written down by hand and compared with the running app.

The expectations below come from docs/domain.md (§2, roles) and docs/security.md (the guard and
the capability table), not from the code: nothing here reads ``allowed_roles``,
``callback_roles`` or ``data.roles``. Every request goes through the real Flask app (guard,
Dash, the pages' callbacks), logged in through the real login form.

A page, callback, Flask route or download that exists in the app but has no row here fails
:func:`test_every_page_has_a_row`, :func:`test_every_callback_has_a_row`,
:func:`test_every_route_has_a_row` or :func:`test_every_download_has_a_row`: a new one must be
added to this file deliberately, with the roles the docs give it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import dash
import pytest
from dash import Output
from sqlalchemy import func, select

from data.db import session_scope
from data.models import ROLES as MODEL_ROLES
from data.models import AuditLog
from tests.conftest import (
    ROLE_USERS,
    callback_payload,
    empty_all_tables,
    login,
    make_users,
    route,
)

ADMIN, MANAGER, PRIVACY, MARKETING = "admin", "manager", "privacy_officer", "marketing"
ROLES = (ADMIN, MANAGER, PRIVACY, MARKETING)
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


# --- the matrix -------------------------------------------------------------------------------

# Pages, keyed by the path (or path template) the page registers; value: the URL requested and
# the roles that may open it. docs/domain.md §2: the overview is for everyone; managers see the
# partner ranking and detail; privacy officers the privacy desk and the audit log (read only);
# admins everything plus the users page. The 404 page names nothing: any logged-in user.
PAGES: dict[str, tuple[str, frozenset[str]]] = {
    "/": ("/", EVERYONE),
    "/partners": ("/partners", roles(ADMIN, MANAGER)),
    # docs/domain.md §2: lead flow is the managers' (and admins')
    "/leads": ("/leads", roles(ADMIN, MANAGER)),
    "/partners/<partner_id>": ("/partners/1", roles(ADMIN, MANAGER)),
    "/privacy": ("/privacy", roles(ADMIN, PRIVACY)),
    "/privacy/<request_id>": ("/privacy/1", roles(ADMIN, PRIVACY)),
    "/audit": ("/audit", roles(ADMIN, PRIVACY)),
    # docs/domain.md §2: retention runs are the privacy officers' (and admins')
    "/retention": ("/retention", roles(ADMIN, PRIVACY)),
    # issue 15: consent counts for managers too; people-level consent for privacy and admin
    "/consent": ("/consent", roles(ADMIN, MANAGER, PRIVACY)),
    "/consent/people": ("/consent/people", roles(ADMIN, PRIVACY)),
    "/admin/users": ("/admin/users", roles(ADMIN)),
    # issue 14: de-identified aggregates for marketing (and admins)
    "/aggregates": ("/aggregates", roles(ADMIN, MARKETING)),
    "/not-found-404": ("/not-found-404", EVERYONE),
}

PARTNERS_PAGE = roles(ADMIN, MANAGER)
LEADS_PAGE = roles(ADMIN, MANAGER)
PARTNER_DETAIL_PAGE = roles(ADMIN, MANAGER)
PRIVACY_DESK = roles(ADMIN, PRIVACY)
PRIVACY_REQUEST_PAGE = roles(ADMIN, PRIVACY)
AUDIT_PAGE = roles(ADMIN, PRIVACY)
USERS_PAGE = roles(ADMIN)
RETENTION_PAGE = roles(ADMIN, PRIVACY)
CONSENT_PAGE = roles(ADMIN, MANAGER, PRIVACY)
CONSENT_PEOPLE = roles(ADMIN, PRIVACY)
AGGREGATES_PAGE = roles(ADMIN, MARKETING)


@dataclass(frozen=True)
class CallbackRow:
    roles: frozenset[str]
    count: int = 1  # callbacks with exactly these outputs (e.g. the actions on one request)


# Callbacks, keyed by their declared outputs ("component-id.property", in declaration order):
# the outputs are what the guard attributes a callback by, and what decides who may run it.
CALLBACKS: dict[tuple[str, ...], CallbackRow] = {
    # Dash's page router: every logged-in user (each layout checks the role itself).
    ("_pages_content.children", "_pages_store.data"): CallbackRow(EVERYONE),
    ("_pages_dummy.children",): CallbackRow(EVERYONE),
    # clientside: a page the router renders clears the in-place marker (components/in_place)
    ("shell-shown-view.data",): CallbackRow(EVERYONE),
    # /partners
    (
        "shell-shown-view.data",
        "partners-url.href",
        "partners-query.data",
        "partners-view.data",
        "partners-filters-problem.children",
        "partners-from.invalid",
        "partners-to.invalid",
        "partners-url-problem.children",
        "partners-from.value",
        "partners-to.value",
        "partners-from.disabled",
        "partners-to.disabled",
    ): CallbackRow(PARTNERS_PAGE),
    (
        "partners-kpis.children",
        "partners-scatter.figure",
        "partners-by-trade.figure",
        "partners-by-trade.style",
        "partners-period-label.children",
    ): CallbackRow(PARTNERS_PAGE),
    # clientside (the grid fetches its rows again after a filter change)
    ("partners-grid-refresh.data",): CallbackRow(PARTNERS_PAGE),
    ("partners-grid.getRowsResponse", "partners-count.children"): CallbackRow(PARTNERS_PAGE),
    # clientside (the grid's sort and page into the address); never runs on the server
    ("partners-list-state.data",): CallbackRow(PARTNERS_PAGE),
    # clientside (the column chooser shows and hides the grid's columns, keeps the choice)
    ("partners-columns.value", "partners-columns-choice.data"): CallbackRow(PARTNERS_PAGE),
    ("partners-download.data", "partners-export-result.children"): CallbackRow(PARTNERS_PAGE),
    # /partners/<id>
    ("partner-detail-url.search",): CallbackRow(PARTNER_DETAIL_PAGE),
    # /leads (filters and chart clicks into the address; the operations list's export)
    ("leads-url.href", "leads-filters-problem.children"): CallbackRow(LEADS_PAGE),
    ("leads-download.data", "leads-export-result.children"): CallbackRow(LEADS_PAGE),
    # /privacy
    ("privacy-url.search",): CallbackRow(PRIVACY_DESK),
    # the live queue (polled), the bulk close's list and its confirmation
    (
        "privacy-queue-version.data",
        "privacy-queue-grid.rowData",
        "privacy-queue-count.children",
        "privacy-summary-area.children",
    ): CallbackRow(PRIVACY_DESK),
    ("privacy-close-stale-result.children", "privacy-close-stale-ids.data"): CallbackRow(
        PRIVACY_DESK
    ),
    (
        "privacy-close-stale-result.children",
        "privacy-close-stale-ids.data",
        "privacy-queue-nudge.data",
    ): CallbackRow(PRIVACY_DESK),
    (
        "privacy-intake-feedback.children",
        "privacy-intake-subject.options",
        "privacy-intake-subject.value",
        "privacy-intake-confirm.style",
    ): CallbackRow(PRIVACY_DESK),
    (
        "privacy-intake-result.children",
        "privacy-intake-subject.options",
        "privacy-intake-subject.value",
        "privacy-intake-feedback.children",
        "privacy-intake-confirm.style",
        "privacy-intake-type.value",
        "privacy-intake-channel.value",
        "privacy-intake-received.value",
        "privacy-intake-name.value",
        "privacy-intake-email.value",
        "privacy-intake-phone.value",
        "privacy-intake-message.value",
        "privacy-intake-token.data",
    ): CallbackRow(PRIVACY_DESK),
    (
        "privacy-disclosure-subject.options",
        "privacy-disclosure-subject.value",
        "privacy-disclosure-lookup-result.children",
    ): CallbackRow(PRIVACY_DESK),
    (
        "privacy-disclosure-result.children",
        "privacy-disclosure-grid.rowData",
        "privacy-disclosure-reference.value",
        "privacy-disclosure-authority.value",
        "privacy-disclosure-basis.value",
        "privacy-disclosure-released.value",
        "privacy-disclosure-date.value",
        "privacy-disclosure-lookup.value",
        "privacy-disclosure-subject.options",
        "privacy-disclosure-subject.value",
        "privacy-disclosure-token.data",
    ): CallbackRow(PRIVACY_DESK),
    # /privacy/<id>: each action (view + state + the result under its own button); the access
    # package preview (view + result) and download.
    **{
        (
            "privacy-request-view.children",
            "privacy-request-state.data",
            f"privacy-request-{action}-result.children",
        ): CallbackRow(PRIVACY_REQUEST_PAGE)
        for action in (
            "verify",
            "assign",
            "note",
            "extend",
            "deny",
            "complete",
            "close-unverified",
            "correct",
            "optout",
            "erase",
        )
    },
    # the erasure preview (read only; docs/erasure.md)
    ("privacy-request-erase-preview-result.children",): CallbackRow(PRIVACY_REQUEST_PAGE),
    # /consent: the filters into the address (counts only, no person)
    ("consent-url.search",): CallbackRow(CONSENT_PAGE),
    ("consent-monitor-body.children",): CallbackRow(CONSENT_PAGE),  # the monitor's counts
    ("consent-monitor-list.children",): CallbackRow(CONSENT_PAGE),  # one rule, records only
    # /consent/people: lookup, violation lists, suppression list download (people-level)
    ("consent-people-found.children",): CallbackRow(CONSENT_PEOPLE),
    ("consent-people-violations.children",): CallbackRow(CONSENT_PEOPLE),
    ("consent-people-download.data", "consent-people-download-result.children"): CallbackRow(
        CONSENT_PEOPLE
    ),
    # /retention: periods, preview, the start (ticket) and the background sweep
    ("retention-save-result.children",): CallbackRow(RETENTION_PAGE),
    ("retention-preview-result.children",): CallbackRow(RETENTION_PAGE),
    ("retention-ticket.data", "retention-start-result.children"): CallbackRow(RETENTION_PAGE),
    ("retention-sweep-result.children",): CallbackRow(RETENTION_PAGE),
    # every open page polls the run's progress; Stop flags the run (data.erasure.sweep_runs)
    (
        "retention-progress.value",
        "retention-progress.label",
        "retention-status.children",
        "retention-start.disabled",
        "retention-stop.disabled",
    ): CallbackRow(RETENTION_PAGE),
    ("retention-stop-result.children",): CallbackRow(RETENTION_PAGE),
    ("privacy-request-view.children", "privacy-request-package-result.children"): CallbackRow(
        PRIVACY_REQUEST_PAGE
    ),
    (
        "privacy-request-download.data",
        "privacy-request-view.children",
        "privacy-request-package-result.children",
    ): CallbackRow(PRIVACY_REQUEST_PAGE),
    # /aggregates: the choice into the address; the export (ledger, differencing refusal)
    ("aggregates-url.search", "aggregates-problem.children"): CallbackRow(AGGREGATES_PAGE),
    ("aggregates-download.data", "aggregates-export-result.children"): CallbackRow(AGGREGATES_PAGE),
    # /audit
    ("audit-url.search",): CallbackRow(AUDIT_PAGE),
    ("audit-grid.getRowsResponse",): CallbackRow(AUDIT_PAGE),
    ("audit-download.data", "audit-export-result.children"): CallbackRow(AUDIT_PAGE),
    # /admin/users: create, (de)activate (deactivation shown, then confirmed), change role,
    # reset password
    (
        "users-create-result.children",
        "users-grid.rowData",
        "users-target.options",
        "users-new-username.value",
        "users-new-role.value",
        "users-new-password.value",
        "users-create-token.data",
    ): CallbackRow(USERS_PAGE),
    (
        "users-activate-result.children",
        "users-grid.rowData",
        "users-target.options",
        "users-deactivate-shown.data",
    ): CallbackRow(USERS_PAGE),
    ("users-activate-result.children", "users-grid.rowData", "users-target.options"): CallbackRow(
        USERS_PAGE
    ),
    ("users-role-result.children", "users-grid.rowData", "users-target.options"): CallbackRow(
        USERS_PAGE
    ),
    (
        "users-password-result.children",
        "users-grid.rowData",
        "users-target.options",
        "users-password.value",
    ): CallbackRow(USERS_PAGE),
}


@dataclass(frozen=True)
class Route:
    """A plain Flask route: what an anonymous visitor gets, who may use it (and the status they
    get), and what every other logged-in role gets."""

    url: str
    anonymous: int | str  # a status, or "login" (302 to /login?next=…)
    allowed: frozenset[str]
    ok: int
    refused: int = 403
    public: bool = False


COMPONENT_SUITE = "/_dash-component-suites/dash/dcc/dash_core_components.js"

# Every rule in the Flask URL map. "pages" and "callbacks" are checked by the PAGES and
# CALLBACKS rows. docs/security.md, "The guard": login and static assets are public; Dash's
# layout and dependencies are the shell for any logged-in user; routes declared with
# route_roles run for their roles; anything else is refused (fail closed).
ROUTES: dict[str, Route | str] = {
    "/": "pages",
    "/<path:path>": "pages",
    "/_dash-update-component": "callbacks",
    "/login": Route("/login", anonymous=200, allowed=EVERYONE, ok=302, public=True),
    "/assets/<path:filename>": Route(
        "/assets/02-app.css", anonymous=200, allowed=EVERYONE, ok=200, public=True
    ),
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": Route(
        COMPONENT_SUITE, anonymous=200, allowed=EVERYONE, ok=200, public=True
    ),
    "/_favicon.ico": Route("/_favicon.ico", anonymous=200, allowed=EVERYONE, ok=200, public=True),
    # the load balancer's health check: public, names only the state of each check (issue 17)
    "/healthz": Route("/healthz", anonymous=200, allowed=EVERYONE, ok=200, public=True),
    "/_dash-layout": Route("/_dash-layout", anonymous=401, allowed=EVERYONE, ok=200),
    "/_dash-dependencies": Route("/_dash-dependencies", anonymous=401, allowed=EVERYONE, ok=200),
    "/_reload-hash": Route("/_reload-hash", anonymous=401, allowed=NOBODY, ok=200),
    # Flask's own static folder: not declared, so nobody reaches it. The guard treats a GET on
    # an undeclared non-API path as an unknown page: the shell with 404 (docs say 403).
    "/static/<path:filename>": Route(
        "/static/app.css", anonymous="login", allowed=NOBODY, ok=200, refused=404
    ),
    # Logging out (any logged-in role; its own client, since it ends the session).
    # GET shows the sign-out button; the POST with the CSRF token logs out (test_sessions.py).
    "/logout": Route("/logout", anonymous="login", allowed=EVERYONE, ok=200),
}


@dataclass(frozen=True)
class Export:
    page: str  # a PAGES key: the guard lets the page's roles reach the callback
    trigger: str
    download: str
    roles: frozenset[str]  # docs/security.md, capability table
    file_pattern: str
    audit_action: str


# Every file export. A role that may open the page but lacks the capability must be refused by
# the callback on the server (docs/security.md: "checked again inside the callback").
EXPORTS: dict[str, Export] = {
    "partner table CSV": Export(
        "/partners",
        "partners-export-csv",
        "partners-download",
        roles(ADMIN, MANAGER),
        r"partners-\d{8}-\d{4}\.csv",
        "partners.export",
    ),
    "partner table XLSX": Export(
        "/partners",
        "partners-export-xlsx",
        "partners-download",
        roles(ADMIN, MANAGER),
        r"partners-\d{8}-\d{4}\.xlsx",
        "partners.export",
    ),
    "lead operations CSV": Export(
        "/leads",
        "leads-export-csv",
        "leads-download",
        roles(ADMIN, MANAGER),
        r"lead-operations-\d{8}-\d{4}\.csv",
        "leads.export",
    ),
    "audit log CSV": Export(
        "/audit",
        "audit-export-csv",
        "audit-download",
        roles(ADMIN),
        r"audit-log-\d{8}-\d{4}\.csv",
        "audit.export",
    ),
    "audit log XLSX": Export(
        "/audit",
        "audit-export-xlsx",
        "audit-download",
        roles(ADMIN),
        r"audit-log-\d{8}-\d{4}\.xlsx",
        "audit.export",
    ),
    "aggregates CSV": Export(
        "/aggregates",
        "aggregates-export-csv",
        "aggregates-download",
        roles(ADMIN, MARKETING),
        r"aggregates-\d{8}-\d{4}\.csv",
        "aggregates.export",
    ),
    "aggregates XLSX": Export(
        "/aggregates",
        "aggregates-export-xlsx",
        "aggregates-download",
        roles(ADMIN, MARKETING),
        r"aggregates-\d{8}-\d{4}\.xlsx",
        "aggregates.export",
    ),
    "suppression list CSV": Export(
        "/consent/people",
        "consent-people-download-button",
        "consent-people-download",
        roles(ADMIN, PRIVACY),
        r"suppression-list-\d{8}-\d{4}\.csv",
        "consent.suppression_list.export",
    ),
}

# Every dcc.Download the callbacks fill. The access package download (privacy request page)
# is under ``handle_privacy_requests``, which the docs give exactly the page's roles, so its
# per-role row is the CALLBACKS row above (building one needs a verified request: see
# tests/web/test_privacy_pages.py).
DOWNLOADS = {
    "partners-download": "exports: partner table CSV, XLSX",
    "audit-download": "exports: audit log CSV, XLSX",
    "privacy-request-download": "access package: CALLBACKS row of /privacy/<id>",
    "consent-people-download": "exports: suppression list CSV",
    "aggregates-download": "exports: aggregates CSV, XLSX",
    "leads-download": "exports: lead operations CSV",
}


# --- helpers ----------------------------------------------------------------------------------


def outputs_of(callback: dict[str, Any]) -> list[Any]:
    output = callback["output"]
    return list(output) if isinstance(output, list | tuple) else [output]


def signature(callback: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{o.component_id}.{o.component_property}" for o in outputs_of(callback))


def is_guard_refusal(response) -> bool:
    return response.status_code == 403 and response.is_json and "error" in response.get_json()


def post_callback(client, dash_app, key: str, inputs=(), state=(), changed=()):
    payload = callback_payload(dash_app, key)
    payload["inputs"] = [{"id": i, "property": p, "value": v} for i, p, v in inputs]
    payload["state"] = [{"id": i, "property": p, "value": v} for i, p, v in state]
    payload["changedPropIds"] = list(changed)
    return client.post("/_dash-update-component", json=payload)


def log_in(dash_app, role: str | None):
    client = dash_app.server.test_client()
    if role is not None:
        response = login(client, ROLE_USERS[role])
        assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture(scope="module")
def clients(engine, dash_app):
    """One logged-in client per role, plus the anonymous one (key None), for the whole module:
    logging in costs a scrypt hash, so the users are made once. Tests here must not use the
    ``db`` fixture (it would delete the users)."""
    empty_all_tables(engine)
    make_users(engine)
    return {role: log_in(dash_app, role) for role in (*ROLES, None)}


# --- completeness: everything in the app has a row ---------------------------------------------


def test_the_roles_are_the_four_of_the_docs():
    assert set(MODEL_ROLES) == EVERYONE == set(ROLE_USERS)


def test_every_page_has_a_row(dash_app):
    registered = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    assert registered - PAGES.keys() == set(), "pages without a row in PAGES"
    assert PAGES.keys() - registered == set(), "rows in PAGES for pages that do not exist"


def test_every_callback_has_a_row(dash_app):
    found = Counter(signature(cb) for cb in dash_app.callback_map.values())
    expected = Counter({outputs: row.count for outputs, row in CALLBACKS.items()})
    missing = {s: n for s, n in found.items() if expected[s] < n}
    stale = {s: n for s, n in expected.items() if found[s] < n}
    assert not missing, f"callbacks without a row in CALLBACKS (or a count too low): {missing}"
    assert not stale, f"rows in CALLBACKS for callbacks that do not exist: {stale}"


def test_every_route_has_a_row(dash_app):
    rules = {rule.rule for rule in dash_app.server.url_map.iter_rules()}
    assert rules - ROUTES.keys() == set(), "Flask routes without a row in ROUTES"
    assert ROUTES.keys() - rules == set(), "rows in ROUTES for routes that do not exist"


def test_every_download_has_a_row(dash_app):
    downloads = {
        o.component_id
        for cb in dash_app.callback_map.values()
        for o in outputs_of(cb)
        if o.component_property == "data" and str(o.component_id).endswith("-download")
    }
    assert downloads == DOWNLOADS.keys()
    exported = {export.download for export in EXPORTS.values()}
    assert exported <= downloads


# --- the live guard against the matrix ---------------------------------------------------------


def test_pages_for_every_role(clients, dash_app):
    """A GET of the page's URL (the guard: 200, or the shell with 403) and the page rendered by
    Dash's router (the layout wrapper: the page, or the "not allowed" panel)."""
    wrong = []
    for url, allowed in PAGES.values():
        response = clients[None].get(url)
        if response.status_code != 302 or not response.headers["Location"].startswith(
            "/login?next="
        ):
            wrong.append(f"anonymous {url}: {response.status_code}")
        for role in ROLES:
            status = clients[role].get(url).status_code
            if status != (200 if role in allowed else 403):
                wrong.append(f"{role} GET {url}: {status}")
            forbidden = "shell-forbidden" in route(clients[role], dash_app, url)
            if forbidden == (role in allowed):
                wrong.append(f"{role} routed to {url}: forbidden panel {forbidden}")
    assert not wrong, "\n".join(wrong)


def test_unknown_path_is_404_for_every_role(clients):
    assert clients[None].get("/no/such/page").status_code == 302
    for role in ROLES:
        assert clients[role].get("/no/such/page").status_code == 404, role


def test_callbacks_for_every_role(clients, dash_app):
    """Every registered callback, posted by every role: a role outside the row gets the guard's
    403; a role inside it reaches the callback (which may still reject the empty inputs, but
    never with 401/403)."""
    wrong = []
    for key, callback in dash_app.callback_map.items():
        row = CALLBACKS[signature(callback)]
        payload = callback_payload(dash_app, key)
        anonymous = clients[None].post("/_dash-update-component", json=payload).status_code
        if anonymous != 401:
            wrong.append(f"anonymous {key}: {anonymous}")
        for role in ROLES:
            response = clients[role].post("/_dash-update-component", json=payload)
            if role in row.roles:
                if response.status_code in (401, 403):
                    wrong.append(f"{role} refused {key}: {response.status_code}")
            elif not is_guard_refusal(response):
                wrong.append(f"{role} not refused {key}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def _planted_callback(dash_app, output: Output) -> dict[str, Any]:
    """A registered-callback entry (Dash's own router stub as template) with the given
    outputs; its function fails if it ever runs, so only the guard's answer can be a 403."""

    def planted(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("planted callback ran")

    template = dash_app.callback_map[next(k for k in dash_app.callback_map if "_pages_dummy" in k)]
    return {**template, "output": output, "callback": planted}


@pytest.mark.parametrize(
    "outputs",
    [
        [Output("nowhere-result", "children")],
        [Output("home-cards", "children"), Output("nowhere-result", "children")],
        [Output({"type": "nowhere-row", "index": dash.MATCH}, "children")],
    ],
    ids=["no-page", "home-and-no-page", "pattern-id-no-page"],
)
def test_callback_owned_by_no_page_is_refused_for_every_role(
    clients, dash_app, monkeypatch, outputs
):
    """docs/security.md: callbacks whose outputs match no page prefix are refused for everyone,
    admin included (fail closed)."""
    key = "planted-" + "-".join(str(o.component_id) for o in outputs)
    monkeypatch.setitem(dash_app.callback_map, key, _planted_callback(dash_app, outputs))
    for role in ROLES:
        response = clients[role].post("/_dash-update-component", json={"output": key})
        assert is_guard_refusal(response), (role, response.status_code)


def test_pattern_matching_output_belongs_to_its_page(clients, dash_app, monkeypatch):
    """A pattern-matching id is attributed by its ``type``: a users-page row is admin only."""
    output = Output({"type": "users-row", "index": dash.MATCH}, "children")
    key = "planted-users-row.children"
    monkeypatch.setitem(dash_app.callback_map, key, _planted_callback(dash_app, output))
    for role in (MANAGER, PRIVACY, MARKETING):
        response = clients[role].post("/_dash-update-component", json={"output": key})
        assert is_guard_refusal(response), role
    admin = clients[ADMIN].post("/_dash-update-component", json={"output": key})
    assert admin.status_code not in (401, 403)  # past the guard (the stub itself then fails)


def test_routes_for_every_role(clients, dash_app):
    wrong = []
    for rule, spec in ROUTES.items():
        if not isinstance(spec, Route):
            continue
        anonymous = clients[None].get(spec.url)
        if spec.anonymous == "login":
            if not (
                anonymous.status_code == 302
                and anonymous.headers["Location"].startswith("/login?next=")
            ):
                wrong.append(f"anonymous {rule}: {anonymous.status_code}")
        elif anonymous.status_code != spec.anonymous:
            wrong.append(f"anonymous {rule}: {anonymous.status_code}")
        for role in ROLES:
            # /logout ends the session: it gets a client of its own
            client = log_in(dash_app, role) if rule == "/logout" else clients[role]
            response = client.get(spec.url)
            expected = spec.ok if role in spec.allowed else spec.refused
            if response.status_code != expected:
                wrong.append(f"{role} {rule}: {response.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_post_to_an_undeclared_path_is_refused(clients):
    """docs/security.md: other POSTs are refused even for admin (fail closed)."""
    for path in ("/", "/partners", "/admin/users", "/api/anything", "/download/x"):
        assert clients[None].post(path).status_code == 401, path
        for role in ROLES:
            assert clients[role].post(path).status_code == 403, (role, path)


# --- exports ----------------------------------------------------------------------------------


def _export(client, dash_app, export: Export):
    key = next(
        k
        for k, cb in dash_app.callback_map.items()
        if signature(cb)[0] == f"{export.download}.data"
    )
    buttons = [p for p in EXPORTS.values() if p.download == export.download]
    inputs = [(p.trigger, "n_clicks", 1 if p is export else None) for p in buttons]
    state = [(s["id"], s["property"], None) for s in dash_app.callback_map[key].get("state", [])]
    return post_callback(client, dash_app, key, inputs, state, [f"{export.trigger}.n_clicks"])


def _export_entries(engine, action: str, actor: str) -> int:
    with session_scope(engine) as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == action, AuditLog.actor == actor)
        )


@pytest.mark.parametrize("name", list(EXPORTS))
def test_exports_for_every_role(clients, dash_app, engine, name):
    """Allowed roles get the file and an audit entry; a role that opens the page without the
    capability is refused by the callback on the server (no file, nothing logged); a role that
    may not open the page is refused by the guard."""
    export = EXPORTS[name]
    page_roles = PAGES[export.page][1]
    for role in ROLES:
        username = ROLE_USERS[role]
        before = _export_entries(engine, export.audit_action, username)
        response = _export(clients[role], dash_app, export)
        if role not in page_roles:
            assert is_guard_refusal(response), (role, response.status_code)
            continue
        assert response.status_code == 200, (role, response.get_data(as_text=True)[:500])
        out = response.get_json()["response"]
        logged = _export_entries(engine, export.audit_action, username) - before
        if role in export.roles:
            data = out[export.download]["data"]
            assert re.fullmatch(export.file_pattern, data["filename"]), (role, data["filename"])
            assert data["content"], role
            assert logged == 1, (role, logged)
        else:
            assert export.download not in out, (role, out)
            assert logged == 0, (role, logged)
