"""Security headers on every response (docs/security.md, "Headers").

The Content-Security-Policy is built for what Dash 4.4 and dash-ag-grid 35 actually do:

* scripts: only from this origin, plus the SHA-256 hashes Dash reports for its own inline
  scripts (``Dash.csp_hashes()``: the renderer start-up line and the inline clientside
  callbacks), never ``'unsafe-inline'``. The hashes are taken per response, so a clientside
  callback registered late is still covered;
* ``'unsafe-eval'``: dash-ag-grid compiles the grid's ``{"function": "…"}`` value formatters
  and getters with ``new Function`` (``components/partner_columns.py`` uses them). Without it
  every formatted column fails with an ``EvalError``;
* styles: this origin and ``'unsafe-inline'``, because React's ``style`` props, AG Grid's
  theme and Plotly inject ``<style>`` elements at run time (styles cannot run code);
* images and fonts from this origin and ``data:`` (Plotly's mode bar, Bootstrap's icons);
  XHR only to this origin; no plugins; forms post only here; ``frame-ancestors 'none'``.

Responses other than static files are never cached (``no-store``): pages and callback JSON hold
personal data and must not stay in a shared or browser cache after logout. Static files whose
address names their version are kept for a year without asking again (``immutable``): the
assets Dash links with their modification time (``?m=…``) and the files of ``assets/vendor/``,
whose names carry their release. Revalidating them (a ``304`` each) held up the first load of a
page by ~50 ms: the scripts run in order, so the slowest answer gates them all
(docs/partner-performance.md, "In the browser"). Other assets are revalidated as before.

HSTS is sent only on HTTPS requests (``request.is_secure``, which believes
``X-Forwarded-Proto`` only from the proxies ``BEHIND_PROXY`` trusts).
"""

from __future__ import annotations

import dash
from flask import Flask, Response, request

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
VERSIONED_ASSETS = "/assets/vendor/"  # file names carry their release: plotly-…-4.1.1.min.js
IMMUTABLE = "public, max-age=31536000, immutable"
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(script_hashes: list[str] | tuple[str, ...]) -> str:
    """The policy, with Dash's inline-script hashes allowed."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def apply(
    response: Response,
    script_hashes: list[str],
    path: str,
    secure: bool,
    fingerprinted: bool = False,
) -> Response:
    """Set the headers on one response (a function of its inputs, so tests can call it).
    ``fingerprinted``: the address carries the file's version (Dash's ``?m=`` query)."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(script_hashes)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if not path.startswith(STATIC_PREFIXES):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
    elif response.status_code in (200, 304) and (
        path.startswith(VERSIONED_ASSETS) or (fingerprinted and path.startswith("/assets/"))
    ):
        headers["Cache-Control"] = IMMUTABLE
    if secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def install(app: Flask, dash_app: dash.Dash) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        return apply(
            response,
            list(dash_app.csp_hashes()),
            request.path,
            request.is_secure,
            fingerprinted="m" in request.args,
        )
