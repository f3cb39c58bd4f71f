"""The README's "Logging out everywhere" section, run as written against a real server (as
``test_readme_modern`` does): its ``$ command`` lines run in a shell, their output is
compared line by line (ids may differ; the README's are then replaced by the real ones)."""

from __future__ import annotations

from tests.integration import test_readme_clients as clients_readme
from tests.integration.test_readme_clients import ASSIGNED, CAPTURED, same_times, shell
from tests.integration.test_readme_walkthrough import (
    compare,
    console_steps,
    shell_environment,
    substitute,
)

HEADING = "## Logging out everywhere: back-channel and front-channel logout"


def test_readme_logout_session_runs_as_written(backend, server_factory, tmp_path):
    server = server_factory(backend, args=("--dev",))
    env = shell_environment(server)
    mapping = {
        "http://127.0.0.1:9001": server.admin_url,
        "http://127.0.0.1:9000": server.public_url,
    }
    steps = console_steps(clients_readme.section(HEADING))
    assert len(steps) >= 5, steps
    for command, expected in steps:
        command = substitute(command, mapping)
        captured, assigned = CAPTURED.fullmatch(command), ASSIGNED.fullmatch(command)
        if captured:
            env[captured.group(1)] = shell(captured.group(2), env, tmp_path).rstrip("\n")
        elif assigned:
            env[assigned.group(1)] = assigned.group(2)
        else:
            actual = shell(command, env, tmp_path).rstrip("\n").splitlines()
            compare(expected, same_times(expected, actual), mapping)
