"""``serve --workers N``: N server processes on the same ports, one supervisor.

Each worker is a whole, stateless authserver process (its own database pool, key cache
and client cache; all state lives in the database), so CPU-bound work runs on N cores
instead of one interpreter's. The supervisor holds the ports bound (SO_REUSEPORT, not
listening) so that no other program can take them; every worker binds its own listening
socket to them and the kernel spreads new connections across the workers.

The supervisor restarts a worker that dies, gives up (exit 1) when workers keep dying
right after they start, and on SIGTERM/SIGINT stops them all (SIGTERM, then SIGKILL
after a grace period).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from authserver import tracing
from authserver.config import Settings
from authserver.metrics import forget_process
from authserver.runtime.processes import end_with_parent, stop_children
from authserver.runtime.sockets import Listener, bind_socket
from authserver.runtime.waitress_server import serve_services
from authserver.services import build_services

log = logging.getLogger("authserver.workers")

READY_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 15
QUICK_DEATH_SECONDS = 5  # a worker that dies sooner than this after starting failed to start
MAX_QUICK_DEATHS = 5


class Supervisor:
    def __init__(self, settings: Settings, which: str, listeners, threads: int, workers: int):
        self.settings = settings
        self.which = which
        self.listeners = listeners
        self.threads = threads
        self.count = workers
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (slot, started at)
        self.stopping = False
        self.quick_deaths = 0

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        ready_read, ready_write = os.pipe()
        for slot in range(self.count):
            self._spawn(slot, ready_write)
        if not self._wait_ready(ready_read, self.count):
            self._stop_children()
            print("authserver: workers did not start", file=sys.stderr, flush=True)
            return 1
        print(
            f"authserver {self.which} is ready ({self.count} workers)", file=sys.stderr, flush=True
        )
        status = self._supervise(ready_write)
        self._stop_children()
        for listener in self.listeners:
            listener.socket.close()
        return status

    def _spawn(self, slot: int, ready_write: int) -> None:
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                end_with_parent(supervisor)
                code = _worker_main(self, slot, ready_write)
            except BaseException:  # noqa: BLE001 (the child must never return into the parent)
                log.exception("worker %d failed", slot + 1)
            finally:
                tracing.stop()  # os._exit runs no atexit: send the spans still queued
                os._exit(code)
        self.children[pid] = (slot, time.monotonic())

    def _wait_ready(self, ready_read: int, expected: int) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        received = 0
        os.set_blocking(ready_read, False)
        while received < expected and time.monotonic() < deadline and not self.stopping:
            try:
                received += len(os.read(ready_read, 64))
            except BlockingIOError:
                time.sleep(0.05)
            if self._reap():
                return False  # a worker died before it was ready
        return received >= expected

    def _supervise(self, ready_write: int) -> int:
        while not self.stopping:
            time.sleep(0.5)
            for slot in self._reap():
                if self.quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("workers keep exiting right after they start; giving up")
                    return 1
                log.warning("worker %d exited; starting a new one", slot + 1)
                self._spawn(slot, ready_write)
        return 0

    def _reap(self) -> list[int]:
        """Collect exited workers; return their slots."""
        dead = []
        while self.children:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            slot, started = self.children.pop(pid, (None, 0.0))
            if slot is None:
                continue
            forget_process(pid)  # its gauges (a pool it no longer has) stop counting
            if time.monotonic() - started < QUICK_DEATH_SECONDS:
                self.quick_deaths += 1
            dead.append(slot)
        return dead

    def _request_stop(self, _signum, _frame) -> None:
        self.stopping = True

    def _stop_children(self) -> None:
        stop_children(set(self.children), STOP_GRACE_SECONDS)
        self.children.clear()


def _worker_main(supervisor: Supervisor, slot: int, ready_write: int) -> int:
    for listener in supervisor.listeners:
        listener.socket.close()  # the supervisor's placeholders; bind our own below
    own = []
    for listener in supervisor.listeners:
        sock = bind_socket(listener.host, listener.port, reuse_port=True)
        sock.listen(1024)
        own.append(Listener(listener.name, listener.host, listener.port, sock))
    services = build_services(supervisor.settings)
    os.write(ready_write, b"r")
    log.info("worker %d (pid %d) serving", slot + 1, os.getpid())
    return serve_services(services, own, supervisor.threads)
