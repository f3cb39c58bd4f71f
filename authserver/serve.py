"""``authserver serve``: the public and/or admin app on waitress; SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import ctypes
import errno
import logging
import socket
import sys
import time
from dataclasses import dataclass, replace

from sqlalchemy.exc import SQLAlchemyError

from authserver.admin.app import create_admin_app
from authserver.config import Settings, is_loopback_host
from authserver.oauth2.keys import UndecryptableKey
from authserver.public.app import create_public_app
from authserver.services import Services, build_services, database_for
from authserver.storage import migrations
from authserver.storage.database import is_unavailable, pool_size_from_dsn

log = logging.getLogger("authserver.serve")

DATABASE_WAIT_SECONDS = 30
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


class StartupError(Exception):
    """A reason not to start, printed as one line."""


def prepare(settings: Settings, processes: int | None = None, threads: int = 8) -> Services:
    """Build the services, make sure the schema is current and the signing keys exist.

    ``processes``: when given, size each process's connection pool for that many serving
    processes of ``threads`` threads each (``plan_pool``); the returned services' settings
    carry the size, for the processes to start."""
    services = build_services(settings)
    _wait_for_database(services)
    if processes is not None and services.database.dialect == "postgresql":
        size = plan_pool(services.database, settings.dsn, processes, threads)
        if size != services.database.engine.pool.size():
            services.close()
            planned = replace(settings, database_pool_size=size)
            services = replace(services, settings=planned, database=database_for(planned))
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


def plan_pool(database, dsn: str, processes: int, threads: int) -> int:
    """Connections each serving process may hold.

    A thread holds at most one connection, so ``threads`` is all a process needs. Hydra's
    ``max_conns`` in the DSN is the budget of the whole ``serve`` command, shared by its
    processes. Either way the total must fit the server's connection slots, else the
    server refuses connections and requests fail; the pool is shrunk to fit (requests
    then queue for a connection, up to DATABASE_POOL_TIMEOUT) and a warning says so."""
    budget = pool_size_from_dsn(dsn)
    size = max(1, budget // processes) if budget else threads
    if budget and budget < processes:
        log.warning(
            "DSN max_conns=%d is less than the %d server processes: each gets one connection",
            budget,
            processes,
        )
    slots = database.connection_slots()
    if slots is None:
        return size
    # Each process also keeps one connection for readiness checks; leave two slots for
    # migrations, the janitor and an operator's psql.
    fitting = max(1, (slots - 2) // processes - 1)
    if size > fitting:
        log.warning(
            "PostgreSQL has %d connection slots for %d process(es) of %d thread(s): each "
            "process gets %d connection(s) instead of %d; requests wait for a free one "
            "(raise max_connections, or see docs/scaling.md)",
            slots,
            processes,
            threads,
            fitting,
            size,
        )
        size = fitting
    return size


def _wait_for_database(services: Services) -> None:
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            services.database.ping()
            return
        except SQLAlchemyError as exc:
            if not is_unavailable(exc):
                raise
            if time.monotonic() > deadline:
                services.close()
                reason = getattr(exc, "orig", None) or exc
                raise StartupError(
                    f"cannot reach the database ({reason.__class__.__name__}); check DSN"
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
    _warn_about_exposure(settings, which)
    # Granian runs one server per API, each with ``workers`` processes.
    processes = workers * (2 if server == "granian" and which == "all" else 1)
    try:
        services = prepare(settings, processes=processes, threads=threads)
    except StartupError as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"authserver: database error at start-up: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    settings = services.settings  # with the planned pool size
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


def _warn_about_exposure(settings: Settings, which: str) -> None:
    """The admin API has no authentication of its own: say so when it is reachable from
    other machines (compose does this on purpose, inside its private network)."""
    if which == "public" or is_loopback_host(settings.admin_host):
        return
    message = (
        f"WARNING: the admin API listens on {settings.admin_host}:{settings.admin_port}, "
        "reachable from other machines, and it has no authentication: whoever reaches it "
        "can create clients, accept logins and read tokens. Bind it to 127.0.0.1 "
        "(SERVE_ADMIN_HOST) or keep it behind a private network or an authenticating proxy."
    )
    log.warning(message)
    print(f"authserver: {message}", file=sys.stderr, flush=True)


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
    """Serve the listeners' apps on waitress until SIGTERM or SIGINT (``waitress_serve``)."""
    from authserver.waitress_serve import serve_forever as serve_on_waitress

    return_large_blocks_to_the_system()
    apps = {"public": create_public_app, "admin": create_admin_app}
    built = {listener.name: apps[listener.name](services) for listener in listeners}
    return serve_on_waitress(built, listeners, threads, on_stopped=services.close)
