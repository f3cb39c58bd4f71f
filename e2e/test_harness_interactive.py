"""The harness's interactive login page (``interactive: true``) in a real browser: the
users as one-click buttons, a free-form subject with claims JSON, and bad claims shown
on the page. A queued decision still comes first."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import requests
from playwright.sync_api import expect

from authserver.harness.config import parse_config
from authserver.harness.server import HarnessServer


class _Callback(BaseHTTPRequestHandler):
    """The client's redirect URI: a page that says it was reached."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"callback reached"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def callback() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def harness(callback):
    config = parse_config(
        {
            "interactive": True,
            "default_user": "bob",
            "users": {"alice": {"email": "alice@example.com"}, "bob": {"email": "b@example.com"}},
            "clients": [
                {
                    "client_id": "web",
                    "client_secret": "web-secret",
                    "redirect_uris": [callback],
                    "scope": "openid email",
                }
            ],
        }
    )
    with HarnessServer(config) as server:
        server.callback = callback
        yield server


def _start(page, harness) -> str:
    """Open the authorization URL; returns the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "web",
            "redirect_uri": harness.callback,
            "scope": "openid email",
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"{harness.public_url}/oauth2/auth?{query}")
    return verifier


def _identity(harness, page, verifier: str) -> dict:
    expect(page.locator("body")).to_contain_text("callback reached")
    code = parse_qs(urlparse(page.url).query)["code"][0]
    tokens = requests.post(
        harness.public_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": harness.callback,
            "code_verifier": verifier,
        },
        auth=("web", "web-secret"),
        timeout=10,
    ).json()
    return jwt.decode(tokens["id_token"], options={"verify_signature": False})


def test_a_listed_user_is_one_click(page, harness):
    verifier = _start(page, harness)
    expect(page.get_by_text("for tests only")).to_be_visible()
    expect(page.get_by_text("openid email")).to_be_visible()
    page.get_by_role("button", name="alice").click()
    identity = _identity(harness, page, verifier)
    assert identity["sub"] == "alice" and identity["email"] == "alice@example.com"


def test_any_subject_with_claims_from_the_box(page, harness):
    verifier = _start(page, harness)
    page.get_by_label("Subject").fill("zoe")
    page.get_by_label("Claims (JSON object)").fill('{"email": "zoe@example.com", "tier": 3}')
    page.get_by_role("button", name="Log in").click()
    identity = _identity(harness, page, verifier)
    assert (identity["sub"], identity["email"], identity["tier"]) == ("zoe", "zoe@example.com", 3)


@pytest.mark.parametrize(
    ("claims", "message"),
    [("{not json", "not valid JSON"), ('{"sub": "root"}', "sub"), ("[1]", "JSON object")],
)
def test_bad_claims_are_shown_on_the_page(page, harness, claims, message):
    _start(page, harness)
    page.get_by_label("Subject").fill("zoe")
    page.get_by_label("Claims (JSON object)").fill(claims)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.get_by_label("Claims (JSON object)")).to_have_value(claims)
    # The page still works: pick a listed user instead.
    page.get_by_role("button", name="bob").click()
    expect(page).to_have_url(re.compile(r"code="))


def test_a_queued_decision_comes_before_the_page(page, harness):
    requests.post(
        harness.admin_url + "/admin/harness/decisions", json={"subject": "alice"}, timeout=10
    )
    verifier = _start(page, harness)
    assert _identity(harness, page, verifier)["sub"] == "alice"
