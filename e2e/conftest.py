"""End-to-end fixtures: the real stack (three apps, four listeners, separate processes) and
a real Chromium driven by Playwright.

The browser is the one named by ``AUTHSERVER_E2E_BROWSER``, else ``chromium`` (or
``chromium-browser``, ``google-chrome``) on PATH, else Playwright's own download. A failing
test leaves a screenshot and the page's HTML in ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import (
    POSTGRES_ENV,
    ManagedProcess,
    TestDatabase,
    authserver_command,
    console_command,
    drop_postgres_database,
    free_port,
    migrated_database,
    wait_alive,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USER = ("foo@bar.com", "foobar")


def browser_executable() -> str | None:
    named = os.environ.get("AUTHSERVER_E2E_BROWSER")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None  # Playwright's own browser, if `playwright install chromium` worked


NO_BROWSER = (
    "browser tests did not run: no Chromium found; install it (Debian/Ubuntu: apt-get "
    "install chromium) or name one in AUTHSERVER_E2E_BROWSER"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        executable = browser_executable()
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            # No browser on PATH and none downloaded (`playwright install` needs the
            # internet): one line at the end of the run, not Playwright's stack trace.
            if executable is None and "Executable doesn't exist" in str(exc):
                pytest.skip(NO_BROWSER)
            raise
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """Say loudly what did not run (no PostgreSQL, no browser, no Docker engine), after
    the short test summary, where the skip lines cannot bury it. (The notice about the
    PostgreSQL tests under tests/ is tests/conftest.py's, and `make test` repeats it last.)"""
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = {
        str(report.longrepr[2]).removeprefix("Skipped: ") for report in skipped if report.longrepr
    }
    for reason in sorted(reasons - {""}):
        if not reason.startswith("PostgreSQL tests did not run"):  # tests/conftest.py's
            terminalreporter.write_sep("!", reason, yellow=True, bold=True)


# -- the stack ---------------------------------------------------------------------------


def _command(name: str) -> list[str]:
    return console_command(name, name.replace("-", "_") + ".cli")


@dataclass(kw_only=True)
class App(ManagedProcess):
    name: str
    url: str


@dataclass
class Stack:
    public: str
    admin: str
    consent: str
    client: str
    apps: list[App]
    env: dict

    def logs(self) -> str:
        return "\n".join(f"--- {app.name}\n{app.log()[-4000:]}" for app in self.apps)


def _start(name: str, argv: list[str], env: dict, url: str, health: str, log_dir: Path) -> App:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    app = App(name=name, url=url, process=process, log_path=log_path)
    if not wait_alive(url, 40, process, path=health):
        app.stop()
        raise AssertionError(f"{name} did not come up:\n{app.log()}")
    return app


def _stop(apps: list[App]) -> None:
    for app in reversed(apps):
        with contextlib.suppress(subprocess.TimeoutExpired):
            app.stop()


def start_stack(
    database: TestDatabase,
    log_dir: Path,
    extra_env: dict | None = None,
    consent_env: dict | None = None,
) -> Stack:
    """``extra_env`` goes to authserver; ``consent_env`` to consent-ui (e.g. its user store).

    A port picked free can be taken by another test process before an app binds it: the
    app then says so at once, and the stack is started again on other ports."""
    for attempt in range(3):
        try:
            return _start_stack_once(database, log_dir, extra_env, consent_env)
        except AssertionError as exc:
            if "already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_stack_once(
    database: TestDatabase, log_dir: Path, extra_env: dict | None, consent_env: dict | None
) -> Stack:
    public_port, admin_port, consent_port, client_port = (free_port() for _ in range(4))
    public = f"http://127.0.0.1:{public_port}"
    admin = f"http://127.0.0.1:{admin_port}"
    consent = f"http://127.0.0.1:{consent_port}"
    client = f"http://127.0.0.1:{client_port}"
    env = {
        "DSN": database.dsn,
        "SECRETS_SYSTEM": "e2e-secret-" + "x" * 24,
        "SERVE_PUBLIC_PORT": str(public_port),
        "SERVE_ADMIN_PORT": str(admin_port),
        "URLS_SELF_ISSUER": public + "/",
        "URLS_LOGIN": consent + "/login",
        "URLS_CONSENT": consent + "/consent",
        "URLS_LOGOUT": consent + "/logout",
        "URLS_DEVICE_VERIFICATION": consent + "/device",
        "URLS_DEVICE_SUCCESS": consent + "/device/success",
        "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL": "1s",  # the page polls quickly
        "LOG_LEVEL": "debug",
        **(extra_env or {}),
    }
    apps: list[App] = []
    try:
        apps.append(
            _start(
                "authserver",
                [*authserver_command(), "serve", "all", "--dev"],
                env,
                admin,
                "/health/ready",
                log_dir,
            )
        )
        apps.append(
            _start(
                "consent-ui",
                _command("consent-ui"),
                {
                    "HYDRA_ADMIN_URL": admin,
                    "PORT": str(consent_port),
                    "HOST": "127.0.0.1",
                    "CONSENT_UI_SECRET_KEY": "e2e-consent-secret-key",
                    "CONSENT_UI_DEMO_CLIENT_URL": client + "/",  # linked from its pages
                    **(consent_env or {}),
                },
                consent,
                "/healthz",
                log_dir,
            )
        )
        apps.append(
            _start(
                "demo-client",
                [*_command("demo-client"), "--register"],
                {
                    "PORT": str(client_port),
                    "HOST": "127.0.0.1",
                    "DEMO_CLIENT_ISSUER": public + "/",
                    "DEMO_CLIENT_ADMIN_URL": admin,
                    "DEMO_CLIENT_ID": "e2e-demo-client",
                    "DEMO_CLIENT_SECRET": "e2e-demo-client-secret",
                    "DEMO_CLIENT_REDIRECT_URI": client + "/callback",
                    "DEMO_CLIENT_SECRET_KEY": "e2e-demo-client-key",
                },
                client,
                "/healthz",
                log_dir,
            )
        )
    except BaseException:
        _stop(apps)
        raise
    return Stack(public, admin, consent, client, apps, env)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def stack(backend, tmp_path) -> Iterator[Stack]:
    """A fresh stack per test: three apps, a fresh database, free ports."""
    if backend == "postgres" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"PostgreSQL end-to-end tests did not run: set {POSTGRES_ENV}")
    database = migrated_database(backend, tmp_path, "authserver_e2e")
    created = database if backend == "postgres" else None
    stack = start_stack(database, tmp_path)
    yield stack
    _stop(stack.apps)
    if created is not None:
        drop_postgres_database(os.environ[POSTGRES_ENV], created)
