"""``perform authorization-code``'s own pages, served in-process: styled, self-contained,
and the outcome (tokens issued or not) plain to see."""

from __future__ import annotations

import re
import threading

import pytest
import requests

from authserver.cli import authorization_code_cmd as cmd
from authserver.cli.common import CliError


@pytest.fixture
def example_client():
    config = cmd.FlowConfig(
        client_id="c",
        client_secret="s",
        auth_url="http://127.0.0.1:1/oauth2/auth",
        token_url="http://127.0.0.1:1/oauth2/token",
        jwks_url="http://127.0.0.1:1/.well-known/jwks.json",
        redirect_uri="http://127.0.0.1:0/callback",
        scope=["openid", "offline"],
        audience=[],
        prompt=[],
        max_age=0,
    )
    flow = cmd.FlowState()
    cmd._new_request(config, flow)
    server = cmd._LocalServer(("127.0.0.1", 0), cmd._handler(config, flow, keep_running=False))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", flow
    server.shutdown()
    server.server_close()


def assert_self_contained(page: str) -> None:
    assert "<style>" in page
    assert "<link" not in page and " src=" not in page and "@import" not in page  # no assets
    assert page.count("<h1") == 1


def test_the_home_page_is_styled_and_links_the_authorization_request(example_client):
    base, flow = example_client
    page = requests.get(base + "/", timeout=5).text
    assert_self_contained(page)
    first_link = re.search(r'href="([^"]+)"', page).group(1)
    assert first_link.replace("&amp;", "&") == flow.url


def test_issued_tokens_page_shows_success(example_client, monkeypatch):
    base, flow = example_client
    token = {"access_token": "at", "id_token": "it", "scope": "openid", "expires_in": 3600}
    monkeypatch.setattr(cmd, "_exchange", lambda *_args: token)
    response = requests.get(base + "/callback?code=x&state=" + flow.state, timeout=5)
    assert response.status_code == 200
    assert_self_contained(response.text)
    assert 'data-outcome="success"' in response.text
    assert "at" not in re.findall(r"<dd>([^<]*)</dd>", response.text)  # no token on the page
    assert flow.done.wait(5) and flow.result == token  # set once the page is sent


def test_a_denied_request_shows_failure_with_the_error(example_client):
    base, flow = example_client
    response = requests.get(
        base + "/callback?error=access_denied&error_description=<b>no</b>", timeout=5
    )
    assert response.status_code == 400
    assert_self_contained(response.text)
    assert 'data-outcome="failure"' in response.text
    assert "access_denied" in response.text
    assert "<b>no</b>" not in response.text and "&lt;b&gt;no&lt;/b&gt;" in response.text


def test_a_failed_exchange_shows_failure(example_client, monkeypatch):
    base, _flow = example_client

    def refuse(*_args):
        raise CliError("invalid_grant: the code was used")

    monkeypatch.setattr(cmd, "_exchange", refuse)
    response = requests.get(base + "/callback?code=x&state=y", timeout=5)
    assert response.status_code == 400
    assert 'data-outcome="failure"' in response.text and "invalid_grant" in response.text


def test_favicon_is_not_a_404(example_client):
    base, _flow = example_client
    assert requests.get(base + "/favicon.ico", timeout=5).status_code == 204
    assert requests.get(base + "/nope", timeout=5).status_code == 404


def test_a_dropped_connection_prints_nothing_and_other_errors_still_do(capsys):
    server = cmd._LocalServer(("127.0.0.1", 0), cmd.BaseHTTPRequestHandler)
    try:
        for error, shown in ((BrokenPipeError(), False), (ValueError("a bug"), True)):
            try:
                raise error
            except Exception:  # noqa: BLE001
                server.handle_error(None, ("127.0.0.1", 1))
            assert ("Traceback" in capsys.readouterr().err) is shown
    finally:
        server.server_close()
