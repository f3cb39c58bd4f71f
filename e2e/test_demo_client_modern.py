"""demo_client with PAR (RFC 9126) and DPoP (RFC 9449) on, in a real browser against the
real stack: the login completes, the inspector shows the pushed request and the decoded
proofs, and the protected API accepts the DPoP-bound token with a proof."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Stack, _command, _start
from e2e.test_browser_flows import allow, logged_in, sign_in, start_login


@pytest.fixture
def modern_stack(stack: Stack, tmp_path) -> Stack:
    """The stack, its demo client restarted (same port, same client id) with
    DEMO_CLIENT_USE_PAR and DEMO_CLIENT_USE_DPOP on."""
    client = stack.apps[2]
    assert client.name == "demo-client"
    client.stop()
    log_dir = tmp_path / "modern"
    log_dir.mkdir()
    env = {
        "PORT": str(urlsplit(stack.client).port),
        "HOST": "127.0.0.1",
        "DEMO_CLIENT_ISSUER": stack.public + "/",
        "DEMO_CLIENT_ADMIN_URL": stack.admin,
        "DEMO_CLIENT_ID": "e2e-demo-client",
        "DEMO_CLIENT_SECRET": "e2e-demo-client-secret",
        "DEMO_CLIENT_REDIRECT_URI": stack.client + "/callback",
        "DEMO_CLIENT_SECRET_KEY": "e2e-demo-client-key",
        "DEMO_CLIENT_USE_PAR": "true",
        "DEMO_CLIENT_USE_DPOP": "true",
    }
    command = [*_command("demo-client"), "--register"]
    stack.apps[2] = _start("demo-client", command, env, stack.client, "/healthz", log_dir)
    return stack


def test_a_par_and_dpop_login_and_the_api(page: Page, modern_stack: Stack):
    stack = modern_stack
    start_login(page, stack)
    sign_in(page)
    allow(page)
    logged_in(page, stack)
    expect(page.locator("main")).to_contain_text("token_type DPoP")

    page.get_by_role("button", name="Call the protected API").click()
    logged_in(page, stack)
    expect(page.locator("#api-status")).to_have_text("HTTP 200")
    expect(page.locator("#api-body")).to_contain_text('"token_type": "DPoP"')

    page.goto(stack.client + "/inspector")
    par = page.locator("[data-step='par']")
    expect(par).to_contain_text("HTTP 201")
    expect(par).to_contain_text("the browser only carried a reference (RFC 9126 §2)")
    expect(par.locator("[data-proof='claims.htu']")).to_contain_text(stack.public + "/oauth2/par")
    token = page.locator("[data-step='token-request']")
    expect(token).to_contain_text("DPoP ★")
    expect(token.locator("[data-proof='header.jwk']")).to_contain_text('"kty": "EC"')
    expect(token).to_contain_text("equals it")  # cnf.jkt = the key's thumbprint
    userinfo = page.locator("[data-step='userinfo']")
    expect(userinfo.locator("[data-proof='claims.ath']")).to_be_visible()
    api = page.locator("[data-step='api-call']")
    expect(api).to_contain_text("HTTP 200")
    expect(api.locator("[data-proof='claims.ath']")).to_be_visible()
