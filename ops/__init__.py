"""Running the app in production: request ids and logs, body limits, database outages, the
health endpoint (issue 17; ``docs/operations.md``).

``install(server)`` is called by ``app.create_dash`` before the guard, ``install_after_guard``
after it: the guard parses a callback body (``ops.callback_body``: 400/413 when it is not JSON,
too large or too deep) and checks the role; then the body must match the callback's signature.
"""

from __future__ import annotations

from flask import Flask


def install(server: Flask) -> None:
    from ops import faults, health, request_log

    request_log.install(server)
    faults.install(server)
    health.install(server)


def install_after_guard(server: Flask, dash_app: object) -> None:
    from ops import callback_body

    callback_body.install(server, dash_app)
