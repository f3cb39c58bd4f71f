"""``authserver serve``: choose the server (waitress in this process, ``--workers N``
waitress processes, or Granian), after what every start does (``runtime.boot``).

The servers themselves are in ``authserver.runtime``; each is imported only when chosen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError

from authserver.config import Settings
from authserver.metrics import MULTIPROCESS_ENV
from authserver.runtime.boot import StartupError, prepare, warn_about_exposure
from authserver.runtime.sockets import ListenError, open_listeners

log = logging.getLogger("authserver.serve")


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
    warn_about_exposure(settings, which)
    # Granian runs one server per API, each with ``workers`` processes.
    processes = workers * (2 if server == "granian" and which == "all" else 1)
    with _metrics_shared_by_processes(processes > 1 or server == "granian"):
        return _run(settings, which, threads, workers, server, config_file, processes)


@contextlib.contextmanager
def _metrics_shared_by_processes(several: bool) -> Iterator[None]:
    """Several serving processes write their metrics to files in one directory, which any
    of them adds up when scraped (``authserver.metrics``): made here, before any process
    makes its metrics, and removed when the server stops. An operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` is used as it is."""
    if not several or os.environ.get(MULTIPROCESS_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="authserver-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def _run(settings, which, threads, workers, server, config_file, processes) -> int:
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
        # Each server is imported only when chosen: Granian is an optional dependency,
        # and a process needs no other server's modules.
        from authserver.runtime.granian_server import run_granian

        services.close()
        return run_granian(settings, listeners, threads, workers, config_file)
    if workers > 1:
        # Imported only when chosen (see above).
        from authserver.runtime.supervisor import Supervisor

        services.close()  # every worker opens its own connections after the fork
        return Supervisor(settings, which, listeners, threads, workers).run()
    # Imported only when chosen (see above).
    from authserver.runtime.waitress_server import serve_services

    print(f"authserver {which} is ready", file=sys.stderr, flush=True)
    return serve_services(services, listeners, threads)
