"""``authserver serve``: the public and/or admin app on waitress; SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import errno
import logging
import signal
import sys
import time

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
SHUTDOWN_GRACE_SECONDS = 10


class StartupError(Exception):
    """A reason not to start, printed as one line."""


def prepare(settings: Settings) -> Services:
    """Build the services, make sure the schema is current and the signing keys exist."""
    services = build_services(settings)
    _wait_for_database(services)
    if settings.is_memory_database:
        migrations.upgrade(services.database)  # nothing persists, so migrate every start
    else:
        pending = migrations.pending_revisions(services.database)
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


def run(settings: Settings, which: str, threads: int = 8) -> int:
    for warning in settings.warnings:
        log.warning(warning)
    try:
        services = prepare(settings)
    except StartupError as exc:
        print(f"authserver: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"authserver: database error at start-up: {exc.__class__.__name__}", file=sys.stderr)
        return 1

    socket_map: dict = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    listeners = []
    if which in ("all", "public"):
        listeners.append(
            ("public", create_public_app(services), settings.public_host, settings.public_port)
        )
    if which in ("all", "admin"):
        listeners.append(
            ("admin", create_admin_app(services), settings.admin_host, settings.admin_port)
        )
    try:
        for name, app, host, port in listeners:
            create_server(
                app,
                map=socket_map,
                _dispatcher=dispatcher,
                host=host,
                port=port,
                ident="authserver",
                threads=threads,
                channel_timeout=60,
            )
            log.info("%s API listening on http://%s:%s/", name, host, port)
    except OSError as exc:
        services.close()
        wasyncore.close_all(socket_map)
        if exc.errno == errno.EADDRINUSE:
            print(f"authserver: port {port} ({name} API) is already in use", file=sys.stderr)
        else:
            print(f"authserver: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"authserver {which} is ready", file=sys.stderr, flush=True)
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
