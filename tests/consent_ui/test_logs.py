"""One request, one log line: control characters from the request cannot forge log lines."""

from __future__ import annotations

import io
import logging
import re

import pytest

from consent_ui.admin_api import AdminApiError
from consent_ui.logs import configure_logging, printable

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ \[[-0-9a-f]+\] [\w.]+: ")

# what a client puts in the path -> what the log line must show instead
PATHS = {
    "CRLF": ("/login%0d%0aFORGED", r"/login\r\nFORGED"),
    "LF": ("/login%0aFORGED", r"/login\nFORGED"),
    "NUL": ("/login%00x", r"/login\x00x"),
    "ANSI escape": ("/login%1b[31mred", r"/login\x1b[31mred"),
    "NEL": ("/login%c2%85FORGED", r"/login\x85FORGED"),
    "line separator": ("/login%e2%80%a8FORGED", r"/login\u2028FORGED"),
    "file separator": ("/login%1cFORGED", r"/login\x1cFORGED"),
    "backslash": ("/login%5cr%5cnFORGED", r"/login\\r\\nFORGED"),  # not mistaken for \r\n
}


@pytest.fixture
def log_output():
    """The CLI's logging set-up, writing to a string; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    found = text.splitlines()  # splits at every line boundary a log viewer might honour
    assert all(LINE.match(line) for line in found), text
    return found


@pytest.mark.parametrize(("path", "shown"), PATHS.values(), ids=PATHS)
def test_a_path_with_control_characters_is_one_escaped_log_line(client, log_output, path, shown):
    response = client.get(path)

    assert response.status_code == 404
    [line] = lines(log_output)
    assert line.endswith(f"consent_ui.access: GET {shown} 404 {line.rsplit(' ', 1)[1]}")


def test_an_odd_method_is_escaped_too(client, log_output):
    client.open("/login", method="GET\r\nFORGED")

    [line] = lines(log_output)
    assert r"GET\r\nFORGED /login 405" in line


def test_messages_quoting_the_request_are_one_line_each(client, admin, log_output):
    # A challenge with CR/LF never reaches the admin API (400 at once); what the admin API
    # says back may still quote request data, so its description is escaped as well.
    assert client.get("/login?login_challenge=x%0d%0a2026-01-01 FORGED").status_code == 400
    log_output.truncate(0)
    log_output.seek(0)

    def failing(challenge):
        raise AdminApiError(
            400, "invalid_request", f"No such challenge {challenge}\r\n2026-01-01 FORGED."
        )

    admin.get_login_request = failing

    response = client.get("/login?login_challenge=x")

    assert response.status_code == 502
    error, access = lines(log_output)
    assert r"No such challenge x\r\n2026-01-01 FORGED." in error
    assert "GET /login 502" in access


def test_the_safety_net_escapes_what_printable_did_not(log_output):
    logging.getLogger("anything").warning("a %s b", "\r\nFORGED\x85")

    [line] = lines(log_output)
    assert line.endswith(r"anything: a \r\nFORGED\x85 b")


def test_printable_leaves_ordinary_text_alone():
    assert printable("/consent/é?x=1 ok") == "/consent/é?x=1 ok"
    assert printable(7) == "7"
