"""The shell's JSON responses, encoded once per process instead of on every request.

Why (issue 17): the shell (the page, ``/_dash-layout``, ``/_dash-dependencies``) is about 60 %
of the console's requests, and each of the two JSON responses was rebuilt and encoded per
request although it changes only with the deployment:

* ``/_dash-dependencies`` lists every callback's ids and properties, the same for every user
  (the guard checks each callback's roles when it is *called*, never from this list). It is
  encoded once, and again only if Dash's callback list is replaced or grows.
* ``/_dash-layout`` is the shell for the logged-in user: a navigation of the pages the *role*
  may open, plus two per-session values (the user name in the badge and the logout form's
  CSRF token). It is encoded once per role with two placeholders, random per process, which
  are replaced on each request by the session's values, encoded the way Dash encodes them;
  the response is byte for byte what Dash would have sent. The cache is keyed by role, so one
  role can never receive another's menu, and nothing in the shell comes from the database, so
  no data version is involved. Not logged in, or if Dash has layout hooks or extra components
  (which this cache does not reproduce), the layout is built by Dash as before.

``tests/unit/test_shell_cache.py`` compares both responses with Dash's own for every role.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

import dash
from dash._utils import to_json

#: (role, user name, CSRF token) of the logged-in user, or None when nobody is logged in.
Who = Callable[[], tuple[str, str, str] | None]
#: Builds the shell component tree for (role, user name, CSRF token).
Builder = Callable[[str, str, str], Any]


class ConsoleDash(dash.Dash):
    """``dash.Dash`` with the shell's two JSON responses cached (see the module docstring).
    Call :meth:`cache_shell` once the layout function is set; until then Dash serves both."""

    _who: Who | None = None
    _build: Builder | None = None

    def cache_shell(self, who: Who, build: Builder) -> None:
        self._who, self._build = who, build
        self._shell_lock = threading.Lock()
        self._layouts: dict[str, str | None] = {}  # role → encoded shell with placeholders
        self._dependencies_json: tuple[list, int, str] | None = None
        token = secrets.token_hex(12)
        self._marks = (f"shell-user-{token}", f"shell-csrf-{token}")
        quoted = [to_json(mark) for mark in self._marks]
        self._quoted_marks = quoted
        self._mark_pattern = re.compile("|".join(re.escape(q) for q in quoted))

    # --- /_dash-dependencies -----------------------------------------------------------------

    def dependencies(self):  # type: ignore[override]
        if self._who is None:
            return super().dependencies()
        listed = self._callback_list
        cached = self._dependencies_json
        # the list object itself is held here, so "is" cannot be fooled by a reused id
        if cached is None or cached[0] is not listed or cached[1] != len(listed):
            cached = (listed, len(listed), to_json(listed))
            self._dependencies_json = cached
        return self.backend.make_response(cached[2], content_type="application/json")

    # --- /_dash-layout -------------------------------------------------------------------------

    def serve_layout(self):  # type: ignore[override]
        who = self._who() if self._who is not None else None
        if who is None or self._extra_components or self._hooks.get_hooks("layout"):
            return super().serve_layout()
        role, username, token = who
        template = self._template(role)
        if template is None:
            return super().serve_layout()
        user_mark, token_mark = self._quoted_marks
        values = {user_mark: to_json(username), token_mark: to_json(token)}
        body = self._mark_pattern.sub(lambda m: values[m.group(0)], template)
        return self.backend.make_response(body, mimetype="application/json")

    def _template(self, role: str) -> str | None:
        """The role's encoded shell with the placeholders, built on first use; None when a
        placeholder does not appear exactly once, as a whole JSON string (then not cached)."""
        if role not in self._layouts:
            with self._shell_lock:
                if role not in self._layouts:
                    assert self._build is not None
                    text = to_json(self._build(role, *self._marks))
                    whole = all(
                        text.count(quoted) == 1 and text.count(mark) == 1
                        for quoted, mark in zip(self._quoted_marks, self._marks, strict=True)
                    )
                    self._layouts[role] = text if whole else None
        return self._layouts[role]
