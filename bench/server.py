"""The server under test: a fresh database for it, and authserver started, watched, stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

HOST = "127.0.0.1"
PORT_RANGE = (4700, 4799)
SYSTEM_SECRET = "benchmark-system-secret-0123456789abcdef"  # a fresh database each run
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432"


class BenchError(Exception):
    """A reason to stop the benchmark, printed as one line."""


# -- the database -----------------------------------------------------------------------


@dataclass
class BenchDatabase:
    kind: str  # "sqlite" or "postgres"
    dsn: str  # what authserver is given
    created: str | None = None  # a PostgreSQL database this run created (and drops)
    server_url: str | None = None  # where ``created`` lives
    tmpdir: str | None = None  # a directory this run created (and removes)
    keep: bool = False

    @classmethod
    def open(cls, spec: str, keep: bool = False, pg_server: str = DEFAULT_PG_SERVER):
        """``sqlite`` / ``postgres`` create a fresh database; a full DSN is used as it is."""
        if spec == "sqlite":
            tmpdir = tempfile.mkdtemp(prefix="benchcmd-")
            return cls("sqlite", f"sqlite:///{tmpdir}/authserver.sqlite", tmpdir=tmpdir, keep=keep)
        if spec.startswith("sqlite:///"):
            return cls("sqlite", spec, keep=True)
        if spec == "postgres":
            name = f"benchcmd_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
            _pg_admin(pg_server, f'CREATE DATABASE "{name}"')
            dsn = f"{pg_server.rstrip('/')}/{name}"
            return cls("postgres", dsn, created=name, server_url=pg_server, keep=keep)
        if urlsplit(spec).scheme in ("postgres", "postgresql"):
            return cls("postgres", spec, keep=True)
        raise BenchError(
            f"--dsn {spec!r}: use sqlite, postgres, sqlite:///FILE or postgres://USER@HOST/DB "
            "(an in-memory database cannot be seeded from outside the server)"
        )

    def describe(self) -> str:
        return self.dsn if not self.created else f"{self.dsn} (created for this run)"

    def close(self) -> None:
        if self.keep:
            if self.created or self.tmpdir:
                print(f"bench: kept the database: {self.dsn}", file=sys.stderr)
            return
        if self.created:
            try:
                _pg_admin(self.server_url, f'DROP DATABASE IF EXISTS "{self.created}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning up
                print(f"bench: could not drop {self.created}: {exc}", file=sys.stderr)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _pg_admin(server_url: str, statement: str) -> None:
    import psycopg

    url = urlsplit(server_url)
    conninfo = f"{url.scheme}://{url.netloc}/postgres"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise BenchError(f"PostgreSQL at {url.netloc}: {exc}".strip()) from None


# -- ports ------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_pair(public: int | None = None) -> tuple[int, int]:
    """(public, admin): ``47x0`` and ``47x1``, the first free pair (or the one asked for)."""
    candidates = [public] if public else range(PORT_RANGE[0], PORT_RANGE[1], 10)
    for base in candidates:
        if _port_free(base) and _port_free(base + 1):
            return base, base + 1
    raise BenchError(f"no free port pair among {list(candidates)} (+1 for admin)")


# -- the server -------------------------------------------------------------------------


def authserver_command(explicit: str | None) -> list[str]:
    if explicit:
        return explicit.split()
    beside = Path(sys.executable).with_name("authserver")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("authserver")
    if not found:
        raise BenchError("authserver not found: install the project (pip install -e .)")
    return [found]


def _config_env_names() -> tuple[str, ...]:
    try:
        from authserver.config import ENV_NAMES
    except ImportError:  # the product moved it: strip the ones we set at least
        return ()
    return tuple(ENV_NAMES)


@dataclass
class AuthServer:
    command: list[str]
    dsn: str
    public_port: int
    admin_port: int
    workdir: str
    serve_args: list[str] = field(default_factory=list)
    pin_cpus: str | None = None  # taskset list for the server, None = unpinned
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    started_in_s: float | None = None

    @property
    def public_url(self) -> str:
        return f"http://{HOST}:{self.public_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def log_path(self) -> Path:
        return Path(self.workdir) / "authserver.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _config_env_names()}
        env.update(
            DSN=self.dsn,
            SECRETS_SYSTEM=SYSTEM_SECRET,
            LOG_LEVEL="warn",
            URLS_SELF_ISSUER=f"{self.public_url}/",
            URLS_LOGIN="http://127.0.0.1:1/login",  # never loaded: the flow reads the challenge
            URLS_CONSENT="http://127.0.0.1:1/consent",
            SERVE_PUBLIC_HOST=HOST,
            SERVE_PUBLIC_PORT=str(self.public_port),
            SERVE_ADMIN_HOST=HOST,
            SERVE_ADMIN_PORT=str(self.admin_port),
        )
        env.update(self.extra_env)
        return env

    def serve_command(self) -> list[str]:
        pin = ["taskset", "-c", self.pin_cpus] if self.pin_cpus else []
        return pin + self.command + ["serve", "all", "--dev", *self.serve_args]

    def migrate(self, timeout: float = 300) -> None:
        try:
            result = subprocess.run(
                [*self.command, "migrate", "sql", "--yes", "-e"],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"authserver migrate took more than {timeout:.0f} s") from None
        if result.returncode != 0:
            raise BenchError(f"authserver migrate failed: {result.stderr.strip()[-800:]}")

    def start(self, timeout: float = 90) -> None:
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                self.serve_command(),
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() can reach its workers
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"authserver exited with {self.process.returncode} at start-up:\n"
                    + self.log_tail()
                )
            if _http_ok(self.admin_url + "/health/ready"):
                self.started_in_s = round(time.monotonic() - started, 2)
                return
            time.sleep(0.2)
        raise BenchError(f"authserver not ready within {timeout:.0f} s:\n" + self.log_tail())

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 20) -> dict:
        """SIGTERM, then SIGKILL to the whole process group after ``grace`` seconds.
        Returns how it went (a clean stop is ``{"exit": 0, "killed": False}``)."""
        if self.process is None:
            return {}
        outcome = {"exit": None, "killed": False, "stray_processes": False}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                _kill_group(self.process.pid)
                outcome["killed"] = True
                self.process.wait(10)
        outcome["exit"] = self.process.returncode
        # Workers that outlived their master (a bug worth reporting) still share its group.
        if _group_alive(self.process.pid):
            outcome["stray_processes"] = True
            _kill_group(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _group_alive(self.process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            _kill_group(self.process.pid)
        return outcome


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _http_ok(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
