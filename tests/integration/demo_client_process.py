"""Start and stop a real ``demo-client`` process for the integration tests.

``start_demo_client(log_dir, env, args)`` runs the console script on a free port (unless
one is given) with a clean ``DEMO_CLIENT_*`` environment plus ``env``, and waits until
``/healthz`` answers. ``stop()`` sends SIGTERM and returns the exit status.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ManagedProcess, console_command, free_port, wait_alive


def demo_client_command() -> list[str]:
    return console_command("demo-client", "demo_client.cli")


@dataclass(kw_only=True)
class DemoClientProcess(ManagedProcess):
    url: str
    port: int
    env: dict[str, str]


def start_demo_client(
    log_dir: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--register",),
    port: int | None = None,
    timeout: float = 40,
) -> DemoClientProcess:
    port = port or free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_CLIENT_")}
    full_env = {**base_env, "PORT": str(port), **(env or {})}
    log_path = log_dir / f"demo-client-{port}-{time.monotonic_ns()}.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [*demo_client_command(), *args],
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    demo = DemoClientProcess(
        url=f"http://127.0.0.1:{port}", port=port, env=full_env, log_path=log_path, process=process
    )
    if not wait_alive(demo.url, timeout, process, path="/healthz"):
        demo.stop()
        raise AssertionError(f"demo-client did not become ready:\n{demo.log()}")
    return demo
