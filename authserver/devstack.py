"""``authserver demo``: the whole stack on this machine, no Docker, on the embedded SQLite.

It keeps a system secret in an owner-only file (so data stays readable across starts),
migrates the database, starts the four listeners as separate processes — the public and
admin APIs (``authserver serve all --dev``), the login/consent app (``consent-ui``) and
two demo clients (``demo-client --register``: "Demo client" and "Second app", each its own
OAuth2 client on its own port, so that logging in to both and out of one shows the other
end through back- and front-channel logout) — waits until each answers its health check,
prints where to go, and on Ctrl-C stops every process it started. CORS is on for the public
API, for the demo clients' origins: their single-page apps (``/spa``) call the server from
the browser (discovery and the JWKS need the origins in the settings; the token, revocation
and userinfo endpoints also take each SPA client's own ``allowed_cors_origins``).

The apps only share HTTP: this module starts commands, it imports none of them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEMO_USER = ("foo@bar.com", "foobar")
HEALTH_TIMEOUT_SECONDS = 60
DATABASE_FILE = "authserver.sqlite"
STEPS = 6


@dataclass(frozen=True)
class DemoApp:
    """One demo_client process: its display name and registered client ids."""

    name: str
    client_id: str | None  # None: demo_client's own default (demo-client, or demo-client-<port>)
    spa_id: str | None  # the same for its single-page app's public client (demo-spa)
    process: str  # the child's name (and its log file's)


DEMO_CLIENT = DemoApp("Demo client", None, None, "demo-client")
# Its own ids, SPA included, so the two never claim one registration; it replaces them
# (DEMO_CLIENT_OVERWRITE) when a start on other ports registered them for other URIs: in
# the demo's own database nothing else owns them.
SECOND_APP = DemoApp("Second app", "second-app", "second-app-spa", "second-app")


class DemoError(Exception):
    """A reason the demo cannot start, printed as one line."""


@dataclass(frozen=True)
class Ports:
    public: int = 9000
    admin: int = 9001
    consent: int = 9020
    client: int = 9010
    second: int = 9011  # the second demo client ("Second app")


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path


@dataclass
class Stack:
    children: list[Child] = field(default_factory=list)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM everyone (newest first), wait, then SIGKILL stragglers."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if child.process.poll() is not None), None)


def say(message: str) -> None:
    print(message, flush=True)


def ensure_secret(path: Path) -> str:
    """The demo's SECRETS_SYSTEM: made once, owner-only, reused on every start."""
    if path.exists():
        secret = path.read_text().strip()
        if len(secret) >= 16:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)
    return secret


def reset_database(data_dir: Path) -> str:
    """Delete the demo's SQLite database, with its WAL and shared-memory files, so that
    the start migrates an empty one: clients, tokens, remembered logins and consents go.
    The system secret stays (it encrypts only what was in the database, and a new one
    would buy nothing); so do the logs. Returns the line to print."""
    database = data_dir / DATABASE_FILE
    files = [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]
    removed = [path for path in files if path.exists()]
    for path in removed:
        path.unlink()
    if not removed:
        return f"reset: no database in {data_dir} yet; nothing to remove"
    return (
        f"reset: removed {database} (clients, tokens, remembered logins and consents); "
        f"the system secret {data_dir / 'secret'} is kept"
    )


def check_port_free(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DemoError(
                f"port {port} ({what}) is already in use; stop what uses it or choose another "
                "port (see `authserver demo --help`)"
            ) from None


def command(name: str) -> list[str]:
    """A console script of this installation (next to the running interpreter)."""
    script = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if script is None:
        raise DemoError(f"the `{name}` command is not installed (pip install -e . installs it)")
    return [script]


def wait_healthy(child: Child, url: str, stopping: threading.Event) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if stopping.is_set():
            raise KeyboardInterrupt
        if child.process.poll() is not None:
            raise DemoError(f"{child.name} stopped while starting; see {child.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise DemoError(f"{child.name} did not become healthy at {url}; see {child.log_path}")


def start(stack: Stack, name: str, argv: list[str], env: dict, log_dir: Path) -> Child:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children ourselves
        )
    child = Child(name, process, log_path)
    stack.children.append(child)
    return child


def demo_client_env(app: DemoApp, port: int, public: str, admin: str) -> dict[str, str]:
    """The environment of one demo_client process. Its session cookie is named after its
    port and its logout URIs after its origin (demo_client's defaults), so two on this host
    share neither."""
    origin = f"http://127.0.0.1:{port}"
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DEMO_CLIENT_NAME": app.name,
        "DEMO_CLIENT_ISSUER": public + "/",
        "DEMO_CLIENT_ADMIN_URL": admin,
        "DEMO_CLIENT_REDIRECT_URI": origin + "/callback",
    }
    if app.client_id:
        env["DEMO_CLIENT_ID"] = app.client_id
        env["DEMO_CLIENT_OVERWRITE"] = "true"
    if app.spa_id:
        env["DEMO_CLIENT_SPA_ID"] = app.spa_id
    return env


def run_demo(data_dir: Path, ports: Ports, reset: bool = False) -> int:
    """``reset``: start from an empty database (``reset_database``), once the ports are
    known to be free: a demo still running on them keeps its database."""
    for port, what in (
        (ports.public, "public API"),
        (ports.admin, "admin API"),
        (ports.consent, "login & consent app"),
        (ports.client, "demo client"),
        (ports.second, "second app"),
    ):
        check_port_free(port, what)
    if reset:
        say(reset_database(data_dir))
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    secret = ensure_secret(data_dir / "secret")
    dsn = f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}"
    public = f"http://127.0.0.1:{ports.public}"
    admin = f"http://127.0.0.1:{ports.admin}"
    consent = f"http://127.0.0.1:{ports.consent}"
    client = f"http://127.0.0.1:{ports.client}"
    second = f"http://127.0.0.1:{ports.second}"

    say(f"[1/{STEPS}] system secret: {data_dir / 'secret'} (owner-only, kept for next time)")
    say(f"[2/{STEPS}] database: {dsn} (migrating)")
    migrate = subprocess.run(
        [*command("authserver"), "migrate", "sql", "--yes", dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        raise DemoError(f"migration failed: {migrate.stderr.strip() or migrate.stdout.strip()}")

    stack = Stack()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    # The handler only sets a flag, which the loops below check: an exception raised in a
    # handler can land inside a finalizer (a probe's socket being collected) and be lost
    # there, so a Ctrl-C during the start would be ignored.
    stopping = threading.Event()

    def _interrupt(signum, _frame):
        stopping.set()

    # Both, explicitly: a shell starting us in the background sets SIGINT to "ignore".
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server = start(
            stack,
            "authserver",
            [*command("authserver"), "serve", "all", "--dev"],
            {
                "DSN": dsn,
                "SECRETS_SYSTEM": secret,
                "SERVE_PUBLIC_PORT": str(ports.public),
                "SERVE_ADMIN_PORT": str(ports.admin),
                "URLS_SELF_ISSUER": public + "/",
                "URLS_LOGIN": consent + "/login",
                "URLS_CONSENT": consent + "/consent",
                "URLS_LOGOUT": consent + "/logout",
                "URLS_DEVICE_VERIFICATION": consent + "/device",
                "URLS_DEVICE_SUCCESS": consent + "/device/success",
                # The demo clients' single-page apps call the public API from the browser.
                "SERVE_PUBLIC_CORS_ENABLED": "true",
                "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": f"{client},{second}",
            },
            log_dir,
        )
        say(f"[3/{STEPS}] authorization server: public {public}/  admin {admin}/ (starting)")
        wait_healthy(server, admin + "/health/ready", stopping)
        app = start(
            stack,
            "consent-ui",
            command("consent-ui"),
            {
                "HYDRA_ADMIN_URL": admin,
                "PORT": str(ports.consent),
                "HOST": "127.0.0.1",
                "CONSENT_UI_DEMO_CLIENT_URL": client + "/",  # linked from its pages (the first)
            },
            log_dir,
        )
        say(f"[4/{STEPS}] login & consent app: {consent}/ (starting)")
        wait_healthy(app, consent + "/healthz", stopping)
        # One after the other: each registers its clients through the admin API as it starts.
        for step, app_spec, port in ((5, DEMO_CLIENT, ports.client), (6, SECOND_APP, ports.second)):
            origin = f"http://127.0.0.1:{port}"
            demo = start(
                stack,
                app_spec.process,
                [*command("demo-client"), "--register"],
                demo_client_env(app_spec, port, public, admin),
                log_dir,
            )
            say(f"[{step}/{STEPS}] {app_spec.name.lower()}: {origin}/ (starting)")
            wait_healthy(demo, origin + "/healthz", stopping)
        say("")
        say(f'Ready. Open {client}/ and click "Log in" (the single-page app: {client}/spa).')
        say(f"  {DEMO_CLIENT.name}: {client}/")
        say(f"  {SECOND_APP.name}: {second}/   (log in to both, log out of one: the other ends)")
        say(f"  demo user: {DEMO_USER[0]} / {DEMO_USER[1]}")
        say(f"  public API {public}/  admin API {admin}/  login app {consent}/")
        say(f"  logs: {log_dir}/   Ctrl-C stops everything.")
        while True:
            exited = stack.first_exited()
            if exited is not None:
                raise DemoError(f"{exited.name} stopped unexpectedly; see {exited.log_path}")
            if stopping.wait(0.5):
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        say("\nStopping…")
        return 0
    finally:
        # Whatever ended the run (Ctrl-C, a crashed child, an error), no child outlives it;
        # a second Ctrl-C while stopping must not orphan them either.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stack.children:
            say("Stopped.")
