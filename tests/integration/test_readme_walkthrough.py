"""The README's client-credentials walkthrough, run as written against a real server, so
that the README cannot drift from the code.

Every ``$ command`` of the section's console blocks is run in a shell (endpoints pointed at
the test server). Its output must have the README's shape line by line; only values that
differ from run to run (ids, secrets, tokens, times) may differ, and the README's values
are then replaced by the real ones in the commands that follow (``client_id=…``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTIONS = (
    ("## Walkthrough: the guide's client-credentials flow", "### The 2019 guide"),
    ("### The 2019 guide", "## Walkthrough: the authorization code flow"),
)
# Values that legitimately change between runs.
VOLATILE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # client ids
    r"|ory_[a-z]{2}_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"  # tokens
    r"|[A-Za-z0-9_-]{32,64}"  # generated client secrets, challenges, session ids
    r"|eyJ[A-Za-z0-9_.-]+…?"  # JWTs (the README abbreviates them)
    r"|\d{10}"  # UNIX times
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+)$"  # expiry as the CLI prints it
)


def console_steps(section: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every ``$`` line of the section's blocks."""
    start, end = section
    text = README.read_text()
    body = text[text.index(start) : text.index(end)]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", body, re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\"):
                    index += 1
                    command = command[:-1] + " " + lines[index].strip()
                steps.append((command, []))
            elif steps:
                steps[-1][1].append(line)
            index += 1
    return steps


def cells(line: str) -> list[str]:
    """A table row's cells, or the quoted strings and bare words of a JSON line."""
    if "\t" in line:
        return [cell for cell in line.split("\t") if cell]
    return [quoted or bare for quoted, bare in re.findall(r'"([^"]*)"|([^\s"{}:,]+)', line)]


def substitute(text: str, mapping: dict[str, str]) -> str:
    for old, new in sorted(mapping.items(), key=lambda item: -len(item[0])):
        text = text.replace(old, new)
    return text


def compare(expected: list[str], actual: list[str], mapping: dict[str, str]) -> None:
    assert len(actual) == len(expected), f"expected:\n{expected}\nactual:\n{actual}"
    for want, got in zip(expected, actual, strict=True):
        want_cells, got_cells = cells(substitute(want.rstrip(), mapping)), cells(got.rstrip())
        assert len(want_cells) == len(got_cells), f"{want!r} vs {got!r}"
        for w, g in zip(want_cells, got_cells, strict=True):
            if w == g:
                continue
            assert VOLATILE.match(w) and VOLATILE.match(g), f"{w!r} became {g!r} in {got!r}"
            mapping[w] = g


def run_section(server, section, shell_env: dict) -> None:
    mapping: dict[str, str] = {
        "http://127.0.0.1:9001": server.admin_url,
        "http://127.0.0.1:9000": server.public_url,
    }
    for command, expected in console_steps(section):
        command = substitute(command, mapping)
        assignment = re.fullmatch(r"(\w+)=(\S+)", command)
        if assignment:
            shell_env[assignment.group(1)] = assignment.group(2)
            continue
        result = subprocess.run(
            ["bash", "-c", command],
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        compare(expected, result.stdout.rstrip("\n").splitlines(), mapping)


def shell_environment(server) -> dict:
    """The reader's shell: `authserver` on PATH, times printed in UTC as in the README."""
    env = {**os.environ, "TZ": "UTC"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("ORY_SDK_URL", None)
    return env


def test_readme_client_credentials_walkthrough_runs_as_written(server):
    run_section(server, SECTIONS[0], shell_environment(server))


def test_readme_2019_guide_commands_run_as_written(server):
    # The 2019 block creates the fixed id "some-consumer": once per server.
    response = subprocess.run(
        [
            "bash",
            "-c",
            f"curl -s -o /dev/null -w '%{{http_code}}' "
            f"{server.admin_url}/admin/clients/some-consumer",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if response.stdout == "200":
        subprocess.run(
            ["bash", "-c", f"curl -s -X DELETE {server.admin_url}/admin/clients/some-consumer"],
            check=True,
        )
    run_section(server, SECTIONS[1], shell_environment(server))
