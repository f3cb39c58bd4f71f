"""The APIs on waitress (the default server), with what waitress lacks:

* **Its own error answers in our format.** A request waitress cannot parse (a bad request
  line, headers too large, a malformed chunked body) gets our JSON error with a request
  id and an access log line, not waitress' text/plain page.
* **A lane of its own for ``/health/alive``.** Liveness is answered by two reserved
  threads, so a probe is answered at once even when every worker thread waits on a
  frozen database (a liveness probe must not restart a server that is only waiting).
* **A graceful stop.** On SIGTERM: accept the connections already queued, stop
  listening, let every request that was received (or arrives on an open connection
  meanwhile) finish with ``Connection: close``, close connections once they are idle,
  then stop the threads. waitress' own shutdown resets queued and keep-alive requests.
* **Answers that arrive.** A connection the server closes first reads what the client
  still sends (a lingering close), so the kernel does not reset it and destroy the
  answer; a chunk announced larger than any body we accept is refused at once; an
  answer to HEAD never carries a body.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import create_server
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

from authserver.admin.app import create_admin_app
from authserver.public.app import create_public_app
from authserver.runtime.boot import return_large_blocks_to_the_system
from authserver.services import Services
from authserver.web.errors import NO_STORE_HEADERS, error_json
from authserver.web.logs import log_access_as, request_id_for

log = logging.getLogger("authserver.serve")

ALIVE_PATHS = frozenset({"/health/alive", "/admin/health/alive"})
ALIVE_THREADS = 2
DRAIN_SECONDS = 10  # longest a stop waits for requests in progress
IDLE_BEFORE_CLOSE = 0.5  # a connection this quiet during a stop is closed
LINGER_SECONDS = 2.0  # how long a closing connection reads what the client still sends
# Larger than any body the apps accept (they answer 413 themselves below it); a body
# beyond it is refused before it is buffered.
MAX_BODY_BYTES = 2 * 1024 * 1024


class JsonErrorTask(ErrorTask):
    """waitress' answer to a request it could not parse, as our JSON error."""

    def execute(self):
        error = self.request.error
        request_id = request_id_for(None)
        description = f"{error.reason}: {error.body}" if error.body else error.reason
        code = "invalid_request"  # 400, 413 or 431: the request could not be read
        if error.code >= 500:
            code, description = "server_error", "The request could not be read."
        body = error_json(code, description)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [
                ("Content-Type", "application/json"),
                *NO_STORE_HEADERS.items(),
                ("X-Request-Id", request_id),
            ]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        if _method(self.request) == "HEAD":
            self.response_headers.append(("Content-Length", str(len(body))))
            body = b""  # the headers of the answer, without its body (RFC 9110 §9.3.2)
        self.write(body)
        log_access_as(
            request_id,
            _method(self.request) or "-",
            getattr(self.request, "path", None) or "-",
            error.code,
            (time.time() - self.start_time) * 1000,
            self.channel.addr[0] if self.channel.addr else None,
        )


def _method(request) -> str | None:
    """The request's method, even when parsing stopped before waitress set it (a bad
    header is found before the request line is taken apart)."""
    method = getattr(request, "command", None)
    if method is None:
        first_line = getattr(request, "first_line", b"") or b""
        method = first_line.split(b" ", 1)[0].decode("latin-1") or None
    return method


class StoppableTask(WSGITask):
    """Once the server is stopping, every response closes its connection."""

    def build_response_header(self):
        if getattr(self.channel.server, "draining", False) and not self.close_on_finish:
            self.set_close_on_finish()
        return super().build_response_header()


class BoundedChunks(ChunkedReceiver):
    """A chunked body whose announced chunk size is over the limit is refused at once
    (waitress would wait for those bytes until the connection times out)."""

    def __init__(self, buf, limit: int):
        super().__init__(buf)
        self._limit = limit

    def received(self, s):
        consumed = super().received(s)
        if self.chunk_remainder > self._limit and not self.error:
            self.error = RequestEntityTooLarge(f"a chunk exceeds max_body of {self._limit}")
            self.all_chunks_received = True
        return consumed


class Parser(HTTPRequestParser):
    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        if isinstance(self.body_rcv, ChunkedReceiver):
            self.body_rcv = BoundedChunks(self.body_rcv.buf, self.adj.max_request_body_size)


class Channel(HTTPChannel):
    """A connection. When the server closes it (after an error, or ``Connection: close``)
    it first half-closes and reads what the client is still sending, for a moment: closing
    a socket with unread bytes makes the kernel send a reset that destroys the response
    not yet delivered (a 431 for a huge header would never arrive)."""

    error_task_class = JsonErrorTask
    task_class = StoppableTask
    parser_class = Parser
    linger_until: float | None = None

    def handle_close(self):
        if self.linger_until is not None or self.requests or not self.connected:
            return self.close_now()
        try:
            self.socket.shutdown(socket.SHUT_WR)  # the response is flushed: send FIN
        except OSError:
            return self.close_now()
        self.linger_until = time.monotonic() + LINGER_SECONDS
        self.will_close = self.close_when_flushed = False
        return None

    def close_now(self):
        return super().handle_close()

    def readable(self):
        return True if self.linger_until is not None else super().readable()

    def writable(self):
        return False if self.linger_until is not None else super().writable()

    def handle_read(self):
        if self.linger_until is None:
            return super().handle_read()
        try:
            data = self.socket.recv(65536)  # discarded: the answer was already sent
        except OSError:
            data = b""
        if not data or time.monotonic() > self.linger_until:
            self.close_now()
        return None

    def linger_expired(self, now: float) -> bool:
        return self.linger_until is not None and now > self.linger_until

    def is_idle(self, now: float) -> bool:
        """Nothing received, running or waiting to be sent, for a while."""
        return (
            not self.requests
            and self.request is None
            and not self.total_outbufs_len
            and now - self.last_activity >= IDLE_BEFORE_CLOSE
            and not _has_unread_bytes(self.socket)
        )


def _has_unread_bytes(sock) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return False


class Lanes:
    """Route each request to the worker threads, or liveness to its reserved threads."""

    def __init__(self, threads: int):
        self.workers = ThreadedTaskDispatcher()
        self.workers.set_thread_count(threads)
        self.alive = ThreadedTaskDispatcher()
        self.alive.set_thread_count(ALIVE_THREADS)

    def add_task(self, channel) -> None:
        request = channel.requests[0] if channel.requests else None
        if (
            getattr(request, "command", None) == "GET"
            and getattr(request, "path", None) in ALIVE_PATHS
        ):
            self.alive.add_task(channel)
        else:
            self.workers.add_task(channel)

    def shutdown(self, timeout: float) -> None:
        self.workers.shutdown(cancel_pending=True, timeout=timeout)
        self.alive.shutdown(cancel_pending=True, timeout=1)


def serve_services(services: Services, listeners, threads: int) -> int:
    """Serve the listeners' apps (built on ``services``) until SIGTERM or SIGINT; close
    the services once stopped."""
    return_large_blocks_to_the_system()
    apps = {"public": create_public_app, "admin": create_admin_app}
    built = {listener.name: apps[listener.name](services) for listener in listeners}
    services.start_background_work()
    return serve_forever(built, listeners, threads, on_stopped=services.close)


def serve_forever(
    apps: dict, listeners, threads: int, on_stopped, stop: threading.Event | None = None
) -> int:
    """Serve each listener's app until SIGTERM or SIGINT (or, when given, until ``stop``
    is set: a server in a thread of another program, the test harness's); then drain
    and return 0."""
    socket_map: dict = {}
    lanes = Lanes(threads)
    servers = []
    for listener in listeners:
        server = create_server(
            apps[listener.name],
            map=socket_map,
            _dispatcher=lanes.workers,
            sockets=[listener.socket],
            ident="authserver",
            threads=threads,
            channel_timeout=60,
            # waitress would drop X-Forwarded-Proto; web.transport decides whom to trust
            # (SERVE_TLS_ALLOW_TERMINATION_FROM) and nothing else reads these headers.
            clear_untrusted_proxy_headers=False,
            max_request_body_size=MAX_BODY_BYTES,
        )
        server.channel_class = Channel
        server.draining = False
        server.add_task = lanes.add_task
        servers.append(server)
        log.info("%s API listening on http://%s:%s/", listener.name, listener.host, listener.port)

    if stop is None:
        stop = _stop_on_signals()
    while not stop.is_set():
        wasyncore.loop(timeout=0.25, map=socket_map, use_poll=True, count=1)
        _end_lingering(socket_map)
    log.info("shutting down: finishing the requests in progress")
    _drain(servers, socket_map, deadline=time.monotonic() + DRAIN_SECONDS)
    lanes.shutdown(timeout=2)
    wasyncore.close_all(socket_map)
    on_stopped()
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _stop(_signum, _frame):
        # Only a flag: the loop notices within its poll timeout. (Waking it through
        # waitress' trigger could deadlock on the trigger's lock inside a handler.)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def _drain(servers, socket_map, deadline: float) -> None:
    for server in servers:
        _accept_queued(server)
        server.draining = True
        server.close()  # stop listening
    while time.monotonic() < deadline:
        now = time.time()
        channels = [item for item in socket_map.values() if isinstance(item, Channel)]
        for channel in channels:
            if channel.linger_until is None and channel.is_idle(now) and not channel.will_close:
                channel.close_now()  # nothing unread: no reset, no need to linger
        _end_lingering(socket_map)
        if not any(isinstance(item, Channel) for item in socket_map.values()):
            return
        wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
    log.warning("stopped with requests still in progress after %d s", DRAIN_SECONDS)


def _end_lingering(socket_map) -> None:
    now = time.monotonic()
    for channel in list(socket_map.values()):
        if isinstance(channel, Channel) and channel.linger_expired(now):
            channel.close_now()


def _accept_queued(server) -> None:
    """Take the connections the kernel has already completed: closing the listening
    socket would reset them."""
    server.socket.setblocking(False)
    for _ in range(10_000):
        try:
            conn, addr = server.socket.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        server.set_socket_options(conn)
        Channel(server, conn, server.fix_addr(addr), server.adj, map=server._map)
