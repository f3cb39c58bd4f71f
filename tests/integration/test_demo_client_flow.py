"""The demo client against a real ``authserver``, over real HTTP, on both databases.

A ``requests.Session`` is the browser; the login and consent app is played on the admin API
(``oauth_flow.FlowDriver``). The demo client registers itself with ``--register``.
"""

from __future__ import annotations

import contextlib
import html
import re
import subprocess

import pytest
import requests

from tests.conftest import free_port
from tests.integration.demo_client_process import DemoClientProcess, start_demo_client
from tests.integration.oauth_flow import FlowDriver, query

SECRET = "integration-demo-secret-0123456789"
CLIENT_ID = "demo-client"
TIMEOUT = 10


@pytest.fixture
def demo_clients(tmp_path):
    started: list[DemoClientProcess] = []

    def start(**kwargs) -> DemoClientProcess:
        demo = start_demo_client(tmp_path, **kwargs)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            demo.stop()


def demo_env(server, port: int, **extra) -> dict[str, str]:
    return {
        "DEMO_CLIENT_ISSUER": server.public_url + "/",
        "DEMO_CLIENT_ADMIN_URL": server.admin_url,
        "DEMO_CLIENT_SECRET": SECRET,
        "DEMO_CLIENT_REDIRECT_URI": f"http://127.0.0.1:{port}/callback",
        **extra,
    }


def stack(server_factory, demo_clients, backend, **extra):
    server = server_factory(backend, args=("--dev",))
    port = free_port()
    demo = demo_clients(env=demo_env(server, port, **extra), port=port)
    return server, demo


def driver_for(server, demo, secret: str = SECRET) -> FlowDriver:
    client = {"client_id": CLIENT_ID, "client_secret": secret}
    return FlowDriver(server, client, redirect_uri=demo.url + "/callback")


def to_login_app(driver: FlowDriver, demo, issuer_base: str) -> str:
    """Log in on the demo client; return the login challenge the browser is sent with."""
    response = driver.browser.get(demo.url + "/login", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(issuer_base + "/oauth2/auth?"), location
    params = query(location)
    assert params["code_challenge_method"] == "S256"
    assert params["state"] and params["nonce"] and params["code_challenge"]
    response = driver.follow(location)
    assert response.status_code == 302, response.text
    return query(response.headers["Location"])["login_challenge"]


def log_in(driver: FlowDriver, demo, issuer_base: str | None = None) -> str:
    """The whole login through the demo client; returns the home page's HTML."""
    challenge = to_login_app(driver, demo, issuer_base or driver.server.public_url)
    redirect_to = driver.accept_login(challenge, remember=True)
    consent = driver.consent_challenge_after(redirect_to)
    redirect_to = driver.accept_consent(
        consent,
        grant_scope=["openid", "offline_access", "profile"],
        session={"id_token": {"name": "Foo Bar"}},
    )
    response = driver.follow(redirect_to)
    assert response.status_code == 302, response.text
    callback = response.headers["Location"]
    assert callback.startswith(demo.url + "/callback?code="), callback
    response = driver.browser.get(callback, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 303, response.text
    page = driver.browser.get(demo.url + "/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "You are logged in" in page.text, page.text
    return page.text


def token(page: str, name: str) -> str:
    match = re.search(rf'<code class="full" id="{name}">([^<]+)</code>', page)
    assert match, f"{name} not on the page"
    return match.group(1)


def press(driver: FlowDriver, demo, path: str, **form) -> requests.Response:
    home = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    return driver.browser.post(
        demo.url + path, data={"csrf_token": csrf, **form}, allow_redirects=False, timeout=TIMEOUT
    )


def steps_of(html: str) -> list[str]:
    return re.findall(r'data-step="([^"]+)"', html)


def introspection_status(page: str, label: str) -> str:
    match = re.search(rf'data-token="{label}">\s*<h3>[^<]*<span class="\w+">(active: \w+)', page)
    assert match, f"no introspection of {label}"
    return match.group(1)


def test_login_refresh_revoke_and_logout(server_factory, demo_clients, backend):
    server, demo = stack(server_factory, demo_clients, backend)
    assert "created client 'demo-client'" in demo.log()
    driver = driver_for(server, demo)
    page = log_in(driver, demo)

    access, refresh, id_token = (
        token(page, n) for n in ("access-token", "refresh-token", "id-token")
    )
    assert access.startswith("ory_at_") and refresh.startswith("ory_rt_")
    assert id_token.count(".") == 2
    assert re.search(r'data-claim="sub">.*?<code>foo@bar.com</code>', page, re.S)
    assert re.search(r'data-claim="name">.*?<code>Foo Bar</code>', page, re.S)
    assert re.search(r'id="userinfo".*?<code>name</code>.*?<code>Foo Bar</code>', page, re.S)
    assert introspection_status(page, "access token") == "active: true"
    assert "✗" not in page.split('id="id-token-title"')[1].split("</section>")[0]

    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    order = steps_of(inspector)
    wanted = [
        "authorization-request",
        "callback",
        "token-request",
        "id-token-checks",
        "userinfo",
        "introspection",
    ]
    positions = [order.index(key) for key in wanted]
    assert positions == sorted(positions), order
    request_step = inspector.split('data-step="authorization-request"')[1].split("</li>")[0]
    assert re.search(r"<code>code_challenge_method</code></th><td><code>S256</code>", request_step)
    for secret in (access, refresh, id_token, SECRET):
        assert secret not in inspector
    assert access[:8] + "…" in inspector
    assert driver.introspect(access)["active"] is True

    # Refresh: a new refresh token; the old one is dead, the new one alive.
    response = press(driver, demo, "/refresh")
    assert response.status_code == 303, response.text
    page = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    new_refresh = token(page, "refresh-token")
    assert new_refresh != refresh
    assert f'id="old-refresh-token">{refresh[:8]}…</code>' in page
    assert f'id="new-refresh-token">{new_refresh[:8]}…</code>' in page
    assert introspection_status(page, "old refresh token") == "active: false"
    assert introspection_status(page, "new refresh token") == "active: true"
    assert driver.introspect(refresh)["active"] is False
    assert driver.introspect(new_refresh)["active"] is True
    new_access = token(page, "access-token")

    # Revoke the refresh token: the grant goes, introspection says inactive.
    response = press(driver, demo, "/revoke", token="refresh_token")
    assert response.status_code == 303, response.text
    page = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    assert introspection_status(page, "refresh token") == "active: false"
    assert introspection_status(page, "access token") == "active: false"
    assert driver.introspect(new_refresh)["active"] is False
    assert driver.introspect(new_access)["active"] is False

    # The rotated-out refresh token is refused by the token endpoint.
    response = driver.refresh(refresh)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"

    # Log out through the authorization server and its logout app, back to /logged-out.
    response = press(driver, demo, "/logout")
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.startswith(server.public_url + "/oauth2/sessions/logout?")
    params = query(location)
    assert params["post_logout_redirect_uri"] == demo.url + "/logged-out"
    response = driver.follow(location)
    assert response.status_code == 302, response.text
    challenge = query(response.headers["Location"])["logout_challenge"]
    accepted = driver.admin(
        "PUT",
        "/admin/oauth2/auth/requests/logout/accept",
        params={"logout_challenge": challenge},
    )
    assert accepted.status_code == 200, accepted.text
    # The demo client registered a front-channel logout URI: the server's answer is the
    # page that loads it in an iframe (as a browser would, here) and then goes on.
    response = driver.follow(accepted.json()["redirect_to"])
    assert response.status_code == 200, response.text
    [frame] = re.findall(r'<iframe[^>]* src="([^"]+)"', response.text)
    frame = html.unescape(frame)
    assert frame.startswith(demo.url + "/frontchannel-logout?iss=")
    assert driver.browser.get(frame, timeout=TIMEOUT).status_code == 200
    back = html.unescape(re.search(r'<a id="continue" href="([^"]+)"', response.text).group(1))
    assert back == demo.url + "/logged-out?state=" + params["state"]
    page = driver.browser.get(back, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Logged out" in page.text
    assert 'data-step="logged-out"' in page.text
    home = driver.browser.get(demo.url + "/", timeout=TIMEOUT).text
    assert "You are logged in" not in home
    assert demo.stop() == 0


def test_denied_consent_shows_the_access_denied_explanation(server_factory, demo_clients, backend):
    server, demo = stack(server_factory, demo_clients, backend)
    driver = driver_for(server, demo)
    challenge = to_login_app(driver, demo, server.public_url)
    consent = driver.consent_challenge_after(driver.accept_login(challenge))
    redirect_to = driver.reject_consent(
        consent, error="access_denied", error_description="The user said no."
    )
    response = driver.follow(redirect_to)
    assert response.status_code == 302, response.text
    callback = response.headers["Location"]
    assert callback.startswith(demo.url + "/callback?error=access_denied")
    page = driver.browser.get(callback, timeout=TIMEOUT)
    assert page.status_code == 400
    assert '<code class="error-code">access_denied</code>' in page.text
    assert "You — or the login/consent app — said no" in page.text
    assert "What to do next" in page.text
    assert "matched this browser&#39;s request" in page.text


def test_register_twice_updates_the_client(server_factory, demo_clients, backend, tmp_path):
    server = server_factory(backend, args=("--dev",))
    port = free_port()
    env = demo_env(server, port)
    del env["DEMO_CLIENT_SECRET"]  # the first run generates a secret and keeps it in memory
    first = demo_clients(env=env, port=port)
    assert "created client 'demo-client' with a new secret kept in memory" in first.log()
    log_in(driver_for(server, first, secret=""), first)  # the generated secret works
    assert first.stop() == 0

    second = demo_clients(env={**env, "DEMO_CLIENT_SECRET": SECRET}, port=port)
    assert "updated client 'demo-client'" in second.log()
    stored = requests.get(f"{server.admin_url}/admin/clients/{CLIENT_ID}", timeout=TIMEOUT).json()
    assert stored["client_name"] == "Demo client"
    assert stored["redirect_uris"] == [f"http://127.0.0.1:{port}/callback"]
    assert stored["post_logout_redirect_uris"] == [f"http://127.0.0.1:{port}/logged-out"]
    assert stored["grant_types"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",  # its "Log in with a device" page
        "urn:ietf:params:oauth:grant-type:token-exchange",  # "Exchange the access token"
    ]
    assert stored["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" not in stored
    # The secret is the new one: it authenticates (and a bogus code is then invalid_grant).
    bogus = {
        "grant_type": "authorization_code",
        "code": "ory_ac_x.y",
        "redirect_uri": env["DEMO_CLIENT_REDIRECT_URI"],
    }
    answer = requests.post(
        server.public_url + "/oauth2/token", data=bogus, auth=(CLIENT_ID, SECRET), timeout=TIMEOUT
    )
    assert answer.json()["error"] == "invalid_grant", answer.text
    wrong = requests.post(
        server.public_url + "/oauth2/token",
        data=bogus,
        auth=(CLIENT_ID, "not-the-secret"),
        timeout=TIMEOUT,
    )
    assert wrong.json()["error"] == "invalid_client"
    log_in(driver_for(server, second), second)


def test_back_channel_url_differs_from_the_issuer(server_factory, demo_clients, backend):
    public_port = free_port()
    browser_base = f"http://localhost:{public_port}"
    server = server_factory(
        backend,
        env={"SERVE_PUBLIC_PORT": str(public_port), "URLS_SELF_ISSUER": browser_base + "/"},
        args=("--dev",),
    )
    server.public_url = f"http://127.0.0.1:{public_port}"  # where the server really listens
    port = free_port()
    demo = demo_clients(
        env=demo_env(
            server,
            port,
            DEMO_CLIENT_ISSUER=browser_base + "/",
            DEMO_CLIENT_BACKCHANNEL_URL=server.public_url + "/",
        ),
        port=port,
    )
    driver = driver_for(server, demo)
    page = log_in(driver, demo, issuer_base=browser_base)  # the browser went to localhost
    id_token = token(page, "id-token")
    assert re.search(rf'data-claim="iss">.*?<code>{re.escape(browser_base)}/</code>', page, re.S)
    assert id_token.count(".") == 2
    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    token_step = inspector.split('data-step="token-request"')[1].split("</li>")[0]
    assert f"POST {server.public_url}/oauth2/token" in token_step  # the back channel
    assert "HTTP 200" in token_step
    discovery = inspector.split('data-step="discovery"')[1].split("</li>")[0]
    assert f"{browser_base}/oauth2/auth" in discovery  # published for the browser
