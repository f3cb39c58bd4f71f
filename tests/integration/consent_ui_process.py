"""Start and stop a real ``consent-ui`` process for integration tests.

ui = start_consent_ui(port, admin_url, log_dir)   # waits until /healthz answers
...
assert ui.stop() == 0                               # SIGTERM, clean exit
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


def consent_ui_command() -> list[str]:
    """The installed console script, or the module run with this interpreter."""
    script = shutil.which("consent-ui", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "consent_ui.cli"]


@dataclass
class ConsentUiProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

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


def start_consent_ui(
    port: int,
    admin_url: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> ConsentUiProcess:
    process_env = {
        **os.environ,
        "HYDRA_ADMIN_URL": admin_url,
        "PORT": str(port),
        "CONSENT_UI_SECRET_KEY": "integration-test-secret-key-0123456789",
        "LOG_LEVEL": "debug",
        **(env or {}),
    }
    log_path = log_dir / f"consent-ui-{port}.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [*consent_ui_command(), *args],
            env=process_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    ui = ConsentUiProcess(f"http://127.0.0.1:{port}", process, log_path)
    if not wait_healthy(ui):
        ui.stop()
        raise AssertionError(f"consent-ui did not become healthy:\n{ui.log()}")
    return ui


def wait_healthy(ui: ConsentUiProcess, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ui.process.poll() is not None:
            return False
        try:
            if requests.get(ui.url + "/healthz", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False
