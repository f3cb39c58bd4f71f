"""The pages' shape: a short tokens page with a flow summary, the inspector on its own
page (one title, an empty state before any login), distinct buttons, and a favicon."""

from __future__ import annotations

import re

from tests.demo_client.test_inspector import steps_of


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


def fetch(browser, path: str, **kwargs):
    """A response read whole and closed (static files are streamed from an open file)."""
    response = browser.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


def summary_of(html: str) -> list[str]:
    return re.findall(r'data-summary-step="([^"]+)"', html)


def test_the_tokens_page_summarises_the_flow_and_links_the_inspector(browser):
    home = browser.login().text
    inspector = browser.get("/inspector").text
    assert steps_of(home) == []  # the diagram is not embedded any more
    assert summary_of(home) == steps_of(inspector)  # every step, in order, in a line each
    assert 'href="/inspector"' in home
    assert len(home) < len(inspector)
    assert h1_count(home) == 1


def test_a_failed_step_is_marked_in_the_summary(browser):
    browser.login()
    browser.fake.token_error = ("invalid_grant", "The refresh token is gone.")
    browser.press("/refresh")
    home = browser.get("/").text
    failed = re.findall(r'<li class="failed" data-summary-step="([^"]+)"', home)
    assert failed == ["refresh"]


def test_the_inspector_after_login_has_one_title_and_a_way_back(browser):
    browser.login()
    html = browser.get("/inspector").text
    assert h1_count(html) == 1
    assert 'href="/"' in html.split('id="inspector-title"')[1].split("</p>")[0]
    assert 'id="inspector-empty"' not in html


def test_the_inspector_before_any_login_says_to_log_in_first(browser):
    response = browser.get("/inspector")
    html = response.text
    assert response.status_code == 200
    assert h1_count(html) == 1
    empty = html.split('id="inspector-empty"')[1].split("</div>")[0]
    assert 'href="/login"' in empty
    assert "Back to the tokens" not in html and steps_of(html) == []


def test_revoke_and_log_out_buttons_are_styled_apart_from_refresh(browser):
    home = browser.login().text
    classes = {
        label: re.search(f'<button type="submit"(?: class="([^"]*)")?>{label}</button>', home)[1]
        for label in ("Refresh tokens", "Revoke", "Log out")
    }
    assert len(set(classes.values())) == 3
    css = fetch(browser, "/static/style.css").text
    for label in ("Revoke", "Log out"):
        assert re.search(rf"button\.{classes[label]}\s*\{{[^}}]*background", css)


def test_every_page_links_an_icon_that_is_served(browser):
    for html in (browser.get("/").text, browser.get("/inspector").text, browser.get("/x").text):
        icon = re.search(r'<link rel="icon" href="([^"]+)"', html)[1]
        response = fetch(browser, icon)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("image/svg+xml")


def test_favicon_ico_is_served_and_cacheable(browser):
    response = fetch(browser, "/favicon.ico")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert response.data.lstrip().startswith(b"<svg")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    head = browser.client.head("http://127.0.0.1:4446/favicon.ico")
    head.close()
    assert head.status_code == 200


def test_favicon_bad_input_is_a_4xx_or_the_icon(browser):
    assert browser.post("/favicon.ico").status_code == 405
    assert fetch(browser, "/favicon.ico?%ff%fe=%00").status_code == 200
    assert fetch(browser, "/favicon.ico/x").status_code == 404
    assert fetch(browser, "/favicon.ico", headers={"Host": "evil:x"}).status_code in (200, 400)
