"""``authserver harness`` as a child process for the tests: started on ports 0, its
URLs read from the ready line it prints."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import authserver_command

READY = re.compile(r"ready in (\d+) ms: issuer (\S+)\s+public (\S+)\s+admin (\S+)")


@dataclass
class HarnessProcess:
    process: subprocess.Popen
    log_path: Path
    issuer: str
    public_url: str
    admin_url: str
    ready_ms: int

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.admin_url + path, **kwargs)

    def public(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.public_url + path, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_harness(config: Path | None, log_path: Path, *args: str, env=None) -> HarnessProcess:
    argv = [*authserver_command(), "harness", "--public-port", "0", "--admin-port", "0", *args]
    if config is not None:
        argv += ["--config", str(config)]
    child_env = {k: v for k, v in os.environ.items() if k not in ("DSN", "SECRETS_SYSTEM")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, env={**child_env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = READY.search(log_path.read_text(errors="replace"))
        if found:
            ready_ms, issuer, public, admin = found.groups()
            return HarnessProcess(
                process, log_path, issuer, public.rstrip("/"), admin.rstrip("/"), int(ready_ms)
            )
        if process.poll() is not None:
            raise AssertionError(f"harness exited: {log_path.read_text(errors='replace')}")
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"harness not ready: {log_path.read_text(errors='replace')}")
