"""Client-side deadlines for PostgreSQL, and a cheap check that a pooled connection lives.

A server-side ``statement_timeout`` cannot help when the server itself is frozen (stopped,
swapped out, a hung disk, a network that drops packets): the kernel may still accept and
acknowledge our bytes while nothing ever answers. psycopg then waits forever, holding a
worker thread. So every blocking wait of a connection is armed with a deadline; a
watchdog thread shuts down the socket of a connection whose wait outlives it. libpq then
sees the connection end, psycopg raises ``OperationalError``, SQLAlchemy drops the
connection from the pool, and the request answers 503.

``is_socket_dead`` is the pool's check at checkout: a connection the server closed
(restart, failover, idle timeout) has its end-of-file, or the server's farewell
message, waiting to be read; an idle live connection has nothing to read. One
non-blocking ``poll`` instead of a ``SELECT 1`` round trip per request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time

from authserver.repeats import RepeatedLog

log = logging.getLogger(__name__)
_repeated = RepeatedLog(log)


class Watchdog:
    """Shuts down the sockets of waits that outlived their deadline."""

    def __init__(self, tick: float = 0.1):
        self._tick = tick
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, int, float]] = {}  # token -> (due, fd, seconds)
        self._next_token = 0
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> int:
        due = time.monotonic() + seconds
        with self._lock:
            self._next_token += 1
            token = self._next_token
            self._armed[token] = (due, fd, seconds)
            if self._thread is None:  # started with the first wait (after any fork)
                self._thread = threading.Thread(
                    target=self._run, name="authserver-db-watchdog", daemon=True
                )
                self._thread.start()
        return token

    def after_fork(self) -> None:
        """In a forked child: no watchdog thread survived the fork (the next wait starts
        one), and the parent's armed waits are not the child's."""
        self._lock = threading.Lock()
        self._armed = {}
        self._thread = None

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(self._tick)
            now = time.monotonic()
            with self._lock:  # disarm waits, so a socket is never cut after its wait ended
                overdue = [token for token, (due, _, _) in self._armed.items() if due <= now]
                for token in overdue:
                    _, fd, seconds = self._armed.pop(token)
                    _cut(fd)
                    _repeated.log(
                        logging.WARNING,
                        "database wait",
                        "the database did not answer within %.1f s: connection aborted",
                        seconds,
                    )


def _cut(fd: int) -> None:
    """Shut the socket down (both ways) without closing libpq's descriptor."""
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=os.dup(fd))
        with duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()
os.register_at_fork(after_in_child=WATCHDOG.after_fork)


def deadline_connection_class(base):
    """A subclass of psycopg's ``Connection`` whose every wait has a deadline
    (``deadline_seconds``, set on each connection after it is made)."""

    class DeadlineConnection(base):
        deadline_seconds: float = 10.0

        def wait(self, *args, **kwargs):
            token = WATCHDOG.arm(self.pgconn.socket, self.deadline_seconds)
            try:
                return super().wait(*args, **kwargs)
            finally:
                WATCHDOG.disarm(token)

    return DeadlineConnection


def is_socket_dead(fd: int) -> bool:
    """True when an idle connection has something to read: the server's goodbye or EOF."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True
