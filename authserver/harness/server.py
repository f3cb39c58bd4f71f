"""Starting the harness: the real public and admin apps, on an in-memory database (or a
given DSN), with the built-in login app and the test helpers, served by waitress in
threads of this process. ``authserver harness`` runs it in the foreground; the pytest
plugin (``authserver.testing``) starts it in the background of a test session.

Ports may be 0 (the system picks free ones): the issuer and the login URLs are made
from the ports actually bound, so many harnesses (pytest-xdist workers) never collide."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from authserver.config import is_loopback_host, load_settings
from authserver.harness.config import HarnessConfig, load_config
from authserver.runtime.sockets import Listener, bind_socket

WARNING = (
    "WARNING: authserver harness is for tests only: anyone can log in as anyone and its "
    "admin API mints tokens. Never expose it or use it for real users."
)


class HarnessServer:
    def __init__(
        self,
        config: HarnessConfig,
        *,
        public_port: int = 0,
        admin_port: int = 0,
        host: str = "127.0.0.1",
        token_strategy: str | None = None,
        dsn: str | None = None,
        environ: Mapping[str, str] | None = None,
        threads: int = 8,
    ):
        """``environ``: server settings by environment name (``URLS_SELF_ISSUER``,
        ``TTL_*``…) over the config file's; the CLI passes the process environment, an
        embedding test session none (its DSN must not leak into the harness)."""
        self.config = config
        self.host = host
        self.threads = threads
        self._ports = {"public": public_port, "admin": admin_port}
        self._token_strategy = token_strategy
        self._dsn = dsn
        self._environ = dict(environ or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.services = None
        self.settings = None
        self.started_in: float | None = None  # seconds, from start() to ready

    @classmethod
    def from_file(cls, path: str | Path | None, **options) -> HarnessServer:
        return cls(load_config(path), **options)

    # -- where it is ------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def admin_url(self) -> str:
        return f"http://{_url_host(self.settings.admin_host)}:{self.settings.admin_port}"

    # -- start and stop ---------------------------------------------------------------------

    def start(self, background: bool = True) -> HarnessServer:
        """Bind, build and serve. ``background=False`` serves in this thread until SIGTERM
        or SIGINT (the CLI)."""
        began = time.perf_counter()
        listeners = self._bind()
        try:
            self.settings = load_settings(self._settings_env(listeners), dev=True)
            apps = self._build()
        except BaseException:
            for listener in listeners:
                listener.socket.close()
            if self.services is not None:
                self.services.close()
            raise
        self.started_in = time.perf_counter() - began
        from authserver.runtime.waitress_server import serve_forever

        self.services.start_background_work()
        if not background:
            serve_forever(apps, listeners, self.threads, self.services.close)
            return self
        self._thread = threading.Thread(
            target=serve_forever,
            args=(apps, listeners, self.threads, self.services.close, self._stop),
            name="authserver-harness",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> HarnessServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the parts --------------------------------------------------------------------------

    def _bind(self) -> list[Listener]:
        listeners: list[Listener] = []
        try:
            for name in ("public", "admin"):
                sock = bind_socket(self.host, self._ports[name])
                sock.listen(1024)
                listeners.append(Listener(name, self.host, sock.getsockname()[1], sock))
        except OSError:
            for listener in listeners:
                listener.socket.close()
            raise
        return listeners

    def _settings_env(self, listeners: list[Listener]) -> dict[str, str]:
        ports = {listener.name: listener.port for listener in listeners}
        env = {
            "DSN": "memory",
            "LOG_LEVEL": "warning",
            **self.config.settings_env(),
            **self._environ,
        }
        if self._dsn:
            env["DSN"] = self._dsn
        if self._token_strategy:
            env["STRATEGIES_ACCESS_TOKEN"] = self._token_strategy
        env.setdefault("SECRETS_SYSTEM", secrets.token_urlsafe(32))
        env.setdefault("URLS_SELF_ISSUER", f"http://{_url_host(self.host)}:{ports['public']}/")
        base = (env.get("URLS_SELF_PUBLIC") or env["URLS_SELF_ISSUER"]).rstrip("/")
        env.update(
            {
                "SERVE_PUBLIC_HOST": self.host,
                "SERVE_ADMIN_HOST": self.host,
                "SERVE_PUBLIC_PORT": str(ports["public"]),
                "SERVE_ADMIN_PORT": str(ports["admin"]),
                # The built-in app, at the browser-facing address (login_app).
                "URLS_LOGIN": f"{base}/harness/login",
                "URLS_CONSENT": f"{base}/harness/consent",
                "URLS_LOGOUT": f"{base}/harness/logout",
                "URLS_DEVICE_VERIFICATION": f"{base}/harness/device",
                "URLS_DEVICE_SUCCESS": f"{base}/harness/device/done",
            }
        )
        return env

    def _build(self) -> dict:
        from authserver.services import build_services
        from authserver.storage import migrations

        self.services = services = build_services(self.settings)
        if services.database.is_memory:
            migrations.create_fresh_schema(services.database)
        else:
            migrations.upgrade(services.database)  # a harness database is always migrated
        # RSA key generation and argon2 release the GIL: the signing keys and the configured
        # clients' secret hashes are made on the other core while the apps are imported and
        # built, which is most of a start.
        from authserver.harness.seed import ConfiguredClients

        keys = _Background(services.ensure_keys)
        hashed = _Background(lambda: ConfiguredClients(self.config.clients, services))
        try:
            from authserver.admin.app import create_admin_app
            from authserver.harness import admin_api, login_app
            from authserver.harness.request_log import RequestLog
            from authserver.harness.state import HarnessState
            from authserver.public.app import create_public_app

            state = HarnessState(self.config)
            clients = hashed.result()
            with services.database.transaction() as session:
                clients.install(session)

            public = create_public_app(services)
            public.register_blueprint(login_app.bp)
            public.extensions["harness"] = state
            public.wsgi_app = RequestLog(public.wsgi_app, state, services.clock)
            admin = create_admin_app(services)
            admin.register_blueprint(admin_api.bp, url_prefix="/admin")
            admin.register_blueprint(admin_api.bp, name="harness_unprefixed")
            admin.extensions["harness"] = state
            admin.extensions["harness_clients"] = clients
        finally:
            # Never left running on a database that a failed start is about to close.
            keys.join()
            hashed.join()
        keys.result()
        return {"public": public, "admin": admin}


class _Background:
    """A call running in a thread; ``result()`` waits for its value or re-raises."""

    def __init__(self, function):
        self._error: BaseException | None = None
        self._value = None

        def run():
            try:
                self._value = function()
            except BaseException as exc:  # handed to result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="authserver-harness-start", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _url_host(host: str) -> str:
    """The address to reach a listener on: a wildcard bind is reached on loopback."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (a comparison, not a bind)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and is_loopback_host(host) else host
