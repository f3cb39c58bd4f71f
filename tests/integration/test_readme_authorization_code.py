"""The README's authorization-code walkthrough and "Playing the login app by hand", run as
written against a real server, so that neither the commands nor their output can drift.

One flow covers both sections: ``perform authorization-code`` is started as the first
section says, and the login app is then played by hand with the second section's ``curl``
commands (the challenges read where the browser is sent, as a reader copies them from the
address bar). The example client's output, printed when the flow ends, must have the shape
the README shows. JSON answers are compared as JSON: in the README, ``{…}`` stands for any
value and a string ending in ``…`` for any string that starts with what precedes it (its
last word, a challenge or verifier, abbreviated).
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import requests

from tests.conftest import free_port
from tests.integration.oauth_flow import query
from tests.integration.test_readme_walkthrough import (
    VOLATILE,
    compare,
    console_steps,
    shell_environment,
    substitute,
)

SECTION = ("## Walkthrough: the authorization code flow", "What the flow guarantees:")
ELIDED = "…"


def elided_json(lines: list[str]) -> object:
    """The README's abbreviated JSON (over several lines) as a document."""
    return json.loads(" ".join(line.strip() for line in lines).replace("{…}", '"…"'))


def compare_json(want, got, mapping: dict[str, str], where: str = "$") -> None:
    if want == ELIDED:
        return
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(want) == sorted(got), f"{where}: {got!r}"
        for key in want:
            compare_json(want[key], got[key], mapping, f"{where}.{key}")
        return
    if isinstance(want, list):
        assert isinstance(got, list) and len(want) == len(got), f"{where}: {got!r}"
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            compare_json(w, g, mapping, f"{where}[{index}]")
        return
    if isinstance(want, str) and want.endswith(ELIDED):
        # The elided value's last word (a challenge, a verifier) differs from run to run.
        fixed, word = re.fullmatch(r"(.*?)([A-Za-z0-9_-]*)", want[: -len(ELIDED)]).groups()
        pattern = re.escape(substitute(fixed, mapping)) + ("[A-Za-z0-9_-]+" if word else "")
        assert isinstance(got, str) and re.match(pattern, got), f"{where}: {got!r}"
        return
    if isinstance(want, str) and want != got and VOLATILE.match(want):
        assert isinstance(got, str) and VOLATILE.match(got), f"{where}: {got!r}"
        mapping[want] = got
        return
    if isinstance(want, str):
        want = substitute(want, mapping)
    assert want == got, f"{where}: {want!r} became {got!r}"


class Reader:
    """The reader: a shell, a browser (one cookie jar) and the example client running."""

    def __init__(self, server, port: int):
        self.env = {**shell_environment(server), "BROWSER": "true"}  # no browser opens
        self.mapping = {
            "http://127.0.0.1:9001": server.admin_url,
            "http://127.0.0.1:9000": server.public_url,
            "http://127.0.0.1:4446": f"http://127.0.0.1:{port}",
        }
        self.port = port
        self.browser = requests.Session()
        self.example: subprocess.Popen | None = None
        self.example_output: list[str] = []
        self.challenge = ""
        self.redirect_to = ""

    def shell(self, command: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["bash", "-c", command], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        return result

    def step(self, command: str, expected: list[str]) -> None:
        assignment = re.fullmatch(r"(\w+)=(\S+)", command)
        if assignment and assignment.group(1) == "challenge":
            # The reader copies the challenge from the address bar.
            self.mapping[assignment.group(2)] = self.challenge
        command = substitute(command, self.mapping)
        if assignment:
            name, value = re.fullmatch(r"(\w+)=(\S+)", command).groups()
            self.env[name] = value
        elif command.startswith("authserver perform authorization-code"):
            self.start_example(command, expected)
        elif command.startswith("curl"):
            got = json.loads(self.shell(command).stdout)
            compare_json(elided_json(expected), got, self.mapping)
            self.redirect_to = got.get("redirect_to", "")
        else:
            compare(expected, self.shell(command).stdout.rstrip("\n").splitlines(), self.mapping)

    def start_example(self, command: str, expected: list[str]) -> None:
        """Start the example client (in the background, as in a second terminal) and click
        "Authorize application": the browser lands at the login app with a challenge."""
        self.example = subprocess.Popen(
            ["bash", "-c", f"{command} --port {self.port}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.example_output = expected
        self.challenge = query(self.follow(self.authorize_link()))["login_challenge"]

    def authorize_link(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.example.poll() is None, self.example.communicate()
            try:
                page = requests.get(f"http://127.0.0.1:{self.port}/", timeout=1).text
            except requests.ConnectionError:
                time.sleep(0.1)
                continue
            return re.search(r'href="([^"]+)"', page).group(1).replace("&amp;", "&")
        raise AssertionError("the example client did not start")

    def follow(self, url: str) -> str:
        """Where the server sends the browser next."""
        response = self.browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), response.text
        return response.headers["Location"]

    def open_redirect_to(self) -> None:
        """The reader opens ``redirect_to`` in the browser that started the flow."""
        location = self.follow(self.redirect_to)
        found = query(location)
        if "consent_challenge" in found:
            self.challenge = found["consent_challenge"]
        elif "code" in found:
            assert self.browser.get(location, timeout=20).status_code == 200  # the callback

    def finish(self) -> None:
        """The example client has printed the tokens and ended by itself."""
        output, errors = self.example.communicate(timeout=30)
        assert self.example.returncode == 0, errors
        compare(self.example_output, errors.splitlines() + output.splitlines(), self.mapping)


def test_readme_authorization_code_and_login_app_by_hand(dev_server):
    reader = Reader(dev_server, free_port())
    try:
        for command, expected in console_steps(SECTION):
            reader.step(command, expected)
            if "/accept?" in command:
                reader.open_redirect_to()
        reader.finish()
    finally:
        if reader.example is not None and reader.example.poll() is None:
            reader.example.kill()
            reader.example.communicate()
