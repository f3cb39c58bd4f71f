"""CSRF on every POST, security headers, cookies, request ids, no JavaScript, /healthz."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from consent_ui.headers import CONTENT_SECURITY_POLICY
from tests.consent_ui.conftest import base_config, form_of, submit

TEMPLATES = Path(__file__).resolve().parents[2] / "consent_ui" / "templates"

PAGES = {
    "login": ("/login?login_challenge=login-1", "add_login", "login-1", "login"),
    "consent": ("/consent?consent_challenge=consent-1", "add_consent", "consent-1", "allow"),
    "logout": ("/logout?logout_challenge=logout-1", "add_logout", "logout-1", "yes"),
}


def open_page(client, admin, name: str):
    url, add, challenge, _ = PAGES[name]
    getattr(admin, add)(challenge)
    response = client.get(url)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_post_without_the_csrf_token_is_refused_before_any_admin_call(client, admin, name):
    page = open_page(client, admin, name)
    button = PAGES[name][3]
    data = [pair for pair in form_of(page).submit_data(button) if pair[0] != "csrf_token"]
    admin.calls.clear()

    response = client.post(f"/{name}", data=MultiDict(data))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your form could not be verified" in html
    assert "localhost" in html and "127.0.0.1" in html
    assert response.headers["X-Request-Id"] in html
    assert admin.calls == []


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_post_with_a_forged_csrf_token_is_refused(client, admin, name):
    page = open_page(client, admin, name)
    button = PAGES[name][3]
    admin.calls.clear()

    response = submit(client, page, button, csrf_token="forged." + "A" * 40)

    assert response.status_code == 400
    assert admin.calls == []


def test_a_token_from_another_browser_session_is_refused(app, admin):
    first, second = app.test_client(), app.test_client()
    page = open_page(first, admin, "logout")

    response = submit(second, page, "yes")  # second has no session cookie for that token

    assert response.status_code == 400
    assert admin.answers() == []


def all_responses(client, admin):
    """One response of every kind: each page, each error page, static, health."""
    responses = {name: open_page(client, admin, name) for name in PAGES}
    responses["still_logged_in"] = submit(client, responses["logout"], "no")
    responses["missing"] = client.get("/login")
    responses["not_found"] = client.get("/nowhere")
    responses["csrf"] = client.post("/login", data={})
    responses["gone"] = client.get("/logout?logout_challenge=logout-1")
    admin.down = True
    responses["down"] = client.get("/login?login_challenge=login-1")
    responses["static"] = client.get("/static/style.css")
    assert b":focus-visible" in responses["static"].get_data()  # visible focus styles
    responses["static"].close()  # a file response: close it after reading
    responses["health"] = client.get("/healthz")
    return responses


def test_security_headers_on_every_response(client, admin):
    for name, response in all_responses(client, admin).items():
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "no-referrer", name
        assert headers["X-Request-Id"], name
        if name != "static":
            assert headers["Cache-Control"] == "no-store", name


def test_the_policy_forbids_scripts_framing_and_foreign_styles():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'none'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["default-src"] == "'self'"


def test_no_script_anywhere(client, admin):
    for name, response in all_responses(client, admin).items():
        html = response.get_data(as_text=True).lower()
        assert "<script" not in html, name
        assert " on" + "click=" not in html and "javascript:" not in html, name
        assert "style=" not in html, name  # no inline styles either (style-src 'self')
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text().lower()
        assert "<script" not in text and "style=" not in text, template.name


def test_pages_are_usable_on_a_phone(client, admin):
    for name in PAGES:
        html = open_page(client, admin, name).get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert 'href="/static/style.css"' in html
        assert "https://" not in html.split("</head>")[0]  # no CDN


def test_request_ids_are_unique(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_healthz_answers_without_calling_the_admin_api(client, admin):
    admin.down = True

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert admin.calls == []


def session_cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_cookies_are_app_specific_http_only_and_lax(auth):
    response = auth.login(remember=True)

    cookies = {header.split("=", 1)[0]: header for header in session_cookie_headers(response)}
    assert set(cookies) == {"consent_ui_session", "consent_ui_remember", "consent_ui_device"}
    for header in cookies.values():
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
        assert "Secure" not in header  # served over plain http in this configuration


def test_cookies_are_secure_when_served_over_https(admin):
    client = create_app(base_config(HTTPS=True), admin_api=admin).test_client()
    admin.add_login()
    page = client.get("/login?login_challenge=login-1", base_url="https://localhost")
    form = form_of(page)

    response = client.post(
        "https://localhost/login",
        data=MultiDict(
            form.submit_data("login", tick=["remember"], email="foo@bar.com", password="foobar")
        ),
    )

    assert response.status_code == 302
    for header in session_cookie_headers(response):
        assert "Secure" in header


def test_unexpected_errors_show_a_page_without_internals(admin):
    class Broken:
        def get_login_request(self, challenge):
            raise RuntimeError("database password is hunter2")

    client = create_app(base_config(), admin_api=Broken()).test_client()

    response = client.get("/login?login_challenge=x")

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "hunter2" not in html and "Traceback" not in html
    assert response.headers["X-Request-Id"] in html


def test_an_admin_api_error_is_a_502_page(client, admin):
    from consent_ui.admin_api import AdminApiError

    def failing(challenge):
        raise AdminApiError(500, "error", "The error is unrecognizable")

    admin.get_login_request = failing

    response = client.get("/login?login_challenge=login-1")

    assert response.status_code == 502
    assert "unrecognizable" not in response.get_data(as_text=True)
