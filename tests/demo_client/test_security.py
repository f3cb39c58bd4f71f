"""Security headers on every page, no script anywhere, no-store on pages with tokens."""

from __future__ import annotations

import pytest

from tests.demo_client.conftest import query

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-ancestors 'none'"
)


def every_page(browser) -> list:
    responses = [browser.get("/"), browser.get("/inspector"), browser.get("/nope")]
    responses.append(browser.login())
    responses.append(browser.get("/inspector"))
    responses.append(browser.get("/callback?state=x&code=y"))
    responses.append(browser.post("/refresh", data={}))
    logout = browser.press("/logout")
    responses.append(browser.get("/logged-out?state=" + query(logout.headers["Location"])["state"]))
    return responses


def test_security_headers_on_every_page(browser):
    for response in every_page(browser):
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


def test_no_script_and_only_the_one_stylesheet(browser):
    for response in every_page(browser):
        html = response.text.lower()
        assert "<script" not in html
        assert " style=" not in html  # inline styles would break the CSP
        assert " on" + "click" not in html
        if "<link" in html:
            assert html.count('rel="stylesheet"') == 1
            assert 'href="/static/style.css"' in html


def test_stylesheet_is_served_and_cacheable(browser):
    response = browser.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers.get("Cache-Control") != "no-store"
    assert "@import" not in response.text and "url(" not in response.text
    response.close()


def test_healthz_answers_without_network_calls(browser):
    response = browser.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert browser.fake.requests == []


@pytest.mark.parametrize("path", ["/refresh", "/revoke", "/logout"])
def test_actions_are_post_only(browser, path):
    assert browser.get(path).status_code == 405
