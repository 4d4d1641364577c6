"""The one server-side permission check, run before every request.

Rules (see docs/security.md):

* public: the login page, static assets and the health check (``/healthz``, no data) only;
* not logged in: page requests redirect to ``/login?next=…``; callback, API and download calls
  get 401;
* logged in: a page path is allowed when the user's role is in the page's ``allowed_roles``
  (otherwise the shell is served with status 403 and renders a "not allowed" page); a Dash
  callback is allowed when the role may open every page that owns one of its output ids (ids are
  prefixed with their page's ``id_prefix``); a Flask route is allowed when it was registered
  with :func:`route_roles`. Anything the guard cannot attribute is refused (fail closed).

Page layouts are also wrapped (:func:`wrap_page_layouts`) because Dash renders them inside its
router callback, which every logged-in user may call.

Rules finer than page access (exports, people vs counts, overview KPIs, privacy actions) live in
``data/roles.py``; :func:`current_role_can` asks that map for the logged-in user, so pages never
hold role sets of their own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import dash
from dash.exceptions import PreventUpdate
from flask import Flask, Response, has_request_context, jsonify, redirect, request
from flask_login import current_user

from components import in_place, messages
from data.roles import ALL_ROLES, can
from ops import callback_body, faults, outage, request_log

logger = logging.getLogger(__name__)

# Component ids owned by the shell (navbar, location, page container): any logged-in user.
SHELL_PREFIXES = {"shell": ALL_ROLES}
DASH_ROUTER_PREFIX = "_pages_"  # Dash's own page router ids (_pages_content, …)
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
PUBLIC_PATHS = frozenset({"/login", "/_favicon.ico", "/favicon.ico", "/healthz"})
DASH_PREFIX = "/_dash-"
CALLBACK_PATH = "/_dash-update-component"
API_PREFIXES = ("/api/", "/download/", "/_dash-", "/_reload-hash")

_ROUTE_ROLES: dict[str, frozenset[str]] = {}


def route_roles(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare which roles may call a plain Flask route (downloads, APIs)."""
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return decorate


def register_route_roles(app: Flask) -> None:
    """Collect the roles declared on Flask view functions after all routes are registered."""
    for endpoint, view in app.view_functions.items():
        roles = getattr(view, "allowed_roles", None)
        if roles is not None:
            _ROUTE_ROLES[endpoint] = roles


def page_prefixes() -> dict[str, frozenset[str]]:
    """Map every component-id prefix (pages and shell) to the roles allowed to use it."""
    prefixes = dict(SHELL_PREFIXES)
    for page in dash.page_registry.values():
        prefix = page.get("id_prefix")
        if prefix:
            prefixes[prefix] = frozenset(page["allowed_roles"])
    return prefixes


def roles_for_component_id(
    component_id: str | dict, prefixes: dict[str, frozenset[str]]
) -> frozenset[str]:
    """Roles allowed to touch a component, by the longest page prefix of its id (or none)."""
    if isinstance(component_id, dict):
        component_id = str(component_id.get("type", ""))
    if component_id.startswith(DASH_ROUTER_PREFIX):
        return ALL_ROLES  # the router renders guarded layouts (wrap_page_layouts)
    best = ""
    for prefix in prefixes:
        if (component_id == prefix or component_id.startswith(prefix + "-")) and len(prefix) > len(
            best
        ):
            best = prefix
    return prefixes.get(best, frozenset()) if best else frozenset()


def callback_roles(callback: dict[str, Any], prefixes: dict[str, frozenset[str]]) -> frozenset[str]:
    """Roles allowed to run a registered callback: the intersection over all its outputs."""
    if callback.get("no_output"):
        return frozenset()
    outputs = callback["output"]
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    roles = ALL_ROLES
    for output in outputs:
        roles &= roles_for_component_id(output.component_id, prefixes)
    return roles if outputs else frozenset()


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(<[^>]+>)", template)
    pattern = "".join("[^/]+" if p.startswith("<") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}/?$")


def page_for_path(path: str) -> dict[str, Any] | None:
    """The registered page serving ``path`` (exact path or ``path_template``), if any."""
    stripped = path.rstrip("/") or "/"
    for page in dash.page_registry.values():
        if page["path"] == stripped:
            return page
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if template and _template_regex(template).match(stripped):
            return page
    return None


def role_may_open(page: dict[str, Any], role: str | None) -> bool:
    return role is not None and role in page.get("allowed_roles", ())


def current_role() -> str | None:
    if not current_user.is_authenticated:
        return None
    return current_user.role


def current_role_can(capability: str) -> bool:
    """Whether the logged-in user's role has ``capability`` (``data.roles``); anonymous users,
    unknown roles and unknown capabilities get False."""
    return can(current_role(), capability)


def _deny(status: int, message: str) -> Response:
    request_log.note(message)
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES) or request.method != "GET"


def install(app: Flask, dash_app: dash.Dash) -> None:
    """Register the guard as the last ``before_request`` hook (after Dash's own set-up)."""

    @app.before_request
    def permission_guard() -> Response | tuple[Any, int] | None:
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        role = current_role()
        if role is None:
            if _is_api(path):
                return _deny(401, "login required")
            target = request.full_path if request.query_string else path
            return redirect(f"/login?next={quote(target, safe='/')}")
        if path == CALLBACK_PATH:
            return _check_callback(dash_app, role)
        if path.startswith(DASH_PREFIX):
            return None  # layout and dependencies: the shell, no data
        if request.endpoint in _ROUTE_ROLES:
            if role in _ROUTE_ROLES[request.endpoint]:
                return None
            return _deny(403, "not allowed for your role")
        if _is_api(path):
            return _deny(403, "not allowed")
        page = page_for_path(path)
        if page is None:
            return dash_app.index(), 404
        if not role_may_open(page, role):
            return dash_app.index(), 403
        return None


def _check_callback(dash_app: dash.Dash, role: str) -> Response | None:
    """The role may run the callback named by the body's ``output``. A body that is not JSON,
    too large (413) or too deep is refused here; whether the rest of it matches the callback is
    checked right after the guard (``ops.callback_body.install``)."""
    try:
        output = callback_body.check_shape(callback_body.read_json(request))
    except callback_body.BadBody as exc:
        return _deny(exc.status, exc.reason)
    request_log.note_callback(output)
    callback = dash_app.callback_map.get(output)
    if callback is None:
        return _deny(400, "unknown callback")
    if role not in callback_roles(callback, page_prefixes()):
        return _deny(403, "not allowed for your role")
    return None


def wrap_page_layouts() -> None:
    """Make every page layout check the role itself, since Dash's router renders it in-app.

    The wrapper also turns an unexpected exception in a layout into a friendly message (logged
    with its traceback on the server) instead of a failed callback.
    """
    for page in dash.page_registry.values():
        layout = page["layout"]
        if getattr(layout, "guarded", False):
            continue
        if "allowed_roles" not in page or "id_prefix" not in page:
            raise RuntimeError(f"page {page['module']} must declare allowed_roles and id_prefix")

        page["layout"] = _guarded_layout(page, layout)


def _guarded_layout(page: dict[str, Any], layout: Any) -> Any:
    def guarded(**kwargs: Any) -> Any:
        shown = kwargs.pop(in_place.ROUTING_KEY, None)
        if not role_may_open(page, current_role()):
            return messages.forbidden()
        if in_place.already_shown(page["module"], shown, kwargs):
            raise PreventUpdate  # the page has updated itself to this address
        try:
            return layout(**kwargs) if callable(layout) else layout
        except Exception as exc:
            if outage.is_outage(exc):
                raise  # 503 with the message (ops.faults), not a 200 with an error panel
            _log_layout_fault(page["module"], exc)
            return messages.unexpected_error()

    guarded.guarded = True  # type: ignore[attr-defined]
    return guarded


def _log_layout_fault(module: str, exc: Exception) -> None:
    """The traceback once per distinct fault in this process (``ops.faults``); every request
    that meets it again carries only the fault id on its log line."""
    fault_id = faults.fingerprint(exc)
    if has_request_context():
        request_log.note_fault(fault_id)
    if faults.first_time(fault_id):
        logger.error("layout of %s failed", module, exc_info=exc, extra={"fault": fault_id})


def visible_pages(
    role: str | None, pages: Iterable[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Pages for the navigation: those the role may open and that ask to be in the menu."""
    pages = dash.page_registry.values() if pages is None else pages
    return [p for p in pages if p.get("nav_order") is not None and role_may_open(p, role)]
