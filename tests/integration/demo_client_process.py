"""Start and stop a real ``demo-client`` process for the integration tests.

``start_demo_client(log_dir, env, args)`` runs the console script on a free port (unless
one is given) with a clean ``DEMO_CLIENT_*`` environment plus ``env``, and waits until
``/healthz`` answers. ``stop()`` sends SIGTERM and returns the exit status.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import free_port


def demo_client_command() -> list[str]:
    script = shutil.which("demo-client", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "demo_client.cli"]


@dataclass
class DemoClientProcess:
    url: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                raise
        return self.process.returncode


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
    demo = DemoClientProcess(f"http://127.0.0.1:{port}", port, full_env, log_path, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo-client exited with {process.returncode}:\n{demo.log()}")
        try:
            if requests.get(demo.url + "/healthz", timeout=1).status_code == 200:
                return demo
        except requests.RequestException:
            pass
        time.sleep(0.1)
    demo.stop()
    raise AssertionError(f"demo-client did not become ready:\n{demo.log()}")
