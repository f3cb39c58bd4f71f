"""Fixtures for the demo client's own tests: the app wired to an in-memory fake
authorization server (``fake_server``), and a browser helper that logs in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey

from demo_client import create_app
from tests.demo_client.fake_server import (
    ADMIN,
    BACKCHANNEL,
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    REDIRECT_URI,
    FakeAuthorizationServer,
    http_session,
)

BASE = "http://127.0.0.1:4446"


def settings(**overrides) -> dict:
    env = {
        "PORT": "4446",
        "DEMO_CLIENT_ISSUER": ISSUER,
        "DEMO_CLIENT_BACKCHANNEL_URL": BACKCHANNEL,
        "DEMO_CLIENT_ADMIN_URL": ADMIN,
        "DEMO_CLIENT_ID": CLIENT_ID,
        "DEMO_CLIENT_SECRET": CLIENT_SECRET,
        "DEMO_CLIENT_REDIRECT_URI": REDIRECT_URI,
        "DEMO_CLIENT_SECRET_KEY": "test-secret-key",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


@pytest.fixture(scope="session")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})


@pytest.fixture
def fake(signing_key) -> FakeAuthorizationServer:
    return FakeAuthorizationServer(signing_key)


@pytest.fixture
def make_browser(fake):
    def make(**overrides) -> Browser:
        app = create_app(settings(**overrides), http=http_session(fake))
        return Browser(app, fake)

    return make


@pytest.fixture
def browser(make_browser) -> Browser:
    return make_browser()


class Browser:
    """The Flask test client on the app's own origin, plus the steps of a login."""

    def __init__(self, app, fake: FakeAuthorizationServer):
        self.app = app
        self.fake = fake
        self.client = app.test_client()

    def get(self, path: str, **kwargs):
        return self.client.get(BASE + path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.client.post(BASE + path, **kwargs)

    def start_login(self, path: str = "/login") -> str:
        response = self.get(path)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def callback(self, url: str):
        parts = urlsplit(url)
        return self.get(parts.path + "?" + parts.query)

    def login(self):
        """The whole flow; returns the home page after the callback."""
        response = self.callback(self.fake.authorize(self.start_login()))
        assert response.status_code == 303, response.text
        assert response.headers["Location"] == "/"
        return self.get("/")

    def csrf_token(self) -> str:
        page = self.get("/").text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def press(self, path: str, **form):
        return self.post(path, data={"csrf_token": self.csrf_token(), **form})


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
