"""Start and stop a real ``consent-ui`` process for integration tests.

ui = start_consent_ui(port, admin_url, log_dir)   # waits until /healthz answers
...
assert ui.stop() == 0                               # SIGTERM, clean exit
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ManagedProcess, console_command, wait_alive


def consent_ui_command() -> list[str]:
    return console_command("consent-ui", "consent_ui.cli")


@dataclass(kw_only=True)
class ConsentUiProcess(ManagedProcess):
    url: str


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
    ui = ConsentUiProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    if not wait_healthy(ui):
        ui.stop()
        raise AssertionError(f"consent-ui did not become healthy:\n{ui.log()}")
    return ui


def wait_healthy(ui: ConsentUiProcess, timeout: float = 30) -> bool:
    return wait_alive(ui.url, timeout, ui.process, path="/healthz")
