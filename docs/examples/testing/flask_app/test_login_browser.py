"""The Flask app's login, in a real (headless) Chromium driven by Playwright.

The app runs in a thread on a free loopback port; the harness decides each login as the
test scripts it, so the browser never sees a login form.
"""

import os
import shutil
import threading

import pytest
from app import create_app
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


@pytest.fixture(scope="module")
def app_url(authserver_harness):
    """The app, configured from the environment as in production, on a free port."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTHSERVER_ISSUER", authserver_harness.issuer)
        env.setenv("AUTHSERVER_CLIENT_ID", "flask-app-under-test")
        env.setenv("AUTHSERVER_CLIENT_SECRET", "test-secret")
        env.setenv("APP_SECRET_KEY", "test only")
        app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def flask_client(authserver, app_url):
    """The app's OAuth2 client, registered with its redirect URI. Made per test: the
    ``authserver`` fixture's reset removes the clients a test created. (harness.yaml's
    "flask-app" is the compose example's, with a fixed redirect URI.)"""
    return authserver.create_client(
        client_id="flask-app-under-test",
        client_secret="test-secret",
        redirect_uris=[app_url + "/callback"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope="openid email profile",
    )


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()  # fresh cookies for every test
    yield context.new_page()
    context.close()


def test_alice_logs_in(authserver, flask_client, app_url, page):
    authserver.next_login("alice", claims={"email": "alice@wonderland.example"})
    page.goto(app_url + "/login")
    expect(page.locator("#email")).to_have_text("alice@wonderland.example")

    # What the app sent: PKCE S256 on the authorization request.
    authorize = [
        r for r in authserver.requests_for("flask-app-under-test") if r["path"] == "/oauth2/auth"
    ]
    assert authorize[0]["params"]["code_challenge_method"] == "S256"


def test_the_user_refuses(authserver, flask_client, app_url, page):
    authserver.deny_next(description="The user said no.")
    page.goto(app_url + "/login")
    expect(page.locator("#error")).to_have_text("access_denied: The user said no.")
