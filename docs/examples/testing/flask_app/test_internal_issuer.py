"""The compose case without compose: the browser-facing issuer differs from the URL the
app uses. Here the issuer is ``http://localhost:<port>/`` and the app's back channel
``http://127.0.0.1:<port>``, the same server under two names, as ``http://localhost:4444/``
and ``http://authserver:4444`` are in docker-compose.harness.yml.
"""

import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from app import back_channel_metadata, create_app

from authserver.harness.server import HarnessServer
from authserver.testing import Harness

HERE = Path(__file__).resolve().parent
COMPOSE_FILE = HERE.parent / "docker-compose.harness.yml"
HARNESS_CONFIG = HERE.parent / "harness.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def two_names():
    """A harness whose issuer is http://localhost:<port>/; yields (issuer, back channel,
    a ``Harness`` client of it)."""
    port = free_port()
    issuer = f"http://localhost:{port}/"
    server = HarnessServer.from_file(
        HARNESS_CONFIG, public_port=port, environ={"URLS_SELF_ISSUER": issuer}
    ).start()
    back_channel = f"http://127.0.0.1:{port}"
    yield issuer, back_channel, Harness(back_channel, server.admin_url)
    server.stop()


def test_the_compose_file_runs_the_harness_for_browsers_on_localhost():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    authserver = compose["services"]["authserver"]
    command = authserver["command"]
    assert command[:2] == ["authserver", "harness"]
    assert command[command.index("--config") + 1] == "/etc/authserver/harness.yaml"
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104
    assert authserver["environment"]["URLS_SELF_ISSUER"] == "http://localhost:4444/"
    app = compose["services"]["app"]["environment"]
    assert app["AUTHSERVER_ISSUER"] == "http://localhost:4444/"
    assert app["AUTHSERVER_INTERNAL_URL"] == "http://authserver:4444"


def test_discovery_names_the_browser_facing_issuer(two_names):
    issuer, back_channel, _ = two_names
    metadata = requests.get(back_channel + "/.well-known/openid-configuration", timeout=5).json()
    assert metadata["issuer"] == issuer
    assert metadata["authorization_endpoint"].startswith(issuer)
    assert metadata["token_endpoint"].startswith(issuer)  # hence the mapping below

    mapped = back_channel_metadata(dict(metadata), back_channel)
    assert mapped["issuer"] == issuer
    assert mapped["authorization_endpoint"] == metadata["authorization_endpoint"]
    assert mapped["token_endpoint"] == back_channel + "/oauth2/token"
    assert mapped["jwks_uri"] == back_channel + "/.well-known/jwks.json"


def test_the_back_channel_token_endpoint_works(two_names):
    issuer, back_channel, harness = two_names
    answer = requests.post(
        back_channel + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "orders:read"},
        auth=("orders-cli", "orders-cli-secret"),
        timeout=5,
    )
    assert answer.status_code == 200
    introspected = requests.post(
        harness.admin_url + "/admin/oauth2/introspect",
        data={"token": answer.json()["access_token"]},
        timeout=5,
    ).json()
    assert introspected["active"] is True
    assert introspected["iss"] == issuer  # tokens name the browser-facing issuer


def test_the_app_logs_in_across_the_two_names(two_names, monkeypatch):
    """The browser side on localhost, the app's token request and ID token check on the
    back channel: the app accepts the ID token because it kept the issuer."""
    issuer, back_channel, harness = two_names
    harness.next_login("alice")
    monkeypatch.setenv("AUTHSERVER_ISSUER", issuer)
    monkeypatch.setenv("AUTHSERVER_INTERNAL_URL", back_channel)
    monkeypatch.setenv("AUTHSERVER_CLIENT_ID", "flask-app")
    monkeypatch.setenv("AUTHSERVER_CLIENT_SECRET", "flask-app-secret")
    monkeypatch.setenv("APP_SECRET_KEY", "test only")
    app = create_app().test_client()

    # The app sends the browser to the authorization endpoint under the issuer...
    location = app.get("/login", base_url="http://localhost:8000").headers["Location"]
    assert location.startswith(issuer + "oauth2/auth?")
    # ...the browser follows the redirects (login and consent decided by the harness)...
    browser = requests.Session()
    while not location.startswith("http://localhost:8000/callback"):
        location = browser.get(location, allow_redirects=False, timeout=5).headers["Location"]
    assert "code" in parse_qs(urlsplit(location).query)
    # ...and the app redeems the code on the back channel and checks the ID token.
    done = app.get(location, base_url="http://localhost:8000")
    assert done.status_code == 302
    assert "alice@example.com" in app.get("/", base_url="http://localhost:8000").text
