"""``authserver janitor --tokens`` run beside the load: started, timed, bounded, parsed."""

from __future__ import annotations

import re
import subprocess
import threading
import time

TIMEOUT_S = 900


class JanitorRun:
    """The janitor as a child process; a thread collects its output and its wall time."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.command = command
        self._outcome: dict = {"timed_out": False}
        self._process = subprocess.Popen(  # noqa: S603 - our own argv
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        try:
            out, err = self._process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            out, err = self._process.communicate()
            self._outcome["timed_out"] = True
        self._outcome.update(out=out, err=err, elapsed=time.monotonic() - self._started)

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._thread.join(10)

    def wait(self) -> dict:
        """Exit status, rows removed per kind (its own report), wall seconds (CLI start-up
        included), and the end of its stderr."""
        self._thread.join(TIMEOUT_S + 30)
        out = self._outcome.get("out") or ""
        return {
            "command": self.command,
            "exit": self._process.returncode,
            "timed_out": self._outcome["timed_out"],
            "removed": {
                m.group(1): int(m.group(2))
                for m in re.finditer(r"^(.+?): (\d+) removed$", out, re.M)
            },
            "elapsed_s": round(self._outcome.get("elapsed", 0.0), 2),
            "stderr": (self._outcome.get("err") or "").strip()[-400:],
        }
