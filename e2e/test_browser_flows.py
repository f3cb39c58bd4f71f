"""What a person does in a real browser against the real stack, and what the servers then
report. Each test gets a fresh stack (authserver, consent-ui, demo-client processes)."""

from __future__ import annotations

import re
import subprocess
import time

import requests
from playwright.sync_api import Page, expect

from e2e.conftest import DEMO_USER, Stack, free_port
from tests.conftest import authserver_command


def start_login(page: Page, stack: Stack) -> None:
    page.goto(stack.client + "/")
    page.get_by_role("link", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r".*/login\?login_challenge="))


def sign_in(page: Page, password: str = DEMO_USER[1], remember: bool = False) -> None:
    page.get_by_label("Email").fill(DEMO_USER[0])
    page.get_by_label("Password").fill(password)
    if remember:
        page.get_by_label("Remember me").check()
    page.get_by_role("button", name="Log in").click()


def allow(page: Page, untick: tuple[str, ...] = (), remember: bool = False) -> None:
    page.wait_for_url(re.compile(r".*/consent\?consent_challenge="))
    for scope in untick:
        page.locator(f"input[type=checkbox][value='{scope}']").uncheck()
    if remember:
        page.get_by_label("Remember this decision").check()
    page.get_by_role("button", name="Allow").click()


def logged_in(page: Page, stack: Stack) -> None:
    page.wait_for_url(stack.client + "/**")
    expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()


def introspect(stack: Stack, token: str) -> dict:
    return requests.post(
        stack.admin + "/admin/oauth2/introspect", data={"token": token}, timeout=10
    ).json()


def token_on_page(page: Page, name: str) -> str:
    return page.locator(f"code#{name}").inner_text().strip()


def test_full_flow_with_a_wrong_password_and_an_unticked_scope(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page, password="not-the-password")
    expect(page.get_by_text("The email or password is incorrect.")).to_be_visible()
    sign_in(page)
    allow(page, untick=("email",))
    logged_in(page, stack)

    access_token = token_on_page(page, "access-token")
    assert access_token.startswith("ory_at_")
    assert token_on_page(page, "refresh-token").startswith("ory_rt_")
    claims = page.locator("#id-token-claims")
    expect(claims.locator("tr[data-claim='sub']")).to_contain_text(DEMO_USER[0])
    expect(claims.locator("tr[data-claim='name']")).to_be_visible()
    expect(claims.locator("tr[data-claim='email']")).to_have_count(0)
    expect(page.locator("#userinfo")).to_contain_text("name")

    # What the server says about the token: the unticked scope was not granted.
    result = introspect(stack, access_token)
    assert result["active"] is True
    assert "email" not in result["scope"].split()
    assert {"openid", "profile"} <= set(result["scope"].split())

    # The flow inspector lists every step, recorded and described.
    page.get_by_role("link", name="Flow inspector").click()
    body = page.locator("main")
    for step in (
        "Discovery",
        "Authorization request",
        "Your browser opens the login app",
        "Your browser opens the consent app",
        "Callback",
        "Token request",
        "ID token validation",
    ):
        expect(body).to_contain_text(step)
    expect(body).to_contain_text("S256")
    assert access_token not in page.content()  # tokens appear shortened only


def test_refresh_revoke_and_logout(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page, remember=True)
    allow(page)
    logged_in(page, stack)
    first_refresh = token_on_page(page, "refresh-token")

    page.get_by_role("button", name="Refresh tokens").click()
    logged_in(page, stack)
    expect(page.get_by_text("✓ The refresh token rotated")).to_be_visible()
    second_refresh = token_on_page(page, "refresh-token")
    assert second_refresh != first_refresh
    # The old refresh token is dead at the server.
    assert introspect(stack, first_refresh) == {"active": False}
    assert introspect(stack, second_refresh)["active"] is True

    page.get_by_label("Token to revoke").select_option("refresh_token")
    page.get_by_role("button", name="Revoke").click()
    logged_in(page, stack)
    assert introspect(stack, second_refresh) == {"active": False}

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/logout\?logout_challenge="))
    page.get_by_role("button", name="Yes, log me out").click()
    page.wait_for_url(stack.client + "/logged-out**")

    # The login session is gone: the next login asks for the password again.
    start_login(page, stack)
    expect(page.get_by_label("Password")).to_be_visible()


def test_remembered_login_and_consent_skip_both_screens(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page, remember=True)
    allow(page, remember=True)
    logged_in(page, stack)

    page.goto(stack.client + "/login")  # a new authorization request, same browser
    logged_in(page, stack)  # straight back: neither the login nor the consent page showed
    assert "/login" not in page.url and "/consent" not in page.url


def test_deny_on_login_is_explained_by_the_client(page: Page, stack: Stack):
    start_login(page, stack)
    page.get_by_role("button", name="Deny access").click()
    page.wait_for_url(stack.client + "/**")
    expect(page.get_by_text("access_denied").first).to_be_visible()
    expect(page.get_by_text("Access was denied")).to_be_visible()
    assert "Traceback" not in page.content()


def test_deny_on_consent_is_explained_by_the_client(page: Page, stack: Stack):
    start_login(page, stack)
    sign_in(page)
    page.wait_for_url(re.compile(r".*/consent\?consent_challenge="))
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(stack.client + "/**")
    expect(page.get_by_text("Access was denied")).to_be_visible()


def test_replayed_challenge_shows_an_error_page(page: Page, stack: Stack):
    start_login(page, stack)
    login_url = page.url
    sign_in(page)
    allow(page)
    logged_in(page, stack)
    page.goto(login_url)  # the same login challenge again
    expect(page.get_by_role("heading").first).to_be_visible()
    content = page.content()
    assert "Traceback" not in content
    assert page.get_by_role("link", name=re.compile("Start again", re.I)).count() >= 1


def test_expired_challenge_shows_an_error_page(page: Page, stack: Stack):
    # A challenge that does not exist (or expired and was cleaned up) is an error page.
    page.goto(stack.consent + "/login?login_challenge=expired-or-unknown")
    content = page.content()
    assert "Traceback" not in content
    expect(page.locator("main")).to_contain_text(re.compile("not valid|expired|unknown", re.I))


def test_cli_perform_authorization_code_in_the_browser(page: Page, stack: Stack):
    port = free_port()
    client = requests.post(
        stack.admin + "/admin/clients",
        json={
            "client_name": "Authorize Code with OpenID Connect Demo",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        },
        timeout=10,
    ).json()
    process = subprocess.Popen(
        [
            *authserver_command(),
            "perform",
            "authorization-code",
            "--no-open",
            "--port",
            str(port),
            "--endpoint",
            stack.public,
            "--client-id",
            client["client_id"],
            "--client-secret",
            client["client_secret"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        page.get_by_role("link", name="Authorize application").click()
        sign_in(page)
        allow(page)
        page.wait_for_url(f"http://127.0.0.1:{port}/callback**")
        output, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "ACCESS TOKEN\tory_at_" in output
    assert re.search(r"ID TOKEN\teyJ", output)
