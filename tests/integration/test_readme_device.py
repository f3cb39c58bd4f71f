"""The README's device-flow walkthrough, run as written against a real server: the client
is created, ``perform device-code`` plays the device while the user's side (the browser and
the login app) is played through the admin API, and the plain-HTTP block is sent as is.
Output must have the README's shape; only what differs from run to run may differ (and
the QR code, which the README abbreviates)."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import requests

from tests.integration.oauth_flow import query
from tests.integration.test_readme_authorization_code import compare_json, elided_json
from tests.integration.test_readme_walkthrough import (
    compare,
    console_steps,
    shell_environment,
    substitute,
)

SECTION = ("## Walkthrough: the device flow", "## Docker: `docker compose up`")
QR_LINE = re.compile(r"^[█▀▄ ]+$|^…  \(a QR code")
README_USER_CODES = ("XWC9UXAJ", "KLL4Y9AW")


def without_qr(lines: list[str]) -> list[str]:
    """The lines with the QR code (however many rows) as one marker line."""
    kept: list[str] = []
    for line in lines:
        if line.strip() and QR_LINE.match(line):
            if kept[-1:] != ["<QR code>"]:
                kept.append("<QR code>")
        else:
            kept.append(line)
    return kept


def play_the_user(server, verification_uri_complete: str) -> str:
    """The user opens the address, the login app accepts the code, the login and the
    consent; returns where the browser ends."""
    browser = requests.Session()
    admin = server.admin_url + "/admin/oauth2/auth/requests"
    location = browser.get(verification_uri_complete, allow_redirects=False, timeout=10)
    found = query(location.headers["Location"])
    steps = (
        ("device", "device_challenge", {"user_code": found.get("user_code", "")}),
        ("login", "login_challenge", {"subject": "foo@bar.com"}),
        ("consent", "consent_challenge", {"grant_scope": ["openid", "offline_access"]}),
    )
    for step, parameter, body in steps:
        redirect_to = requests.put(
            f"{admin}/{step}/accept", params={parameter: found[parameter]}, json=body, timeout=10
        ).json()["redirect_to"]
        location = browser.get(redirect_to, allow_redirects=False, timeout=10)
        found = query(location.headers["Location"])
    return location.headers["Location"]


class Device:
    """``perform device-code`` running, its stderr read as it comes."""

    def __init__(self, command: str, env: dict):
        self.process = subprocess.Popen(
            ["bash", "-c", command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.errors: list[str] = []
        self.address = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))
            if "user_code=" in line:
                self.address.set()

    def complete_uri(self) -> str:
        assert self.address.wait(20), self.errors
        return next(line.strip() for line in self.errors if "user_code=" in line)

    def finish(self) -> list[str]:
        output = self.process.stdout.read()
        assert self.process.wait(30) == 0, self.errors
        self.reader.join(5)
        self.process.stdout.close()
        self.process.stderr.close()
        return self.errors + output.splitlines()


def test_readme_device_walkthrough_runs_as_written(dev_server):
    server = dev_server
    requests.delete(server.admin_url + "/admin/clients/tv-app", timeout=10)  # once per server
    env = {**shell_environment(server), "PYTHONUTF8": "1"}  # a UTF-8 terminal shows the QR code
    mapping = {
        "http://127.0.0.1:9001": server.admin_url,
        "http://127.0.0.1:9000": server.public_url,
    }
    for command, expected in console_steps(SECTION):
        assignment = re.fullmatch(r"(\w+)=(\S+)", command)
        command = substitute(command, mapping)
        if assignment:
            env[assignment.group(1)] = substitute(assignment.group(2), mapping)
        elif command.startswith("authserver perform device-code"):
            device = Device(command, env)
            try:
                uri = device.complete_uri()
                mapping[README_USER_CODES[0]] = uri.rpartition("=")[2]
                assert play_the_user(server, uri).endswith("/oauth2/fallbacks/device/done")
                compare(without_qr(expected), without_qr(device.finish()), mapping)
            finally:
                if device.process.poll() is None:
                    device.process.kill()
                    device.process.communicate()
        elif expected[:1] and expected[0].startswith("{"):
            result = subprocess.run(
                ["bash", "-c", command], env=env, capture_output=True, text=True
            )
            answer = json.loads(result.stdout)
            if "user_code" in answer:
                mapping[README_USER_CODES[1]] = answer["user_code"]
            compare_json(elided_json(expected), answer, mapping)
        else:
            result = subprocess.run(
                ["bash", "-c", command], env=env, capture_output=True, text=True
            )
            compare(expected, result.stdout.rstrip("\n").splitlines(), mapping)
