"""``perform device-code`` against an in-process fake authorization server: the polling rules
of RFC 8628 §3.5, the printed tokens, and one clear line for every way it can end badly."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest

from authserver.cli import device_code_cmd as cmd
from authserver.cli import main
from tests.quiet_server import QuietHTTPServer

DEVICE = {
    "device_code": "ory_dc_abc",
    "user_code": "BCDFGHJK",
    "verification_uri": "http://127.0.0.1/oauth2/device/verify",
    "verification_uri_complete": "http://127.0.0.1/oauth2/device/verify?user_code=BCDFGHJK",
    "expires_in": 900,
    "interval": 0.01,
}
TOKEN = {"access_token": "ory_at_1", "token_type": "bearer", "expires_in": 3600, "scope": "openid"}


def oauth_error(error: str) -> tuple[int, str, str]:
    return 400, "application/json", json.dumps({"error": error, "error_description": error})


class FakeServer:
    """Answers the device authorization request and then the scripted token answers."""

    def __init__(self, token_answers, device_answer=None, refuse_basic=False):
        self.refuse_basic = refuse_basic
        self.device_answer = device_answer or (200, "application/json", json.dumps(DEVICE))
        self.token_answers = list(token_answers)
        self.requests: list[tuple[str, dict, str]] = []
        self.httpd = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                server.requests.append((self.path, form, self.headers.get("Authorization", "")))
                if server.refuse_basic and self.headers.get("Authorization"):
                    status, kind, text = 401, "application/json", '{"error":"invalid_client"}'
                elif self.path == "/oauth2/device/auth":
                    status, kind, text = server.device_answer
                else:
                    status, kind, text = server.token_answers.pop(0)
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def token_polls(self) -> list[dict]:
        return [form for path, form, _ in self.requests if path == "/oauth2/token"]


@pytest.fixture
def waits(monkeypatch):
    """The waits between polls, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(cmd, "_sleep", recorded.append)
    return recorded


def run(capsys, server: FakeServer, *extra: str) -> tuple[int, str, str]:
    args = ["perform", "device-code", "--client-id", "dev", "-e", server.url, *extra]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pending_then_slow_down_then_tokens_printed_as_a_table(capsys, waits):
    answers = [oauth_error("authorization_pending"), oauth_error("slow_down")]
    answers += [oauth_error("authorization_pending"), (200, "application/json", json.dumps(TOKEN))]
    with FakeServer(answers) as server:
        status, out, err = run(capsys, server, "--scope", "openid,offline", "--audience", "api")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("ACCESS TOKEN") and lines[0].endswith("ory_at_1")
    assert lines[1].startswith("REFRESH TOKEN") and "<empty>" in lines[1]
    assert lines[3].startswith("EXPIRY")
    # The instructions go to stderr: address, code, complete address and its QR code.
    assert DEVICE["verification_uri"] in err and DEVICE["user_code"] in err
    assert DEVICE["verification_uri_complete"] in err and "█" in err
    assert "Successfully signed in!" in err
    # One wait before each poll; slow_down adds 5 s to every later wait.
    assert waits == [0.01, 0.01, 5.01, 5.01]
    polls = server.token_polls()
    assert len(polls) == 4
    assert {p["grant_type"] for p in polls} == {cmd.GRANT_TYPE}
    assert {p["device_code"] for p in polls} == {"ory_dc_abc"}
    path, form, _ = server.requests[0]
    assert path == "/oauth2/device/auth"
    assert form == {"client_id": "dev", "scope": "openid offline", "audience": "api"}


def test_json_format_prints_the_token_response(capsys, waits):
    with FakeServer([(200, "application/json", json.dumps(TOKEN))]) as server:
        status, out, _ = run(capsys, server, "--format", "json")
    assert status == 0
    assert json.loads(out) == TOKEN


def test_a_secret_is_sent_with_http_basic_then_remembered(capsys, waits):
    answers = [oauth_error("authorization_pending"), (200, "application/json", json.dumps(TOKEN))]
    with FakeServer(answers) as server:
        status, _, _ = run(capsys, server, "--client-secret", "s3cret")
    assert status == 0
    assert all(auth.startswith("Basic ") for _, _, auth in server.requests)
    assert all("client_secret" not in form for _, form, _ in server.requests)


def test_a_client_secret_post_client_is_retried_with_the_secret_in_the_form(capsys, waits):
    answers = [oauth_error("authorization_pending"), (200, "application/json", json.dumps(TOKEN))]
    with FakeServer(answers, refuse_basic=True) as server:
        status, _, _ = run(capsys, server, "--client-secret", "s3cret")
    assert status == 0
    # Basic once (refused), then the secret in the form for every later request.
    assert [bool(auth) for _, _, auth in server.requests] == [True, False, False, False]
    assert all(form["client_secret"] == "s3cret" for _, form, _ in server.requests[1:])


@pytest.mark.parametrize(
    ("error", "words"),
    [("access_denied", "denied"), ("expired_token", "expired")],
)
def test_a_refusal_or_expiry_ends_with_one_line(capsys, waits, error, words):
    with FakeServer([oauth_error("authorization_pending"), oauth_error(error)]) as server:
        status, out, err = run(capsys, server)
    assert status == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("authserver: ") and words in last and error in last
    assert len(server.token_polls()) == 2


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", "<html><body>login</body></html>"),
        (500, "text/plain", "Internal Server Error"),
        (200, "application/json", "{not json"),
        (200, "application/json", json.dumps({"token_type": "bearer"})),
        (400, "application/json", json.dumps({"error": "invalid_grant"})),
    ],
)
def test_bad_token_answers_end_with_one_line(capsys, waits, answer):
    with FakeServer([answer]) as server:
        status, out, err = run(capsys, server)
    assert status == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("authserver: ") and "Traceback" not in err


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", "<html>hello</html>"),
        (500, "application/json", json.dumps({"error": "server_error"})),
        (200, "application/json", "[1, 2"),
        (200, "application/json", json.dumps({"device_code": "x"})),
        (400, "application/json", json.dumps({"error": "unauthorized_client"})),
    ],
)
def test_bad_device_answers_end_with_one_line_before_any_poll(capsys, waits, answer):
    with FakeServer([], device_answer=answer) as server:
        status, out, err = run(capsys, server)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("authserver: ")
    assert server.token_polls() == [] and waits == []


def test_an_unreachable_server_is_one_line(capsys, waits):
    with FakeServer([]) as server:
        url = server.url
    with pytest.raises(SystemExit) as exit_info:
        main(["perform", "device-code", "--client-id", "dev", "-e", url])
    _, err = capsys.readouterr()
    assert exit_info.value.code == 1 and err.count("\n") == 1 and "cannot reach" in err


def test_a_missing_client_id_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("OAUTH2_CLIENT_ID", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["perform", "device-code"])
    assert exit_info.value.code == 2 and "Client ID" in capsys.readouterr().err


def test_the_interval_is_really_slept(capsys, monkeypatch):
    """With the real sleep: each poll follows a wait of the current interval (in order)."""
    events: list[str] = []
    real_sleep = cmd._sleep
    monkeypatch.setattr(cmd, "SLOW_DOWN_SECONDS", 0.02)
    monkeypatch.setattr(cmd, "_sleep", lambda s: (events.append(f"wait {s:.2f}"), real_sleep(s)))
    answers = [oauth_error("slow_down"), (200, "application/json", json.dumps(TOKEN))]
    with FakeServer(answers) as server:
        original = server.httpd.RequestHandlerClass.do_POST

        def recording(handler):
            events.append(f"POST {handler.path}")
            original(handler)

        server.httpd.RequestHandlerClass.do_POST = recording
        status, _, _ = run(capsys, server)
    assert status == 0
    assert events == [
        "POST /oauth2/device/auth",
        "wait 0.01",
        "POST /oauth2/token",
        "wait 0.03",
        "POST /oauth2/token",
    ]


def test_the_qr_code_is_text_for_a_terminal():
    text = cmd.qr_text(DEVICE["verification_uri_complete"])
    assert len(text.splitlines()) > 10 and set(text) <= set(" █▀▄\n")
