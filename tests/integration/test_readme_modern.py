"""The README's "Modern OAuth: PAR, DPoP, resource indicators, token exchange", run as
written against a real server, so that its sessions cannot drift from the code.

As in ``test_readme_clients``: the server gets the settings the section tells the reader
to start the demo with (the ``sh`` block that runs ``make demo``), plus what
``authserver demo`` sets itself (the login app's URLs, CORS); the section's Python files
(```` ```python ```` blocks starting with ``# name.py``) and its client metadata document
(the ```` ```json ```` block, as ``client.json``) are written where the commands run; the
document is served with the ``python -m http.server`` command the section shows, and a
real demo client runs with the section's ``DEMO_CLIENT_*`` settings. Every ``$ command``
runs in a shell there, and its output is compared line by line, where only what differs
from run to run (ids, secrets, tokens, thumbprints, challenges, dates, ports) may differ;
the README's values are then replaced by the real ones in the commands that follow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port, wait_alive
from tests.integration import test_readme_clients as clients_readme
from tests.integration.demo_client_process import start_demo_client
from tests.integration.test_readme_clients import ASSIGNED, CAPTURED, same_times, shell
from tests.integration.test_readme_walkthrough import (
    compare,
    console_steps,
    shell_environment,
    substitute,
)

HEADING = "## Modern OAuth: PAR, DPoP, resource indicators, token exchange"
CONSENT = "http://127.0.0.1:9020"  # the demo's login app (never called: only redirected to)
# What `authserver demo` sets besides the reader's environment (authserver/devstack.py).
DEMO_SETTINGS = {
    "URLS_LOGIN": CONSENT + "/login",
    "URLS_CONSENT": CONSENT + "/consent",
    "URLS_LOGOUT": CONSENT + "/logout",
    "SERVE_PUBLIC_CORS_ENABLED": "true",
    "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": "http://127.0.0.1:9010",
}
DOCUMENT_SERVER = "python -m http.server 8000 --bind 127.0.0.1"
# A random value inside a longer string: in a URL's query (login_challenge=…) or at the
# end of a pushed request's reference; and an HTTP date (curl -i's Date header).
QUERY_VALUE = re.compile(r"([?&]\w+=|:request_uri:)([A-Za-z0-9_-]{32,64})(?![A-Za-z0-9_-])")
HTTP_DATE = re.compile(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT")


def section() -> tuple[str, str]:
    return clients_readme.section(HEADING)


def section_text() -> str:
    return clients_readme.section_text(HEADING)


def settings() -> tuple[dict[str, str], dict[str, str]]:
    """(the server's, the demo client's) settings of the ``sh`` block that starts the demo."""
    [block] = [
        block
        for block in re.findall(r"```sh\n(.*?)```", section_text(), re.DOTALL)
        if "make demo" in block
    ]
    found = dict(re.findall(r"([A-Z][A-Z0-9_]+)=(\S+)", block))
    server = {name: value for name, value in found.items() if not name.startswith("DEMO_CLIENT_")}
    demo = {name: value for name, value in found.items() if name.startswith("DEMO_CLIENT_")}
    assert server.get("OAUTH2_CLIENT_ID_METADATA_DOCUMENTS_ENABLED") == "true", block
    assert {"DEMO_CLIENT_USE_PAR", "DEMO_CLIENT_USE_DPOP"} <= set(demo), block
    return {**server, **DEMO_SETTINGS}, demo


def client_document() -> str:
    """The metadata document the reader saves as ``client.json`` (it must be JSON)."""
    [block] = re.findall(r"```json\n(.*?)```", section_text(), re.DOTALL)
    document = json.loads(block)
    assert document["client_id"] == "http://127.0.0.1:8000/client.json", document
    return block


def same_volatile(expected: list[str], actual: list[str], mapping: dict) -> list[str]:
    """The actual lines with their HTTP dates replaced by the README's, line by line, and
    the real value of each embedded random value (``QUERY_VALUE``) kept in ``mapping``,
    for the comparison and the commands that follow. Then the timestamps, as for the
    clients' section."""
    lines = []
    for want, got in zip(expected, actual, strict=False):
        wanted, found = QUERY_VALUE.findall(want), QUERY_VALUE.findall(got)
        if [name for name, _ in wanted] == [name for name, _ in found]:
            for (_, readme), (_, real) in zip(wanted, found, strict=True):
                mapping[readme] = real  # compare() reads the README's line through mapping
        if HTTP_DATE.search(want) and HTTP_DATE.search(got):
            got = HTTP_DATE.sub(HTTP_DATE.search(want).group(0), got)
        lines.append(got)
    return same_times(expected, lines + actual[len(expected) :])


def serve_documents(directory: Path, log_dir: Path, port: int) -> subprocess.Popen:
    """The section's ``python -m http.server`` on a free port instead of 8000."""
    assert DOCUMENT_SERVER in section_text()
    command = DOCUMENT_SERVER.replace("python", sys.executable, 1).replace("8000", str(port))
    with open(log_dir / f"http-server-{port}.log", "w") as log:
        process = subprocess.Popen(
            command.split(), cwd=directory, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    if not wait_alive(url, 20, process, path="/client.json"):
        process.kill()
        raise AssertionError("python -m http.server did not start")
    return process


def test_readme_modern_oauth_sessions_run_as_written(backend, server_factory, tmp_path):
    reader = tmp_path / "reader"
    reader.mkdir()
    server_settings, demo_settings = settings()
    server = server_factory(backend, env=server_settings, args=("--dev",))
    env = shell_environment(server)
    port = free_port()
    mapping = {
        "http://127.0.0.1:9001": server.admin_url,
        "http://127.0.0.1:9000": server.public_url,
        "http://127.0.0.1:8000": f"http://127.0.0.1:{port}",
    }
    files = clients_readme.python_files(HEADING)
    assert set(files) == {"dpop_proof.py"}, sorted(files)
    for name, source in files.items():
        (reader / name).write_text(substitute(source, mapping))
    # The reader saves the document as client.json and serves it from there.
    (reader / "client.json").write_text(substitute(client_document(), mapping))
    documents = serve_documents(reader, tmp_path, port)
    demo = None
    try:
        demo = start_demo_client(
            tmp_path,
            env={
                **demo_settings,
                "HOST": "127.0.0.1",
                "DEMO_CLIENT_ISSUER": server.public_url + "/",
                "DEMO_CLIENT_ADMIN_URL": server.admin_url,
            },
        )
        mapping["http://127.0.0.1:9010"] = demo.url
        run_steps(env, reader, mapping)
    finally:
        if demo is not None:
            demo.stop()
        documents.terminate()
        documents.wait(10)


def run_steps(env: dict, reader: Path, mapping: dict) -> None:
    steps = console_steps(section())
    assert len(steps) >= 35, steps  # every subsection's session was found
    for command, expected in steps:
        command = substitute(command, mapping)
        captured, assigned = CAPTURED.fullmatch(command), ASSIGNED.fullmatch(command)
        if captured:
            assert expected == [], (command, expected)
            env[captured.group(1)] = shell(captured.group(2), env, reader).rstrip("\n")
        elif assigned:
            env[assigned.group(1)] = assigned.group(2)
        else:
            actual = shell(command, env, reader).rstrip("\n").splitlines()
            compare(expected, same_volatile(expected, actual, mapping), mapping)
