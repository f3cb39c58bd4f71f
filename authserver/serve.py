"""``authserver serve``: the public and/or admin app on waitress; SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import ctypes
import errno
import logging
import signal
import socket
import sys
import time
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from waitress import wasyncore
from waitress.server import create_server
from waitress.task import ThreadedTaskDispatcher

from authserver.admin.app import create_admin_app
from authserver.config import Settings
from authserver.oauth2.keys import UndecryptableKey
from authserver.public.app import create_public_app
from authserver.services import Services, build_services
from authserver.storage import migrations

log = logging.getLogger("authserver.serve")

DATABASE_WAIT_SECONDS = 30
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
SHUTDOWN_GRACE_SECONDS = 10


class StartupError(Exception):
    """A reason not to start, printed as one line."""


def prepare(settings: Settings) -> Services:
    """Build the services, make sure the schema is current and the signing keys exist."""
    services = build_services(settings)
    _wait_for_database(services)
    if settings.is_memory_database:
        migrations.upgrade(services.database)  # nothing persists, so migrate every start
    elif not migrations.is_current(services.database):
        try:
            pending = migrations.pending_revisions(services.database)
        except migrations.UnknownRevision as exc:
            services.close()
            raise StartupError(str(exc)) from None
        if pending:
            services.close()
            raise StartupError(
                f"the database schema is not up to date ({len(pending)} migration(s) pending); "
                "run `authserver migrate sql --yes -e` first"
            )
    try:
        services.ensure_keys()
    except UndecryptableKey as exc:
        services.close()
        raise StartupError(str(exc)) from None
    return services


def _wait_for_database(services: Services) -> None:
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            services.database.ping()
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                services.close()
                raise StartupError(
                    f"cannot reach the database ({exc.orig.__class__.__name__}); check DSN"
                ) from None
            log.warning("database not reachable yet, retrying")
            time.sleep(1)


def run(
    settings: Settings,
    which: str,
    threads: int = 8,
    workers: int = 1,
    server: str = "waitress",
    config_file: str | None = None,
) -> int:
    for warning in settings.warnings:
        log.warning(warning)
    if workers > 1 and settings.is_memory_database:
        print(
            "authserver: --workers needs a database the workers share; "
            "DSN=memory lives inside one process",
            file=sys.stderr,
        )
        return 2
    try:
        services = prepare(settings)
    except StartupError as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"authserver: database error at start-up: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    try:
        listeners = open_listeners(settings, which, shared=workers > 1)
    except ListenError as exc:
        services.close()
        print(f"authserver: {exc}", file=sys.stderr)
        return 1
    if server == "granian":
        from authserver.granian_serve import run_granian

        services.close()
        return run_granian(settings, listeners, threads, workers, config_file)
    if workers > 1:
        from authserver.workers import Supervisor

        services.close()  # every worker opens its own connections after the fork
        return Supervisor(settings, which, listeners, threads, workers).run()
    print(f"authserver {which} is ready", file=sys.stderr, flush=True)
    return serve_forever(services, which, listeners, threads)


def return_large_blocks_to_the_system() -> None:
    """glibc raises its mmap threshold after a large block is freed, so later 19 MiB argon2
    buffers come from per-thread heaps that never shrink: a server would keep ~19 MiB per
    thread that ever hashed. A fixed threshold keeps such blocks in mmap, returned on free."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


class ListenError(Exception):
    """A port that cannot be listened on, as one line."""


@dataclass
class Listener:
    name: str  # "public" or "admin"
    host: str
    port: int
    socket: socket.socket


def open_listeners(settings: Settings, which: str, shared: bool = False) -> list[Listener]:
    """Bind the API ports before serving, so a port in use is reported at once.

    ``shared``: the sockets get SO_REUSEPORT and are not listened on here; each worker
    process then binds its own socket to the same port and the kernel spreads incoming
    connections over the workers (a socket inherited by all of them would let whichever
    worker wakes first take every keep-alive connection)."""
    wanted = []
    if which in ("all", "public"):
        wanted.append(("public", settings.public_host, settings.public_port))
    if which in ("all", "admin"):
        wanted.append(("admin", settings.admin_host, settings.admin_port))
    listeners: list[Listener] = []
    try:
        for name, host, port in wanted:
            listeners.append(Listener(name, host, port, bind_socket(host, port, shared)))
            if not shared:
                listeners[-1].socket.listen(1024)
    except OSError as exc:
        for listener in listeners:
            listener.socket.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"port {port} ({name} API) is already in use") from None
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return listeners


def bind_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(info[4])
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(services: Services, which: str, listeners: list[Listener], threads: int) -> int:
    """Serve the listeners' apps on one waitress dispatcher until SIGTERM or SIGINT."""
    return_large_blocks_to_the_system()
    socket_map: dict = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    apps = {"public": create_public_app, "admin": create_admin_app}
    for listener in listeners:
        create_server(
            apps[listener.name](services),
            map=socket_map,
            _dispatcher=dispatcher,
            sockets=[listener.socket],
            ident="authserver",
            threads=threads,
            channel_timeout=60,
        )
        log.info("%s API listening on http://%s:%s/", listener.name, listener.host, listener.port)

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        wasyncore.loop(timeout=1.0, map=socket_map, use_poll=True)
    except SystemExit:
        pass
    finally:
        log.info("shutting down")
        # Stop accepting, let running requests finish (bounded), then release the database.
        for channel in list(socket_map.values()):
            if getattr(channel, "accepting", False):
                channel.close()
        dispatcher.shutdown(cancel_pending=True, timeout=SHUTDOWN_GRACE_SECONDS)
        wasyncore.close_all(socket_map)
        services.close()
    return 0
