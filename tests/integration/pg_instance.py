"""A throwaway PostgreSQL server for fault tests.

``PgInstance`` runs its own ``postgres`` (never the machine's shared server) out of a
temporary directory: data directory, Unix socket directory and log all live there, it
listens on 127.0.0.1 only, on a free port that it keeps across restarts. The tests may
then do to it what they must never do to a shared server: stop it (fast or immediate),
``kill -9`` its postmaster, freeze every one of its processes (SIGSTOP) and thaw them
(SIGCONT), restart it on the same port and data, or restart it with other settings
(``max_connections``...).

initdb refuses to run as root, so when the tests run as root every PostgreSQL program
runs as the ``postgres`` OS user (``subprocess`` switches user in the child) and the
temporary directory belongs to that user. The postmaster is a direct child of the test
process, in its own session, so its pid is known and a signal to the test's terminal
never reaches it.

Usage::

    with PgInstance(max_connections=20) as pg:        # initdb + start; stop + rm at exit
        dsn = pg.create_database("authserver")       # postgresql://postgres@127.0.0.1:P/...
        pg.freeze(); ...; pg.thaw()
        pg.stop("fast"); pg.start()
        pg.kill9(); pg.start()
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.conftest import free_port

BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
OS_USER = "postgres"
START_TIMEOUT = 30
STOP_TIMEOUT = 20

# Durability against an OS crash is worthless for a database that lives for one test
# module: skip the fsyncs. Commits still reach the WAL (synchronous_commit stays on), so a
# committed row survives kill -9 of the postmaster and an immediate shutdown.
DEFAULT_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "40",
    "max_wal_senders": "0",
    "wal_level": "minimal",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "dynamic_shared_memory_type": "posix",
}


def find_bin_dir() -> Path | None:
    """The directory holding initdb and postgres, or None (tests skip)."""
    candidates = [os.environ.get("AUTHSERVER_TEST_PG_BIN", ""), *BIN_DIRS]
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "postgres")):
            return Path(candidate)
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).parent
    return None


def unavailable_reason() -> str | None:
    """Why a throwaway PostgreSQL cannot be run here (None: it can)."""
    if find_bin_dir() is None:
        return "PostgreSQL server binaries (initdb, postgres) not found; set AUTHSERVER_TEST_PG_BIN"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run PostgreSQL as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): tells a pid apart from a later
    process that reuses it. None if it no longer runs."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def snapshot(pids) -> dict[int, int]:
    """``{pid: start time}`` of the processes that run now, for ``kill_survivors``."""
    return {pid: started for pid in pids if (started := start_time(pid)) is not None}


def kill_survivors(processes: dict[int, int]) -> None:
    """SIGKILL those of the processes (a ``snapshot``) that still run, never a stranger
    that has since been given one of their pids."""
    for pid, started in processes.items():
        if start_time(pid) == started:
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


class PgInstance:
    """One private PostgreSQL server; see the module docstring."""

    def __init__(self, **settings):
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(unavailable_reason())
        self.bin_dir = bin_dir
        self.port = free_port()
        self.settings = {**DEFAULT_SETTINGS, **{k: str(v) for k, v in settings.items()}}
        self.base = Path(tempfile.mkdtemp(prefix="authserver-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_path = self.base / "postgres.log"
        self.process: subprocess.Popen | None = None
        self._frozen: list[int] = []
        self._old_children: set[int] = set()
        self._as_user: dict = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self.socket_dir.mkdir()
        if self._as_user:
            os.chown(self.socket_dir, self._as_user["user"], self._as_user["group"])
        os.chmod(self.base, 0o700)
        # Also when the test run is interrupted before the fixtures' teardown.
        atexit.register(self.cleanup)

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> PgInstance:
        try:
            self.init()
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.cleanup()

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.base,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "TZ": "UTC"},
            **self._as_user,
        )

    def init(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _write_settings(self) -> None:
        # postgresql.auto.conf is read last: it overrides postgresql.conf. Rewritten in
        # full on every start, so a restart with other settings does not accumulate.
        settings = {
            **self.settings,
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        lines = [f"{name} = {value}" for name, value in settings.items()]
        path = self.data_dir / "postgresql.auto.conf"
        path.write_text("\n".join(lines) + "\n")
        if self._as_user:
            os.chown(path, self._as_user["user"], self._as_user["group"])

    def start(self, timeout: float = START_TIMEOUT, **settings) -> None:
        """Start (again) on the same port and data; ``settings`` change postgresql.conf."""
        if self.running:
            raise RuntimeError("PostgreSQL is already running")
        self._wait_old_processes_gone()
        self.settings.update({name: str(value) for name, value in settings.items()})
        self._write_settings()
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.base,
                env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "TZ": "UTC"},
                start_new_session=True,
                **self._as_user,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log()}")
            if self._answers():
                return
            time.sleep(0.1)
        self.stop("immediate")
        raise RuntimeError(f"postgres did not accept connections within {timeout} s:\n{self.log()}")

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn(), connect_timeout=2, autocommit=True) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, "PostgreSQL was never started"
        return self.process.pid

    def processes(self) -> list[int]:
        """The postmaster and every process it forked (backends, checkpointer...)."""
        if not self.running:
            return []
        return [self.pid, *sorted(children_of(self.pid))]

    def stop(self, mode: str = "fast", timeout: float = STOP_TIMEOUT) -> None:
        """Shut down: ``smart`` (SIGTERM), ``fast`` (SIGINT: clients are disconnected) or
        ``immediate`` (SIGQUIT: no checkpoint, crash recovery at the next start)."""
        if not self.running:
            return
        self.thaw()
        children = children_of(self.pid)
        signum = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        _signal(self.pid, signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise
        self._old_children = children

    def kill9(self) -> None:
        """SIGKILL the postmaster only, as the OOM killer would; its children notice and
        exit on their own (``start`` waits for them before starting again)."""
        if not self.running:
            return
        self.thaw()
        self._old_children = children_of(self.pid)
        _signal(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def _wait_old_processes_gone(self, timeout: float = 15) -> None:
        old = set(self._old_children)
        deadline = time.monotonic() + timeout
        while old and time.monotonic() < deadline:
            old = {pid for pid in old if not is_gone(pid)}
            time.sleep(0.05)
        for pid in old:  # still attached to the shared memory: the next start would refuse
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while old and time.monotonic() < deadline:
            old = {pid for pid in old if not is_gone(pid)}
            time.sleep(0.05)
        self._old_children = set()

    def restart(self, mode: str = "fast", **settings) -> None:
        self.stop(mode)
        self.start(**settings)

    def freeze(self) -> None:
        """SIGSTOP the postmaster, then every child: connections are still accepted by the
        kernel (the listen backlog) but nothing answers, as with a hung server."""
        if not self.running or self._frozen:
            return
        _signal(self.pid, signal.SIGSTOP)  # first, so it forks nothing new meanwhile
        self._frozen = [self.pid]
        for pid in children_of(self.pid):
            _signal(pid, signal.SIGSTOP)
            self._frozen.append(pid)

    def thaw(self) -> None:
        for pid in reversed(self._frozen):
            _signal(pid, signal.SIGCONT)
        self._frozen = []

    @property
    def frozen(self) -> bool:
        return bool(self._frozen)

    def cleanup(self) -> None:
        """Stop whatever runs (immediately) and remove the directory. Never raises."""
        try:
            if self.running:
                try:
                    self.stop("immediate", timeout=10)
                except Exception:  # noqa: BLE001
                    with contextlib.suppress(Exception):
                        self.process.kill()
                        self.process.wait(5)
            with contextlib.suppress(Exception):
                self._wait_old_processes_gone(timeout=5)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- using it ------------------------------------------------------------------------

    def dsn(self, database: str = "postgres", scheme: str = "postgresql", **options) -> str:
        query = "&".join(f"{name}={value}" for name, value in options.items())
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def execute(self, sql: str, database: str = "postgres", params=None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn(database), connect_timeout=5, autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        name = name or f"authserver_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.dsn(name)

    def backend_count(self, database: str | None = None) -> int:
        """Client connections (optionally to one database), from pg_stat_activity."""
        sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        if database:
            return self.execute(sql + " AND datname = %s", params=(database,))[0][0]
        return self.execute(sql)[0][0] - 1  # not counting this query's own connection

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
