"""``--compare``: the shared harness's oidc-provider server on 127.0.0.1:9400 as a yardstick.

A server that is already running (its PID file in ``$BENCH_HOME``, default
``/tmp/oauth2-bench``) is used as it is and left running; otherwise it is started with the
harness's ``start-server.sh`` (pinned like ours) and stopped again at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.wrk import Endpoints

URL = "http://127.0.0.1:9400"
ENDPOINTS = Endpoints(
    label="oidc-provider",
    token_url=URL + "/token",
    introspect_url=URL + "/token/introspection",
    introspect_auth="basic",
)


def _home() -> Path:
    return Path(os.environ.get("BENCH_HOME", "/tmp/oauth2-bench"))  # noqa: S108 - the harness's


def _responds() -> bool:
    try:
        with urllib.request.urlopen(URL + "/.well-known/openid-configuration", timeout=3) as r:  # noqa: S310
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _pid_from_file() -> int | None:
    try:
        pid = int((_home() / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"oidc-provider-server" in cmdline else None


@dataclass
class Baseline:
    pid: int | None
    started_here: bool

    @classmethod
    def ensure(cls, harness: Path, pin_cpus: str | None) -> Baseline:
        if _responds():
            return cls(pid=_pid_from_file(), started_here=False)
        if not (harness / "start-server.sh").exists():
            raise RuntimeError(
                f"--compare: nothing answers on {URL} and there is no {harness}/start-server.sh"
            )
        env = dict(os.environ)
        if pin_cpus:
            env["SERVER_CPUS"] = pin_cpus
        try:
            finished = subprocess.run(
                ["bash", str(harness / "start-server.sh"), "pinned" if pin_cpus else "unpinned"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,  # the first start installs oidc-provider with npm
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError("start-server.sh took more than 600 s") from None
        if finished.returncode != 0:
            raise RuntimeError(f"start-server.sh failed: {finished.stderr.strip()[-400:]}")
        deadline = time.monotonic() + 30
        while not _responds():
            if time.monotonic() > deadline:
                raise RuntimeError("oidc-provider did not answer on 127.0.0.1:9400 within 30 s")
            time.sleep(0.2)
        return cls(pid=_pid_from_file(), started_here=True)

    def stop(self) -> None:
        """Only the server this run started, and only if it still is that server."""
        if not self.started_here or self.pid is None or _pid_from_file() != self.pid:
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if Path(f"/proc/{self.pid}").exists():
            os.kill(self.pid, signal.SIGKILL)
