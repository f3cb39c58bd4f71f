"""A forged Host header is never reflected: pages, redirects and the inspector name the
configured address (the redirect URI's origin) instead."""

from __future__ import annotations

import pytest

from tests.demo_client.conftest import BASE, query

EVIL = "evil.example"


def as_evil(browser, method: str, path: str, **kwargs):
    """A request with this browser's cookie but a forged Host header (the test client would
    otherwise drop the cookie, which belongs to 127.0.0.1)."""
    cookie = browser.client.get_cookie("demo_client_session_4446", domain="127.0.0.1")
    headers = {
        "Host": EVIL,
        **({"Cookie": f"demo_client_session_4446={cookie.value}"} if cookie else {}),
    }
    client = browser.app.test_client(use_cookies=False)
    return client.open(BASE + path, method=method, headers=headers, **kwargs)


def assert_not_reflected(response) -> None:
    assert EVIL not in response.get_data(as_text=True)
    assert all(EVIL not in value for _, value in response.headers.items())


def test_the_missing_session_page_names_the_configured_address(browser):
    response = as_evil(browser, "GET", "/callback?code=c&state=s")

    assert response.status_code == 400
    assert "missing_session" in response.text
    assert BASE + "/" in response.text  # where the app really is
    assert_not_reflected(response)


def test_the_inspector_records_the_callback_at_the_configured_address(browser):
    callback = browser.fake.authorize(browser.start_login())
    path = callback.removeprefix(BASE)

    response = as_evil(browser, "GET", path)

    assert response.status_code == 303
    page = browser.get("/inspector")
    assert BASE + "/callback?code=" in page.text
    assert_not_reflected(page)


def test_the_logged_out_page_records_the_configured_address(browser):
    browser.login()
    logout = browser.press("/logout")
    state = query(logout.headers["Location"])["state"]

    response = as_evil(browser, "GET", f"/logged-out?state={state}")

    assert response.status_code == 200
    assert BASE + "/logged-out?state=" in response.text
    assert_not_reflected(response)


def every_get_path(app) -> list[str]:
    return [
        rule.rule.replace("<path:filename>", "style.css")
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
    ]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged in"])
def test_no_page_reflects_a_forged_host(browser, logged_in):
    if logged_in:
        browser.login()
    for path in every_get_path(browser.app):
        for suffix in ("", "?error=access_denied&state=x", "?prompt=login"):
            response = as_evil(browser, "GET", path + suffix)
            assert response.status_code < 500, path
            assert_not_reflected(response)
            response.close()
