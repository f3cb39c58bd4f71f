"""The demo client's single-page app (``/spa``) in a real browser, against the real stack
with CORS on for the demo client's origin, as ``authserver demo`` and compose run it: a
public client that logs in with PKCE and calls the token and userinfo endpoints across
origins, keeping its tokens in memory only; and the same calls from an origin that no
setting and no client lists, which the browser blocks."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from playwright.sync_api import ConsoleMessage, Page, expect

from e2e.conftest import DEMO_USER, Stack, _start
from e2e.test_browser_flows import allow, introspect, sign_in
from e2e.test_demo_command import start_demo, stop, wait_for_ready
from tests.conftest import authserver_command, free_port

SPA_CLIENT_ID = "demo-spa"
STEPS_OF_A_LOGIN = [
    "discovery",
    "authorization-request",
    "authorization-response",
    "token",
    "id-token",
    "userinfo",
]
# Runs in a page: one fetch, and what the page's script got from it.
TRY_FETCH = """async ([url, init]) => {
  try {
    const response = await fetch(url, init);
    return { status: response.status, type: response.type, body: await response.text() };
  } catch (error) {
    return { error: error.name, message: error.message };
  }
}"""


@pytest.fixture
def spa_stack(stack: Stack, tmp_path) -> Stack:
    """The stack, its authserver restarted (same database, same ports) with CORS on for
    the demo client's origin, which is then known."""
    server = stack.apps[0]
    assert server.name == "authserver"
    server.stop()
    env = {
        **stack.env,
        "SERVE_PUBLIC_CORS_ENABLED": "true",
        "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": stack.client,
    }
    log_dir = tmp_path / "cors"
    log_dir.mkdir()
    command = [*authserver_command(), "serve", "all", "--dev"]
    stack.apps[0] = _start("authserver", command, env, stack.admin, "/health/ready", log_dir)
    stack.env = env
    return stack


class _Elsewhere(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Elsewhere</title><p>A page on another origin."
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """A page on another origin (another 127.0.0.1 port): no setting, no client lists it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Elsewhere)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def spa_state(page: Page):
    return expect(page.locator("#spa"))


def log_in_with_the_spa(page: Page, stack: Stack) -> None:
    open_the_spa_and_log_in(page, stack.client)


def open_the_spa_and_log_in(page: Page, client: str) -> None:
    page.goto(client + "/")
    page.get_by_role("link", name="Try the single-page app").click()
    page.wait_for_url(client + "/spa")
    spa_state(page).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-spa-step=discovery]")).to_contain_text("✓ Readable")
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r".*/login\?login_challenge="))
    sign_in(page)
    allow(page)
    page.wait_for_url(client + "/spa")  # the script took ?code=&state= off the URL
    spa_state(page).to_have_attribute("data-state", "logged-in")


def on_page(page: Page, name: str) -> str:
    return page.locator(f"#spa-{name}").inner_text().strip()


def step_names(page: Page) -> list[str]:
    return page.locator("[data-spa-step]").evaluate_all(
        "items => items.map(item => item.dataset.spaStep)"
    )


def test_the_spa_logs_in_refreshes_and_logs_out_across_origins(page: Page, spa_stack: Stack):
    stack = spa_stack
    log_in_with_the_spa(page, stack)

    assert step_names(page) == STEPS_OF_A_LOGIN
    access_token = on_page(page, "access-token")
    refresh_token = on_page(page, "refresh-token")
    assert access_token.startswith("ory_at_") and refresh_token.startswith("ory_rt_")
    on_server = introspect(stack, access_token)
    assert on_server["active"] is True and on_server["client_id"] == SPA_CLIENT_ID
    assert set(on_server["scope"].split()) == {"openid", "offline_access"}

    # The ID token: the signature (against the JWKS, fetched cross-origin) and the claims.
    checks = page.locator("#spa-id-checks tbody tr")
    expect(checks.first).to_be_visible()
    assert checks.count() >= 6
    expect(page.locator("#spa-id-checks tr.fail")).to_have_count(0)
    expect(page.locator("#spa-id-checks tr[class=pass] th").first).to_have_text("signature")
    expect(page.locator("#spa-id-claims tr[data-claim=aud]")).to_contain_text(SPA_CLIENT_ID)

    # Userinfo, called from the browser with the bearer token, read as a CORS answer.
    expect(page.locator("#spa-userinfo tr[data-claim=sub]")).to_contain_text(DEMO_USER[0])
    userinfo_step = page.locator("[data-spa-step=userinfo]")
    expect(userinfo_step).to_contain_text('response.type "cors"')
    expect(userinfo_step).to_contain_text("HTTP 200")
    expect(page.locator("[data-spa-step=authorization-response]")).to_contain_text(
        "✓ state matches"
    )
    # Tokens are shown cut in the log, whole only in the tokens panel.
    assert access_token not in page.locator("#spa-log").inner_text()

    # Nothing kept anywhere but in the script's memory.
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie])"
    )
    assert "ory_" not in stored, stored
    assert not any("ory_" in cookie["value"] for cookie in page.context.cookies())

    page.get_by_role("button", name="Call userinfo again").click()
    spa_state(page).to_have_attribute("data-state", "logged-in")
    assert step_names(page)[-1] == "userinfo"

    page.get_by_role("button", name="Refresh tokens").click()
    expect(page.locator("[data-spa-step=refresh]")).to_contain_text("✓ New tokens")
    spa_state(page).to_have_attribute("data-state", "logged-in")
    rotated = on_page(page, "refresh-token")
    assert rotated.startswith("ory_rt_") and rotated != refresh_token
    assert introspect(stack, refresh_token)["active"] is False

    page.get_by_role("button", name="Log out (revoke and forget the tokens)").click()
    spa_state(page).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-spa-step=revoke]")).to_contain_text("✓ Revoked")
    expect(page.locator("#spa-tokens")).to_be_hidden()
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_enabled()
    assert introspect(stack, rotated)["active"] is False
    assert page.locator("#spa-access-token").inner_text() == ""

    # No token in any app's log (the demo client's server never even saw one).
    for app in stack.apps:
        log = app.log()
        for secret in (access_token, refresh_token, rotated):
            assert secret not in log, app.name


def test_an_origin_nobody_listed_is_blocked_by_the_browser(
    page: Page, spa_stack: Stack, elsewhere: str
):
    stack = spa_stack
    log_in_with_the_spa(page, stack)
    access_token = on_page(page, "access-token")

    # Memory only: a reload forgets the tokens (they stay valid at the server).
    page.reload()
    spa_state(page).to_have_attribute("data-state", "ready")
    expect(page.locator("#spa-tokens")).to_be_hidden()

    other = page.context.new_page()
    blocked_messages: list[str] = []

    def console(message: ConsoleMessage):
        blocked_messages.append(message.text)

    other.on("console", console)
    other.goto(elsewhere + "/")

    userinfo = stack.public + "/userinfo"
    bearer = {"headers": {"Authorization": f"Bearer {access_token}"}}
    token = stack.public + "/oauth2/token"
    form = {
        "method": "POST",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "body": f"grant_type=authorization_code&code=made-up&client_id={SPA_CLIENT_ID}"
        f"&redirect_uri={stack.client}/spa&code_verifier={'v' * 43}",
    }
    discovery = stack.public + "/.well-known/openid-configuration"

    # From the SPA's origin (listed by the settings and by the client): readable answers.
    listed = page.evaluate(TRY_FETCH, [userinfo, bearer])
    assert (listed.get("status"), listed.get("type")) == (200, "cors"), listed
    assert DEMO_USER[0] in listed["body"]
    refused = page.evaluate(TRY_FETCH, [token, form])
    assert refused.get("status") == 400, refused  # the error itself is readable
    assert '"invalid_grant"' in refused["body"]
    assert page.evaluate(TRY_FETCH, [discovery, {}]).get("status") == 200

    # From the other origin, the same requests: the browser hands the script no answer.
    for url, init in ((userinfo, bearer), (token, form), (discovery, {})):
        answer = other.evaluate(TRY_FETCH, [url, init])
        assert answer.get("error") == "TypeError", (url, answer)
    assert any("CORS policy" in text for text in blocked_messages), blocked_messages

    # The server did answer; only without Access-Control-Allow-Origin for that origin.
    direct = requests.get(
        userinfo,
        headers={"Authorization": f"Bearer {access_token}", "Origin": elsewhere},
        timeout=10,
    )
    assert direct.status_code == 200
    assert "Access-Control-Allow-Origin" not in direct.headers

    # The SPA itself, served from an unlisted origin (localhost is not 127.0.0.1), cannot
    # even read discovery, and says why it might be.
    other.goto(stack.client.replace("127.0.0.1", "localhost") + "/spa")
    expect(other.locator("#spa")).to_have_attribute("data-state", "failed")
    discovery_step = other.locator("[data-spa-step=discovery]")
    expect(discovery_step).to_contain_text("TypeError")
    expect(discovery_step).to_contain_text("CORS")
    other.close()


def test_authserver_demo_runs_the_spa_with_cors_on(page: Page, tmp_path):
    """`authserver demo` turns CORS on for the demo client's origin and the demo client
    registers the SPA's client: the whole SPA flow works against it as started."""
    ports = {name: free_port() for name in ("public", "admin", "consent", "client")}
    process = start_demo(tmp_path / "demo", ports)
    client = f"http://127.0.0.1:{ports['client']}"
    try:
        lines = wait_for_ready(process)
        assert f"{client}/spa" in "".join(lines)
        open_the_spa_and_log_in(page, client)
        expect(page.locator("#spa-userinfo tr[data-claim=sub]")).to_contain_text(DEMO_USER[0])
        expect(page.locator("#spa-id-checks tr.fail")).to_have_count(0)
        assert on_page(page, "access-token").startswith("ory_at_")
    finally:
        status, output = stop(process) if process.poll() is None else (process.returncode, "")
    assert status == 0, output
    log = (tmp_path / "demo" / "logs" / "demo-client.log").read_text()
    assert "created public client 'demo-spa'" in log
