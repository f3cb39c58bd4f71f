"""``serve --server granian``: the APIs on Granian (a WSGI server written in Rust).

waitress parses HTTP in Python; on the token and introspection paths that is about a
fifth of the CPU a request costs. Granian does that work in Rust and releases the GIL
meanwhile. It runs one server (a main process and ``workers`` worker processes) per port,
so ``serve all`` starts two: one for the public and one for the admin API. Each worker
builds its own services from the same configuration (see ``authserver.runtime.wsgi``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from authserver.config import Settings
from authserver.runtime.processes import end_with_parent, stop_children
from authserver.runtime.wsgi import CONFIG_ENV, DEV_ENV, MAIN_PID_ENV, POOL_SIZE_ENV, STOP_FLAG_ENV

log = logging.getLogger("authserver.granian")

STOP_GRACE_SECONDS = 20
ANNOUNCE_SECONDS = 1.0  # responses say "Connection: close" this long before Granian stops
READY_TIMEOUT_SECONDS = 60


def available() -> bool:
    try:
        import granian  # noqa: F401 (only whether it is installed; imported when serving)
    except ImportError:
        return False
    return True


def run_granian(
    settings: Settings, listeners, threads: int, workers: int, config_file: str | None
) -> int:
    """Serve each listener's API on its own Granian server; return the exit status."""
    for listener in listeners:
        listener.socket.close()  # Granian binds the port itself
    os.environ[DEV_ENV] = "1" if settings.dev else ""
    if settings.database_pool_size:
        os.environ[POOL_SIZE_ENV] = str(settings.database_pool_size)
    if config_file:
        os.environ[CONFIG_ENV] = os.path.abspath(config_file)
    flag_dir = tempfile.mkdtemp(prefix="authserver-granian-")
    stop_flag = os.path.join(flag_dir, "stopping")
    os.environ[STOP_FLAG_ENV] = stop_flag
    children = {}
    supervisor = os.getpid()
    for listener in listeners:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # Killed supervisor: tell the workers too (a worker that was still starting
                # when Granian told it to stop has missed that signal; see runtime.wsgi).
                end_with_parent(supervisor, on_gone=Path(stop_flag).touch)
                os.environ[MAIN_PID_ENV] = str(os.getpid())  # its workers end with it
                code = _serve_one(listener, threads, workers, settings.log_level)
            finally:
                os._exit(code)
        children[pid] = listener.name
    stopping = {"flag": False}

    def _stop(_signum, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"authserver is ready (granian, {workers} worker(s) per API)", file=sys.stderr, flush=True
    )
    status = 0
    while children and not stopping["flag"]:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            log.error("the granian server for the %s API exited", children.pop(pid))
            status = 1
            break
        time.sleep(0.2)
    if children:
        Path(stop_flag).touch()  # the workers' responses now say "Connection: close"
        time.sleep(ANNOUNCE_SECONDS)
    stop_children(set(children), STOP_GRACE_SECONDS)
    shutil.rmtree(flag_dir, ignore_errors=True)
    return status


def _wait_listening(listeners, children, timeout: float = READY_TIMEOUT_SECONDS) -> bool:
    """Wait until every port accepts connections (or a server died)."""
    deadline = time.monotonic() + timeout
    pending = list(listeners)
    while pending and time.monotonic() < deadline:
        listener = pending[0]
        try:
            with socket.create_connection((listener.host, listener.port), timeout=1):
                pending.pop(0)
        except OSError:
            if any(os.waitpid(pid, os.WNOHANG)[0] for pid in children):
                return False
            time.sleep(0.1)
    return not pending


def _serve_one(listener, threads: int, workers: int, log_level: str) -> int:
    # Granian is imported by the process that runs it: an optional dependency.
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        f"authserver.runtime.wsgi:{listener.name}_app",
        factory=True,
        address=listener.host,
        port=listener.port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        websockets=False,
        log_enabled=log_level in ("trace", "debug", "info"),
        respawn_failed_workers=True,
    )
    server.serve()
    return 0
