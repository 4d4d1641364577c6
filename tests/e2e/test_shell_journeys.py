"""The shell in a real browser: login, logout, a page per role, a forbidden page and the 404."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import E2E_USERS, login_as

WAIT = 30_000  # ms: a view on a busy CI machine


def test_login_lands_on_the_requested_page_and_logout_ends_the_session(new_page, live_server):
    page = new_page()
    page.goto("/")
    assert "/login" in page.url and "next=" in page.url
    login_as(page, "manager")
    assert page.inner_text("#shell-username") == "manager"
    assert page.inner_text("#shell-role") == "Manager"
    page.wait_for_selector("#home-kpi-leads")
    page.click("#shell-logout")
    page.wait_for_selector("#login-submit")
    page.goto("/")
    assert "/login" in page.url


def test_wrong_password_is_refused_with_a_message(new_page, console):
    console.allow.append("401")  # the failed form post answers 401
    page = new_page()
    page.goto("/login")
    page.fill("#username", "manager")
    page.fill("#password", "wrong")
    page.click("#login-submit")
    assert "wrong password" in page.inner_text("#login-error")


@pytest.mark.parametrize("role", sorted(E2E_USERS))
def test_each_role_sees_its_overview_and_only_its_menu(page_as, role):
    page = page_as(role)
    page.wait_for_selector("#home-kpi-leads")
    assert re.search(r"\d", page.inner_text("#home-kpi-leads"))
    privacy_visible = page.locator("#home-kpi-privacy").count() == 1
    assert privacy_visible == (role in ("admin", "privacy_officer"))
    menu = page.inner_text("nav")
    if role == "marketing":
        assert "Partners" not in menu and "Privacy" not in menu


def test_forbidden_page_shows_not_allowed(page_as, console, live_server):
    console.allow.append("403")  # the document itself is served with status 403
    page = page_as("marketing")
    response = page.goto("/audit")
    assert response is not None and response.status == 403
    page.wait_for_selector("#shell-forbidden")
    assert "Not allowed" in page.inner_text("#shell-forbidden")


def test_unknown_page_shows_404_inside_the_shell(page_as, console):
    console.allow.append("404")
    page = page_as("manager")
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    page.wait_for_selector("#shell-not-found")
    assert page.locator("#shell-username").count() == 1


def test_the_content_security_policy_is_enforced_and_the_grid_still_formats(page_as, console):
    """Issue 12, point 5: the browser refuses an injected inline script (the policy is in force,
    not only sent), while Dash's own inline scripts and the grid's function formatters (which
    need 'unsafe-eval') run: the partner grid shows formatted cells."""
    console.allow.append("Content Security Policy")  # the refusal below is logged as an error
    page = page_as("manager")
    page.wait_for_selector("#home-kpi-leads")
    blocked = page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.__injected = true';
            document.head.appendChild(s);
            return window.__injected === undefined;
        }"""
    )
    assert blocked is True
    page.goto("/partners")
    # the grid draws its rows' cells empty while their values are on the way: wait for text
    page.wait_for_function(
        """() => [...document.querySelectorAll('#partners-grid .ag-cell')]
                   .some(c => c.innerText.trim() !== '')""",
        timeout=WAIT,
    )
    assert any(c.strip() for c in page.locator("#partners-grid .ag-cell").all_inner_texts())
    assert [e for e in console.errors if "Content Security Policy" in e]
