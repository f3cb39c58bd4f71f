"""consent_ui and authserver together: real processes, real HTTP, both database backends.

A ``requests.Session`` plays the browser (cookies kept, redirects followed one by one, forms
read with the stdlib HTML parser). authserver sends it to consent_ui for login, consent and
logout; consent_ui answers on authserver's admin API; the client gets its code and tokens.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import subprocess
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests

from tests.conftest import free_port
from tests.consent_ui.html_forms import Form, forms
from tests.integration.consent_ui_process import (
    ConsentUiProcess,
    consent_ui_command,
    start_consent_ui,
)

TIMEOUT = 10
WRONG = "The email or password is incorrect."


@dataclass
class Stack:
    server: object  # tests.conftest.ServerProcess
    ui: ConsentUiProcess
    client: dict
    redirect_uri: str
    logged_out_uri: str


@pytest.fixture
def stack(backend, server_factory, tmp_path):
    ui_port = free_port()  # first, so authserver can be told where the screens are
    ui_url = f"http://127.0.0.1:{ui_port}"
    server = server_factory(
        backend,
        env={
            "URLS_LOGIN": ui_url + "/login",
            "URLS_CONSENT": ui_url + "/consent",
            "URLS_LOGOUT": ui_url + "/logout",
        },
        args=("--dev",),
    )
    ui = start_consent_ui(ui_port, server.admin_url, tmp_path)
    unused = free_port()  # nothing listens there: the browser never follows it
    redirect_uri = f"http://127.0.0.1:{unused}/callback"
    logged_out_uri = f"http://127.0.0.1:{unused}/logged-out"
    response = requests.post(
        server.admin_url + "/admin/clients",
        json={
            "client_name": "Integration App",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [redirect_uri],
            "post_logout_redirect_uris": [logged_out_uri],
            "scope": "openid offline_access profile email",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    yield Stack(server, ui, response.json(), redirect_uri, logged_out_uri)
    assert ui.stop() == 0, ui.log()
    assert "foobar" not in ui.log()  # the password never reaches the logs


class Browser:
    """Cookies, and redirects followed by hand while they stay inside the stack."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.http = requests.Session()
        self.visited: list[str] = []

    def get(self, url: str, **params) -> requests.Response:
        response = self.http.get(url, params=params, allow_redirects=False, timeout=TIMEOUT)
        return self.follow(response)

    def submit(self, response: requests.Response, button: str, **kwargs) -> requests.Response:
        form = page_form(response)
        url = urljoin(response.url, form.action)
        reply = self.http.post(
            url, data=form.submit_data(button, **kwargs), allow_redirects=False, timeout=TIMEOUT
        )
        return self.follow(reply)

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects to authserver or consent_ui; stop at anything else (the client)."""
        inside = (self.stack.server.public_url, self.stack.ui.url)
        while response.status_code in (301, 302, 303):
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(inside):
                return response
            self.visited.append(location)
            response = self.http.get(location, allow_redirects=False, timeout=TIMEOUT)
        return response


@dataclass
class Authorization:
    verifier: str
    state: str
    nonce: str


def start_flow(browser: Browser) -> tuple[requests.Response, Authorization]:
    """GET /oauth2/auth with PKCE S256, like a client sending the user to log in."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    flow = Authorization(verifier, secrets.token_urlsafe(12), secrets.token_urlsafe(12))
    response = browser.get(
        browser.stack.server.public_url + "/oauth2/auth",
        client_id=browser.stack.client["client_id"],
        response_type="code",
        redirect_uri=browser.stack.redirect_uri,
        scope="openid offline_access profile email",
        state=flow.state,
        nonce=flow.nonce,
        code_challenge=challenge.rstrip(b"=").decode(),
        code_challenge_method="S256",
    )
    return response, flow


def page_form(response: requests.Response) -> Form:
    assert response.status_code in (200, 429), (response.status_code, response.text[:2000])
    found = forms(response.text)
    assert found, response.text
    return found[0]


def path_of(response: requests.Response) -> str:
    return urlsplit(response.url).path


def callback_query(stack: Stack, response: requests.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:2000]
    location = response.headers["Location"]
    assert location.startswith(stack.redirect_uri), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def exchange(stack: Stack, code: str, flow: Authorization) -> dict:
    response = requests.post(
        stack.server.public_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": stack.redirect_uri,
            "code_verifier": flow.verifier,
        },
        auth=(stack.client["client_id"], stack.client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def verified_id_token(stack: Stack, token: str) -> dict:
    keys = requests.get(stack.server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT)
    key_set = jwt.PyJWKSet.from_dict(keys.json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in key_set.keys if key.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=stack.client["client_id"])


def introspect(stack: Stack, token: str) -> dict:
    response = requests.post(
        stack.server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_login_consent_and_logout_through_consent_ui(stack):
    browser = Browser(stack)

    # 1. The client sends the browser to authserver, which sends it to consent_ui's login.
    login_page, flow = start_flow(browser)
    assert path_of(login_page) == "/login"
    assert "Integration App" in login_page.text
    assert "Demo account" in login_page.text

    # 2. A wrong password: one generic message, the form again.
    wrong = browser.submit(login_page, "login", email="foo@bar.com", password="not-it")
    assert wrong.status_code == 200
    assert WRONG in wrong.text and "not-it" not in wrong.text

    # 3. The right password, remembered: through authserver to the consent page.
    consent_page = browser.submit(
        wrong, "login", tick=["remember"], email="foo@bar.com", password="foobar"
    )
    assert path_of(consent_page) == "/consent", browser.visited
    assert "Signed in as <strong>Foo Bar</strong>" in consent_page.text
    assert page_form(consent_page).checkboxes("grant_scope") == {
        "openid": True,
        "offline_access": True,
        "profile": True,
        "email": True,
    }

    # The login form cannot be used twice: the challenge is gone, "Start again" offered.
    replay = browser.submit(wrong, "login", email="foo@bar.com", password="foobar")
    assert replay.status_code == 410
    assert "Start again" in replay.text and "/oauth2/auth?" in replay.text

    # 4. Allow without email: the client gets a code for everything but email.
    callback = callback_query(stack, browser.submit(consent_page, "allow", untick=["email"]))
    assert callback["state"] == flow.state
    tokens = exchange(stack, callback["code"], flow)
    assert set(tokens["scope"].split()) == {"openid", "offline_access", "profile"}
    claims = verified_id_token(stack, tokens["id_token"])
    assert claims["sub"] == "foo@bar.com"
    assert claims["nonce"] == flow.nonce
    assert claims["name"] == "Foo Bar"
    assert "email" not in claims and "email_verified" not in claims
    assert claims["amr"] == ["pwd"]
    assert "refresh_token" in tokens
    token_info = introspect(stack, tokens["access_token"])
    assert token_info["active"] is True
    assert "email" not in token_info["scope"].split()
    assert "profile" in token_info["scope"].split()

    # 5. A second flow in the same browser: login is remembered, consent is asked again
    # (email was not granted). Deny: the client hears access_denied, with its state.
    browser.visited.clear()
    consent_again, second = start_flow(browser)
    assert path_of(consent_again) == "/consent"
    assert "Log in" not in consent_again.text
    denied = callback_query(stack, browser.submit(consent_again, "deny"))
    assert denied["error"] == "access_denied"
    assert denied["state"] == second.state
    assert "code" not in denied

    # 6. RP-initiated logout. "No" first: still logged in.
    logout_params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": stack.logged_out_uri,
        "state": "bye-state",
    }
    logout_page = browser.get(stack.server.public_url + "/oauth2/sessions/logout", **logout_params)
    assert path_of(logout_page) == "/logout"
    assert "Log out?" in logout_page.text
    stay = browser.submit(logout_page, "no")
    assert stay.status_code == 200
    assert "You are still logged in." in stay.text

    # ... then "Yes": the browser ends at the client's post-logout URI with its state.
    logout_page = browser.get(stack.server.public_url + "/oauth2/sessions/logout", **logout_params)
    done = browser.submit(logout_page, "yes")
    assert done.status_code in (302, 303)
    assert done.headers["Location"] == stack.logged_out_uri + "?state=bye-state"

    # 7. Logged out: the next flow asks for the password again.
    after, _ = start_flow(browser)
    assert path_of(after) == "/login"
    assert page_form(after).buttons()["login"] == "Log in"


def test_remembered_login_skips_the_form(stack):
    browser = Browser(stack)
    login_page, _ = start_flow(browser)
    consent_page = browser.submit(
        login_page, "login", tick=["remember"], email="foo@bar.com", password="foobar"
    )
    callback_query(stack, browser.submit(consent_page, "allow", tick=["remember"]))

    browser.visited.clear()
    response, flow = start_flow(browser)

    # Login remembered and consent remembered: straight back to the client with a code.
    callback = callback_query(stack, response)
    assert callback["state"] == flow.state and callback["code"]
    login_visits = [url for url in browser.visited if urlsplit(url).path == "/login"]
    assert len(login_visits) == 1  # visited once, answered with a redirect, no form
    tokens = exchange(stack, callback["code"], flow)
    assert set(tokens["scope"].split()) == {"openid", "offline_access", "profile", "email"}
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "foo@bar.com"


def test_deny_on_the_login_page(stack):
    browser = Browser(stack)
    login_page, flow = start_flow(browser)

    denied = callback_query(stack, browser.submit(login_page, "deny", email="", password=""))

    assert denied["error"] == "access_denied"
    assert denied["state"] == flow.state


def test_a_form_from_another_host_name_is_refused_with_an_explanation(stack):
    browser = Browser(stack)
    login_page, _ = start_flow(browser)
    form = page_form(login_page)
    stranger = requests.Session()  # no consent_ui session cookie: like localhost vs 127.0.0.1

    response = stranger.post(
        stack.ui.url + form.action,
        data=form.submit_data("login", email="foo@bar.com", password="foobar"),
        allow_redirects=False,
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert "localhost" in response.text and "127.0.0.1" in response.text
    assert response.headers["X-Request-Id"] in response.text


# -- the command line (no authserver needed) ---------------------------------------------


def run_consent_ui(env: dict, *args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    full_env = {key: value for key, value in os.environ.items() if key != "HYDRA_ADMIN_URL"}
    return subprocess.run(
        [*consent_ui_command(), *args],
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_without_hydra_admin_url_is_one_line():
    result = run_consent_ui({})

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "HYDRA_ADMIN_URL" in result.stderr


def test_cli_on_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_consent_ui(
            {"HYDRA_ADMIN_URL": "http://127.0.0.1:9", "CONSENT_UI_SECRET_KEY": "k" * 32},
            "--port",
            str(port),
        )

    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_serves_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    ui = start_consent_ui(port, "http://127.0.0.1:9", tmp_path, args=("--host", "127.0.0.1"))

    response = requests.get(ui.url + "/login?login_challenge=abc", timeout=TIMEOUT)
    assert response.status_code == 503  # nothing listens on the admin port
    request_id = response.headers["X-Request-Id"]

    assert ui.stop() == 0
    log = ui.log()
    assert f"[{request_id}]" in log  # the request id is on the log lines
    assert "login_challenge" not in log  # query strings (challenges) are never logged
