"""Shared fixtures: database backends and real ``authserver serve`` processes.

Every integration test runs twice, on SQLite and on PostgreSQL. PostgreSQL tests need
``AUTHSERVER_TEST_POSTGRES_DSN`` (a server where we may create databases, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``); without it they are reported as not
run, loudly, at the end of the session. CI always sets it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

POSTGRES_ENV = "AUTHSERVER_TEST_POSTGRES_DSN"
ROOT = Path(__file__).resolve().parent.parent
_skipped_postgres: list[str] = []


def console_command(script: str, module: str) -> list[str]:
    """An installed console script of this interpreter, or its module run with it."""
    found = shutil.which(script, path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", module]


def authserver_command() -> list[str]:
    return console_command("authserver", "authserver.cli")


@dataclass
class ManagedProcess:
    """A process a test started, with its log file; ``stop`` sends SIGTERM and returns the
    exit status (killing it only if it does not stop in time)."""

    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                raise
        return self.process.returncode


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float = 20, interval: float = 0.05):
    """Poll ``condition()`` until it is truthy or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def run_cli(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 60):
    """Run ``authserver ARGS`` and return the CompletedProcess (text mode)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*authserver_command(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        check=False,
    )


# -- databases -------------------------------------------------------------------------


@dataclass
class TestDatabase:
    backend: str
    dsn: str
    path: Path | None = None  # the SQLite file, when there is one


def _postgres_admin_dsn() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _psycopg_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgres://", "postgresql://", 1
    )


def create_postgres_database(
    admin_dsn: str, prefix: str, template: TestDatabase | None = None
) -> TestDatabase:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template.dsn.rsplit("/", 1)[1]}"' if template else ""
    with psycopg.connect(_psycopg_dsn(admin_dsn), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    base = _psycopg_dsn(admin_dsn).rsplit("/", 1)[0]
    return TestDatabase("postgres", f"{base}/{name}")


def drop_postgres_database(admin_dsn: str, database: TestDatabase) -> None:
    import psycopg

    name = database.dsn.rsplit("/", 1)[1]
    with psycopg.connect(_psycopg_dsn(admin_dsn), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database: TestDatabase) -> None:
    result = run_cli("migrate", "sql", "--yes", database.dsn)
    assert result.returncode == 0, result.stderr


# One migrated database per backend and test process, copied for every test that needs a
# fresh one: a copy costs milliseconds, `migrate sql` a new interpreter and Alembic.
_templates: dict[str, TestDatabase] = {}


def migrated_database(backend: str, directory: Path, prefix: str) -> TestDatabase:
    """A fresh, migrated database: a copy of this process's template."""
    template = _templates.get(backend)
    if template is None:
        if backend == "sqlite":
            path = Path(tempfile.mkdtemp(prefix="authserver-template-")) / "template.sqlite"
            template = TestDatabase("sqlite", f"sqlite:///{path}", path)
        else:
            template = create_postgres_database(_postgres_admin_dsn(), "authserver_template")
        migrate(template)
        _templates[backend] = template
        atexit.register(_drop_template, template)
    if backend == "sqlite":
        path = directory / "authserver.sqlite"
        shutil.copyfile(template.path, path)  # `migrate` closed it: no WAL left behind
        return TestDatabase("sqlite", f"sqlite:///{path}", path)
    return create_postgres_database(_postgres_admin_dsn(), prefix, template=template)


def _drop_template(template: TestDatabase) -> None:
    if template.backend == "postgres":
        with contextlib.suppress(Exception):  # the server may be gone at exit: nothing to drop
            drop_postgres_database(_postgres_admin_dsn(), template)
    else:
        shutil.rmtree(template.path.parent, ignore_errors=True)


@pytest.fixture
def make_database(tmp_path_factory, request) -> Iterator:
    """Factory: ``make_database(backend)`` returns an empty, migrated database."""
    created: list[TestDatabase] = []

    def make(backend: str, migrated: bool = True) -> TestDatabase:
        if backend == "postgres" and _postgres_admin_dsn() is None:
            _skipped_postgres.append(request.node.nodeid)
            pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
        directory = tmp_path_factory.mktemp("sqlite")
        if migrated:
            database = migrated_database(backend, directory, "authserver_test")
        elif backend == "sqlite":
            path = directory / "authserver.sqlite"
            database = TestDatabase("sqlite", f"sqlite:///{path}", path)
        else:
            database = create_postgres_database(_postgres_admin_dsn(), "authserver_test")
        if backend == "postgres":
            created.append(database)
        return database

    yield make
    for database in created:
        drop_postgres_database(_postgres_admin_dsn(), database)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


# -- servers ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class ServerProcess(ManagedProcess):
    """A running ``authserver serve all`` with its URLs, environment and log file."""

    public_url: str
    admin_url: str
    env: dict[str, str]
    database: TestDatabase
    extra: dict = field(default_factory=dict)

    def cli(self, *args: str, admin: bool = True, input: str | None = None):
        """Run the CLI against this server (``--endpoint`` set for admin or public)."""
        endpoint = self.admin_url if admin else self.public_url
        return run_cli(*args, "--endpoint", endpoint, env=self.env, input=input)


@contextlib.contextmanager
def dedicated_server(
    request, tmp_path_factory, name: str, env: dict[str, str], args: tuple[str, ...] = ("--dev",)
) -> Iterator[ServerProcess]:
    """A server of a module's own, for settings the shared servers do not have, on the
    backend a ``params=["sqlite", "postgres"]`` fixture was given; skipped (and reported
    last) for PostgreSQL without a DSN. Keep the tests that need one few."""
    backend = request.param
    if backend == "postgres" and _postgres_admin_dsn() is None:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    log_dir = tmp_path_factory.mktemp(f"{name}-{backend}")
    database = migrated_database(backend, log_dir, f"authserver_{name}")
    server = None
    try:
        server = start_server(database, log_dir, env=env, args=args)
        yield server
    finally:
        if server is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.stop()
        if backend == "postgres":
            drop_postgres_database(_postgres_admin_dsn(), database)


def start_server(
    database: TestDatabase,
    log_dir: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    which: str = "all",
    wait: bool = True,
) -> ServerProcess:
    """Start ``authserver serve``; with ``wait``, return once it answers. A port picked
    here can be taken by another test process before the server binds it: then the
    server says so at once, and it is started again on other ports."""
    for attempt in range(3):
        server = _launch_server(database, log_dir, env, args, which)
        if not wait:
            return server
        probe = server.public_url if which == "public" else server.admin_url
        if wait_alive(probe, 30, server.process):
            return server
        server.stop()
        log = server.log()
        if "already in use" not in log or attempt == 2:
            raise AssertionError(f"server did not become ready:\n{log}")
    raise AssertionError("unreachable")


def _launch_server(database, log_dir: Path, env, args, which: str) -> ServerProcess:
    public_port, admin_port = free_port(), free_port()
    server_env = {
        **os.environ,
        "DSN": database.dsn,
        "SECRETS_SYSTEM": secrets.token_urlsafe(32),
        "SERVE_PUBLIC_PORT": str(public_port),
        "SERVE_ADMIN_PORT": str(admin_port),
        "LOG_LEVEL": "debug",
        # Throwaway secrets: the cheapest argon2id (the default cost, OWASP's, is checked
        # in tests/unit/test_client_secrets.py). Creating and first using a client then
        # costs well under a millisecond instead of about 50 ms of hashing.
        "OAUTH2_HASHERS_ARGON2_MEMORY": "64KiB",
        "OAUTH2_HASHERS_ARGON2_ITERATIONS": "1",
        **(env or {}),
    }
    log_path = log_dir / f"server-{public_port}.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [*authserver_command(), "serve", which, *args],
            env=server_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(
        public_url=f"http://127.0.0.1:{server_env['SERVE_PUBLIC_PORT']}",
        admin_url=f"http://127.0.0.1:{server_env['SERVE_ADMIN_PORT']}",
        env=server_env,
        log_path=log_path,
        process=process,
        database=database,
        extra={"which": which},
    )


def wait_alive(
    url: str,
    timeout: float = 30,
    process: subprocess.Popen | None = None,
    path: str = "/health/alive",
) -> bool:
    """Poll ``url + path`` until it answers 200; False on timeout or early exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if requests.get(url + path, timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False


def parse_row_table(output: str) -> dict[str, str]:
    """Hydra's single-object table (``HEADER<tabs>VALUE`` lines) as a dict."""
    rows = {}
    for line in output.splitlines():
        if "\t" in line:
            key, _, value = line.partition("\t")
            rows[key] = value.strip("\t")
    return rows


@pytest.fixture
def server_factory(make_database, tmp_path) -> Iterator:
    """Factory: ``server_factory(backend, env=..., args=...)`` starts a fresh server."""
    started: list[ServerProcess] = []

    def start(backend: str, env=None, args=(), database: TestDatabase | None = None, **kwargs):
        server = start_server(database or make_database(backend), tmp_path, env, args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop()


@pytest.fixture(scope="session")
def _shared_servers(tmp_path_factory) -> Iterator[dict]:
    servers: dict[tuple[str, bool], ServerProcess] = {}
    created: list[TestDatabase] = []

    def get(backend: str, dev: bool = False) -> ServerProcess:
        if (backend, dev) not in servers:
            log_dir = tmp_path_factory.mktemp(f"shared-{backend}")
            database = migrated_database(backend, log_dir, "authserver_shared")
            if backend == "postgres":
                created.append(database)
            args = ("--dev",) if dev else ()
            servers[(backend, dev)] = start_server(database, log_dir, args=args)
        return servers[(backend, dev)]

    yield get
    for server in servers.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop()
    for database in created:
        drop_postgres_database(_postgres_admin_dsn(), database)


@pytest.fixture
def server(backend, _shared_servers, request) -> ServerProcess:
    """A server shared by all tests of one backend (tests create their own clients)."""
    if backend == "postgres" and _postgres_admin_dsn() is None:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    return _shared_servers(backend)


@pytest.fixture
def dev_server(backend, _shared_servers, request) -> ServerProcess:
    """A shared server started with ``--dev``, as the guides run it: its cookies are not
    Secure, so a browser on plain http://127.0.0.1 keeps them (login/consent flows)."""
    if backend == "postgres" and _postgres_admin_dsn() is None:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    return _shared_servers(backend, dev=True)


# -- clients ---------------------------------------------------------------------------


@dataclass
class TestClient:
    client_id: str
    client_secret: str | None
    document: dict


@pytest.fixture
def create_client(server) -> Iterator:
    """Factory: create a client through the admin API and return its id and secret."""

    def create(**fields) -> TestClient:
        body = {"grant_types": ["client_credentials"], **fields}
        response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=10)
        assert response.status_code == 201, response.text
        document = response.json()
        return TestClient(document["client_id"], document.get("client_secret"), document)

    return create


# The longest tests, started first: with the tests spread over several processes
# (pytest-xdist), a long test started last would keep one process busy alone at the end.
SLOW_FIRST = (
    "tests/integration/test_openapi.py::test_both_apis_conform",
    "tests/integration/test_bad_input.py",
    "tests/integration/test_harness_openapi.py::test_the_helpers_conform",
    "tests/integration/test_faults_database.py",
    "tests/integration/test_docs_testing.py",
    "tests/unit/test_testing_plugin.py",
    "tests/integration/test_janitor.py",
    "tests/integration/test_faults_janitor.py",
    "e2e/",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        for position, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return position
        return len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each group stays


def _did_not_run(report) -> bool:
    """A PostgreSQL test skipped for want of a server (also when a pytest-xdist worker
    ran it: the skip reason travels back to the controller with the report)."""
    longrepr = getattr(report, "longrepr", None)
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
    return "PostgreSQL tests did not run" in str(reason)


# Where the notice is kept for `make test`, which prints it again after its last pytest run.
NOTICE_FILE = Path(__file__).resolve().parent.parent / ".pytest_cache" / "postgres-did-not-run.txt"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """The notice comes last: this wrapper is the outermost, so it writes after the short
    test summary and the slowest-tests table, where hundreds of skip lines cannot bury it."""
    yield
    skipped = {
        report.nodeid
        for report in terminalreporter.stats.get("skipped", [])
        if _did_not_run(report)
    }
    skipped.update(_skipped_postgres)
    NOTICE_FILE.unlink(missing_ok=True)
    if not skipped:
        return
    notice = (
        f"{len(skipped)} PostgreSQL test(s) DID NOT RUN: set {POSTGRES_ENV} "
        "(e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
    )
    terminalreporter.write_sep("!", notice, yellow=True, bold=True)
    with contextlib.suppress(OSError):
        NOTICE_FILE.parent.mkdir(exist_ok=True)
        NOTICE_FILE.write_text(notice + "\n")
