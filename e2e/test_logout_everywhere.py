"""Log in to two apps, log out of one, watch the other end: OpenID Connect Back-Channel and
Front-Channel Logout in a real browser, with two demo clients ("Demo client" and "Second
app", two client ids on two ports) beside the real authserver and consent-ui."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Stack, _command, _start, free_port
from e2e.test_browser_flows import allow, sign_in


@pytest.fixture
def second_app(stack: Stack, tmp_path) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = _start(
        "second-app",
        [*_command("demo-client"), "--register"],
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DEMO_CLIENT_NAME": "Second app",
            "DEMO_CLIENT_ID": "e2e-second-app",
            "DEMO_CLIENT_SPA_ID": "e2e-second-app-spa",
            "DEMO_CLIENT_SECRET": "e2e-second-app-secret",
            "DEMO_CLIENT_ISSUER": stack.public + "/",
            "DEMO_CLIENT_ADMIN_URL": stack.admin,
            "DEMO_CLIENT_REDIRECT_URI": url + "/callback",
            "DEMO_CLIENT_SECRET_KEY": "e2e-second-app-key",
        },
        url,
        "/healthz",
        tmp_path,
    )
    stack.apps.append(app)  # stopped with the stack
    return url


def log_in_to(page: Page, app: str, first: bool) -> None:
    page.goto(app + "/")
    page.get_by_role("link", name="Log in", exact=True).click()
    if first:
        page.wait_for_url(re.compile(r".*/login\?login_challenge="))
        sign_in(page, remember=True)
    allow(page)  # the second app: the login is skipped (one session), consent is its own
    page.wait_for_url(app + "/**")
    expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()


def test_logging_out_of_one_app_ends_the_other(page: Page, stack: Stack, second_app: str):
    log_in_to(page, stack.client, first=True)
    log_in_to(page, second_app, first=False)
    expect(page.locator("header")).to_contain_text("Second app")

    frames = []
    page.on(
        "response",
        lambda response: (
            frames.append(response) if "/frontchannel-logout" in response.url else None
        ),
    )
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/logout\?logout_challenge="))
    # The logout app lists both apps of this session, and how each is told.
    apps = page.locator(".logout-apps li")
    expect(apps).to_have_count(2)
    expect(apps.filter(has_text="Second app")).to_contain_text("notified by the server")
    expect(page.locator(".logout-apps")).to_contain_text("Demo client")
    page.get_by_role("button", name="Yes, log me out").click()
    # The server's front-channel page loads each app's logout URI in an iframe, then goes on.
    page.wait_for_url(second_app + "/logged-out**")
    assert frames, "no front-channel logout iframe was loaded"
    for response in frames:
        assert response.status == 200, response.url
        assert "iss=" in response.url and "sid=" in response.url
    assert {response.url.split("/frontchannel-logout")[0] for response in frames} == {
        stack.client,
        second_app,
    }

    # The other app's session ended without the user going there: back-channel first.
    page.goto(stack.client + "/")
    notice = page.locator("#ended-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("data-channel", "back-channel")
    expect(page.get_by_role("heading", name="You are logged in")).to_have_count(0)
    page.locator("#ended-step").click()
    step = page.locator('[data-step="backchannel-logout"]')
    expect(step).to_have_count(1)
    expect(step).to_contain_text("logout+jwt")
    expect(step).to_contain_text("http://schemas.openid.net/event/backchannel-logout")

    # The login session is gone: either app's next login asks for the password again.
    page.goto(stack.client + "/")
    page.get_by_role("link", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r".*/login\?login_challenge="))
    expect(page.get_by_label("Password")).to_be_visible()
