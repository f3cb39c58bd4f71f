"""The README's "Clients beyond client secrets", run as written against a real server, so
that its sessions cannot drift from the code.

The server gets the settings the section tells the reader to start the demo with (its
``sh`` block), plus what ``make demo`` sets itself (CORS on for the demo client's origin).
The section's Python files (```` ```python ```` blocks starting with ``# name.py``) are
written where the commands run, and every ``$ command`` runs in a shell there. Output is
compared as in the other README walkthroughs: line by line, where only what differs from
run to run (ids, secrets, keys, tokens, times) may differ, and the README's values are
then replaced by the real ones in the commands that follow.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.integration.test_readme_walkthrough import (
    README,
    compare,
    console_steps,
    shell_environment,
    substitute,
)

HEADING = "## Clients beyond client secrets"
# `authserver demo` turns CORS on for the demo client's origin (authserver/devstack.py).
DEMO_SETTINGS = {
    "SERVE_PUBLIC_CORS_ENABLED": "true",
    "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": "http://127.0.0.1:9010",
}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # created_at and the like
CAPTURED = re.compile(r"(\w+)=\$\((.*)\)")  # name=$(command)
ASSIGNED = re.compile(r"(\w+)=(\S+)")


def section(heading: str = HEADING) -> tuple[str, str]:
    """The section's heading and the next one (what ``console_steps`` takes)."""
    text = README.read_text()
    end = text.index("\n## ", text.index(heading)) + 1
    return heading, text[end : text.index("\n", end)]


def section_text(heading: str = HEADING) -> str:
    start, end = section(heading)
    text = README.read_text()
    return text[text.index(start) : text.index(end)]


def python_files(heading: str = HEADING) -> dict[str, str]:
    """The section's Python files (```` ```python ```` blocks starting with ``# name.py``)."""
    return {
        match.group(2): match.group(1)
        for match in re.finditer(
            r"```python\n(# (\S+\.py)\b.*?)```", section_text(heading), re.DOTALL
        )
    }


def shell(command: str, env: dict, cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-c", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stderr}"
    return result.stdout


def server_settings(cwd: Path) -> dict[str, str]:
    """What the reader starts the demo with: the section's ``sh`` block."""
    [block] = re.findall(r"```sh\n(.*?)```", section_text(), re.DOTALL)
    settings = {
        name: shell(f"printf %s {value}", {"PATH": "/usr/bin:/bin"}, cwd)
        for name, value in re.findall(r"([A-Z][A-Z0-9_]+)=(\$\([^)]*\)|\S+)", block)
    }
    assert "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED" in settings, block
    return {**settings, **DEMO_SETTINGS}


def same_times(expected: list[str], actual: list[str]) -> list[str]:
    """The actual lines with their timestamps replaced by the README's, line by line."""
    lines = []
    for want, got in zip(expected, actual, strict=False):
        wanted, found = TIME.findall(want), TIME.findall(got)
        if len(wanted) == len(found):
            for old, new in zip(found, wanted, strict=True):
                got = got.replace(old, new, 1)
        lines.append(got)
    return lines + actual[len(expected) :]


def test_readme_clients_sessions_run_as_written(backend, server_factory, tmp_path):
    reader = tmp_path / "reader"
    reader.mkdir()
    server = server_factory(backend, env=server_settings(reader), args=("--dev",))
    env = shell_environment(server)
    mapping = {
        "http://127.0.0.1:9001": server.admin_url,
        "http://127.0.0.1:9000": server.public_url,
    }
    files = python_files()
    assert {"key_client.py", "assertion.py"} <= set(files), sorted(files)
    for name, source in files.items():
        (reader / name).write_text(substitute(source, mapping))
    steps = console_steps(section())
    assert len(steps) >= 30, steps  # every subsection's session was found
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
            compare(expected, same_times(expected, actual), mapping)
