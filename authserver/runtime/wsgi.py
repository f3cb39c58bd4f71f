"""The WSGI app factories of ``serve --server granian``, also for any other WSGI server.

``public_app()`` and ``admin_app()`` read the configuration the way ``authserver serve``
does (environment variables, plus the YAML file named by ``AUTHSERVER_CONFIG`` if set;
``AUTHSERVER_DEV=1`` is ``--dev``) and build the app with its own services. Run
``authserver migrate sql`` first: a factory refuses a database whose schema is not
current. ``authserver.wsgi`` is their documented name (see that module).

The app modules are imported at the top: ``serve --server granian`` imports this module
before Granian forks its workers, so they share that code instead of each importing it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from functools import cache

from authserver.admin.app import create_admin_app
from authserver.config import load_settings
from authserver.public.app import create_public_app
from authserver.runtime.boot import prepare, return_large_blocks_to_the_system
from authserver.runtime.processes import end_with_parent
from authserver.services import Services
from authserver.web.logs import configure_logging

CONFIG_ENV = "AUTHSERVER_CONFIG"
DEV_ENV = "AUTHSERVER_DEV"
# Set by `serve --server granian` for the processes it starts:
POOL_SIZE_ENV = "AUTHSERVER_DB_POOL_SIZE"  # connections per process (boot.plan_pool)
STOP_FLAG_ENV = "AUTHSERVER_STOP_FLAG"  # a file that exists once the server is stopping
MAIN_PID_ENV = "AUTHSERVER_GRANIAN_MAIN"  # the Granian main process the workers end with


class AnnounceStop:
    """Once the stop flag file exists, every response says ``Connection: close``: a client
    then opens a new connection for its next request instead of sending it on one the
    stopping server is about to close (Granian closes idle keep-alive connections
    without saying so). The file is looked at no more than ten times a second."""

    def __init__(self, app, flag_path: str):
        self._app = app
        self._flag_path = flag_path
        self._stopping = False
        self._checked_at = 0.0

    def __call__(self, environ, start_response):
        if not self._is_stopping():
            return self._app(environ, start_response)

        def closing(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Connection", "close")], exc_info)

        return self._app(environ, closing)

    def _is_stopping(self) -> bool:
        now = time.monotonic()
        if not self._stopping and now - self._checked_at > 0.1:
            self._checked_at = now
            self._stopping = os.path.exists(self._flag_path)
        return self._stopping


def _as_granian_worker(app):
    """In a worker of `serve --server granian`: end with the Granian main process (which
    may be killed before it can stop us), announce the stop to clients, and stop anyway
    if the server is stopping and we are still here (a SIGTERM that reached this worker
    while it was starting, before Granian's handler, was lost)."""
    main = os.environ.get(MAIN_PID_ENV, "")
    if main.isdigit():
        end_with_parent(int(main))
    flag = os.environ.get(STOP_FLAG_ENV)
    if not flag:
        return app
    threading.Thread(target=_stop_when_flagged, args=(flag,), daemon=True).start()
    return AnnounceStop(app, flag)


def _stop_when_flagged(flag: str, grace: float = 2.0) -> None:
    while not os.path.exists(flag):
        time.sleep(0.5)
    time.sleep(grace)  # Granian's own graceful stop comes first
    while True:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


@cache
def _services() -> Services:
    """One Services per process, shared by both apps if a process serves both."""
    return_large_blocks_to_the_system()
    settings = load_settings(
        config_file=os.environ.get(CONFIG_ENV) or None,
        dev=os.environ.get(DEV_ENV, "") in ("1", "true", "yes"),
    )
    if os.environ.get(POOL_SIZE_ENV, "").isdigit():
        settings = replace(settings, database_pool_size=int(os.environ[POOL_SIZE_ENV]))
    configure_logging(settings.log_level, settings.log_format)
    services = prepare(settings)
    services.start_background_work()
    return services


def public_app():
    return _as_granian_worker(create_public_app(_services()))


def admin_app():
    return _as_granian_worker(create_admin_app(_services()))
