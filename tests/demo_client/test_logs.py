"""What a client sends cannot forge log lines: ``?error=`` with CR LF is one escaped line,
in the app and in a real ``demo-client`` process."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from demo_client.logs import configure_logging, printable
from tests.conftest import free_port
from tests.demo_client.test_cli import SCRIPT

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ [\w.]+ ")
FORGED_ERROR = "access_denied%0d%0a2026-01-01 00:00:00,000 INFO demo_client FORGED"
ESCAPED = r"explained error: access_denied\r\n2026-01-01 00:00:00,000 INFO demo_client FORGED"


@pytest.fixture
def log_output():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_a_forged_error_code_is_one_escaped_line(browser, log_output):
    state = query_state(browser.start_login())
    log_output.truncate(0)

    response = browser.get(f"/callback?error={FORGED_ERROR}&state={state}")

    assert response.status_code == 400
    [line] = log_output.getvalue().splitlines()
    assert LINE.match(line)
    assert line.endswith(ESCAPED)


def test_the_safety_net_escapes_any_message(log_output):
    logging.getLogger("demo_client.x").warning("%s", "a\nb\u2028c\x1bd")

    [line] = log_output.getvalue().splitlines()
    assert line.endswith(r"demo_client.x a\nb\u2028c\x1bd")


def test_printable_escapes_backslashes_too():
    assert printable("a\\nb\r") == r"a\\nb\r"


def query_state(location: str) -> str:
    return re.search(r"[?&]state=([^&]+)", location).group(1)


def test_a_real_process_writes_one_line_per_message(tmp_path):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_CLIENT_")}
    env = {**clean, "DEMO_CLIENT_BACKCHANNEL_URL": "http://127.0.0.1:9/"}  # nothing there
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [SCRIPT, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        wait_until_up(http, base + "/healthz")
        assert http.get(base + "/login", timeout=10).status_code == 502  # makes a session
        forged = http.get(f"{base}/callback?error={FORGED_ERROR}&state=x", timeout=10)
        assert forged.status_code == 400
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)

    lines = log_path.read_text().splitlines()
    [line] = [line for line in lines if "FORGED" in line]
    assert line.endswith(ESCAPED), lines


def wait_until_up(http: requests.Session, url: str) -> None:
    for _ in range(200):
        try:
            http.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")
