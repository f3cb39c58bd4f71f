"""What every serving process does before it serves: build the services, wait for the
database, size the connection pool, check the schema, make the signing keys (``prepare``);
keep malloc from hoarding argon2's buffers; warn when the admin API is exposed."""

from __future__ import annotations

import ctypes
import logging
import sys
import time
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from authserver import tracing
from authserver.config import Settings, is_loopback_host
from authserver.oauth2.keys import UndecryptableKey
from authserver.services import Services, build_services
from authserver.storage import migrations
from authserver.storage.database import connect_failure, is_unavailable, pool_size_from_dsn

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
    try:
        tracing.start(settings)
    except tracing.TracingError as exc:
        raise StartupError(str(exc)) from None
    services = build_services(settings)
    _wait_for_database(services)
    if processes is not None and services.database.dialect == "postgresql":
        size = plan_pool(services.database, settings.dsn, processes, threads)
        if size != services.database.engine.pool.size():
            services.close()
            planned = replace(settings, database_pool_size=size)
            services = build_services(planned)
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
    tracing.instrument(services.database.engine)
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
    """Wait while the database may still be starting (compose starts everything at once);
    stop at once when waiting cannot help (a wrong role or password, a missing database or
    SQLite directory). The driver's reason is shown on the first failure and on change."""
    dsn = services.settings.dsn
    started = time.monotonic()
    shown = None
    while True:
        try:
            services.database.ping()
            return
        except SQLAlchemyError as exc:
            if not is_unavailable(exc):
                raise
            failure = connect_failure(exc, dsn)
            waited = time.monotonic() - started
            if failure.permanent or waited > DATABASE_WAIT_SECONDS:
                services.close()
                after = "" if failure.permanent else f" after {DATABASE_WAIT_SECONDS} s"
                raise StartupError(
                    f"cannot use the database{after}: {failure.reason} (check DSN)"
                ) from None
            if failure.reason != shown:
                log.warning(
                    "database not reachable yet, retrying for up to %d s: %s",
                    DATABASE_WAIT_SECONDS,
                    failure.reason,
                )
                shown = failure.reason
            time.sleep(1)


def warn_about_exposure(settings: Settings, which: str) -> None:
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
