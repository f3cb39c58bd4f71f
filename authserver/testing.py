"""A pytest plugin: an authserver test harness for your test suite.

Installing authserver registers this plugin (entry point ``pytest11`` named ``authserver``;
with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, ask for it with ``-p authserver``; do not add
``-p authserver.testing`` when it autoloads: pytest refuses one module under two names).
A test asks for the ``authserver`` fixture, and talks to a real OAuth2/OIDC server running
in the test process, with a login/consent app that follows the decisions the test queues::

    def test_login(authserver):
        authserver.create_client(
            client_id="web",
            client_secret="web-secret-0123456789abcdef",
            redirect_uris=["http://localhost/cb"],
            scope="openid",
        )
        authserver.set_user("alice", email="alice@example.com")
        authserver.next_login("alice")
        ...  # drive your app through the authorization code flow at authserver.issuer

    def test_expiry(authserver):  # client "api" and user "alice" from the YAML file
        token = authserver.issue_token("api", "alice", scope="openid")
        authserver.clock.advance("2h")
        ...  # the token is expired now

One harness is started per test session (per worker with pytest-xdist, on free ports), and
``authserver`` resets it after every test. Settings (command line, or ini key):

* ``--authserver-config`` / ``authserver_config``: the harness YAML file (an ini path is
  relative to the rootdir);
* ``--authserver-token-strategy`` / ``authserver_token_strategy``: ``opaque`` or ``jwt``;
* ``--authserver-dsn`` / ``authserver_dsn``: the database (default: in memory); a
  ``{worker}`` in it is replaced by the pytest-xdist worker id, so workers do not share one;
* ``--authserver-public-url`` and ``--authserver-admin-url`` (or the environment variables
  ``AUTHSERVER_HARNESS_PUBLIC_URL`` and ``AUTHSERVER_HARNESS_ADMIN_URL``): use a harness
  that already runs (a CI service, a compose stack) instead of starting one. It is reset at
  the start of the session and after every test, so give each test session its own.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    import requests as requests_lib

__all__ = ["Clock", "Harness", "HarnessError"]

PUBLIC_URL_ENV = "AUTHSERVER_HARNESS_PUBLIC_URL"
ADMIN_URL_ENV = "AUTHSERVER_HARNESS_ADMIN_URL"
TOKEN_STRATEGIES = ("opaque", "jwt")
# Long enough for a slow CI machine, short enough that a wedged harness fails the test.
DEFAULT_TIMEOUT = 30.0
MAX_REDIRECTS = 20  # an authorization flow takes five; more is a loop


class HarnessError(Exception):
    """A harness call failed: ``status`` is the HTTP status (``None`` when the harness
    could not be reached), ``error`` and ``description`` the OAuth2-style error body."""

    def __init__(
        self,
        status: int | None,
        error: str,
        description: str | None = None,
        *,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.method = method
        self.url = url
        where = f"{method} {url}: " if method else ""
        got = f"HTTP {status}, " if status is not None else ""
        detail = f" ({description})" if description else ""
        super().__init__(f"{where}{got}{error}{detail}")


class Clock:
    """The harness's clock, which every expiry check reads; ``harness.clock``."""

    def __init__(self, harness: Harness) -> None:
        self._harness = harness

    def advance(self, amount: float | datetime.timedelta | str) -> dict[str, Any]:
        """Move the clock forward by seconds, a ``timedelta`` or a duration such as
        ``"90s"``, ``"5m"`` or ``"1h30m"``; returns the clock's state."""
        if isinstance(amount, bool) or not isinstance(
            amount, int | float | datetime.timedelta | str
        ):
            raise TypeError(f"advance() takes seconds, a timedelta or a duration, not {amount!r}")
        if isinstance(amount, datetime.timedelta):
            amount = amount.total_seconds()
        return self._set(advance=amount)

    def freeze(self) -> dict[str, Any]:
        """Stop the clock where it is (until ``unfreeze`` or ``reset``)."""
        return self._set(freeze=True)

    def unfreeze(self) -> dict[str, Any]:
        """Let the clock run again, keeping any offset."""
        return self._set(freeze=False)

    def reset(self) -> dict[str, Any]:
        """Back to real time, running."""
        return self._set(reset=True)

    def state(self) -> dict[str, Any]:
        """``{"now": <unix seconds>, "frozen": bool, "offset": <seconds>}``."""
        return self._harness._admin("GET", "/admin/harness/clock")

    def now(self) -> int:
        """The harness's current time, in Unix seconds."""
        return self.state()["now"]

    def _set(self, **body: Any) -> dict[str, Any]:
        return self._harness._admin("POST", "/admin/harness/clock", json=body)


class Harness:
    """A client of a running authserver harness (its public and admin HTTP APIs).

    Every admin call that fails raises ``HarnessError``. The fixtures build one for you;
    build one yourself to drive a harness outside pytest.
    """

    def __init__(
        self,
        public_url: str,
        admin_url: str,
        *,
        issuer: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import requests  # here, not at module level: pytest loads this module in every session

        self.public_url = public_url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self.timeout = timeout
        self._issuer = issuer
        self._session: requests_lib.Session = requests.Session()
        self._clock = Clock(self)

    def __repr__(self) -> str:
        return f"Harness(public_url={self.public_url!r}, admin_url={self.admin_url!r})"

    def close(self) -> None:
        """Close the HTTP connections (the harness itself keeps running)."""
        self._session.close()

    @property
    def issuer(self) -> str:
        """The issuer URL (with its trailing slash), as discovery and tokens state it."""
        if self._issuer is None:
            self._issuer = self.discovery()["issuer"]
        return self._issuer

    @property
    def clock(self) -> Clock:
        """The harness's clock: ``advance``, ``freeze``, ``unfreeze``, ``reset``, ``now``."""
        return self._clock

    # -- public API -----------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider configuration (``/.well-known/openid-configuration``)."""
        return self._call("GET", self.public_url + "/.well-known/openid-configuration")

    def jwks(self) -> dict[str, Any]:
        """The public signing keys (``/.well-known/jwks.json``)."""
        return self._call("GET", self.public_url + "/.well-known/jwks.json")

    # -- logins ---------------------------------------------------------------------------

    def next_login(
        self,
        subject: str,
        claims: dict[str, Any] | None = None,
        scopes: list[str] | None = None,
        remember: bool = False,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """Queue a login: the next login (of ``client_id``, if given) signs ``subject`` in
        and consents to ``scopes`` (default: the scopes requested). Returns the decision."""
        body = {
            "subject": subject,
            "claims": claims,
            "grant_scope": scopes,
            "remember": remember,
            "client_id": client_id,
        }
        return self._decide(body)

    def deny_next(
        self,
        error: str = "access_denied",
        description: str | None = None,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """Queue a refusal: the next login (of ``client_id``, if given) fails with
        ``error``. Returns the decision."""
        return self._decide(
            {"error": error, "error_description": description, "client_id": client_id}
        )

    def _decide(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._admin("POST", "/admin/harness/decisions", json=_without_none(body))

    def follow(self, url: str, browser: requests_lib.Session | None = None) -> str:
        """Do what a browser does with ``url`` (your app's redirect to the authorization
        endpoint, or a device flow's ``verification_uri_complete``) without one: follow
        the redirects through the harness's login, consent and device pages, as decided.

        Returns the first address outside the harness (your redirect URI with ``code`` and
        ``state``, or ``error``), or, when the flow ends on a harness page (the device
        flow's), that page's address. Pass the same ``browser`` (a ``requests.Session``)
        to keep its cookies: a remembered login is then skipped as in a real browser."""
        import requests

        browser = browser or requests.Session()
        url = self._reachable(url) or url
        for _ in range(MAX_REDIRECTS):
            response = browser.get(url, allow_redirects=False, timeout=self.timeout)
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                if response.status_code >= 400:
                    raise HarnessError(
                        response.status_code, *_error_of(response), method="GET", url=url
                    )
                return url
            url = self._reachable(requests.compat.urljoin(url, location))
            if url is None:
                return requests.compat.urljoin(response.url, location)
        raise HarnessError(None, "too_many_redirects", url, method="GET", url=url)

    def _reachable(self, url: str) -> str | None:
        """``url`` on the harness as this process reaches it (the issuer may be the
        browser-facing address of a harness in a container), or None if not the harness's."""
        for base in (self.public_url, self.issuer.rstrip("/")):
            if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
                return self.public_url + url[len(base) :]
        return None

    # -- tokens, clients and users --------------------------------------------------------

    def issue_token(
        self,
        client_id: str,
        subject: str,
        scope: str | list[str] = "",
        audience: list[str] | None = None,
        claims: dict[str, Any] | None = None,
        expires_in: float | datetime.timedelta | None = None,
    ) -> dict[str, Any]:
        """Mint tokens without a browser flow; returns the token endpoint's response
        (``refresh_token`` with scope offline/offline_access, ``id_token`` with openid)."""
        if not isinstance(scope, str):
            scope = " ".join(scope)
        if isinstance(expires_in, datetime.timedelta):
            expires_in = expires_in.total_seconds()
        body = {
            "client_id": client_id,
            "subject": subject,
            "scope": scope,
            "audience": audience,
            "claims": claims,
            "expires_in": expires_in,
        }
        return self._admin("POST", "/admin/harness/tokens", json=_without_none(body))

    def create_client(self, **metadata: Any) -> dict[str, Any]:
        """Create an OAuth2 client (Hydra's ``POST /admin/clients``), metadata as given;
        returns it, with its ``client_secret`` when one was generated."""
        return self._admin("POST", "/admin/clients", json=metadata)

    def set_user(self, subject: str, **claims: Any) -> dict[str, Any]:
        """Create or replace the user ``subject`` with these claims."""
        return self._admin("PUT", "/admin/harness/users/" + quote(subject, safe=""), json=claims)

    # -- the request log ------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The requests the harness served since the last reset, oldest first: dicts of
        ``method``, ``path``, ``params``, ``status``, ``client_id`` and ``time``."""
        return self._admin("GET", "/admin/harness/requests")

    def requests_for(self, client_id: str) -> list[dict[str, Any]]:
        """The logged requests made by (or for) ``client_id``."""
        return self._admin("GET", "/admin/harness/requests", params={"client_id": client_id})

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._admin("DELETE", "/admin/harness/requests")

    def reset(self) -> None:
        """Forget everything done at run time (sessions, tokens, decisions, users and
        clients added, the request log, the clock); the configuration file's stay."""
        self._admin("POST", "/admin/harness/reset")

    # -- HTTP -----------------------------------------------------------------------------

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, self.admin_url + path, **kwargs)

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One HTTP call: its JSON body, or ``None`` for an empty one."""
        import requests

        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise HarnessError(None, "unreachable", str(exc), method=method, url=url) from exc
        if response.status_code >= 400:
            error, description = _error_of(response)
            raise HarnessError(response.status_code, error, description, method=method, url=url)
        return response.json() if response.content else None


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the caller did not give, so the harness applies its defaults."""
    return {key: value for key, value in body.items() if value is not None}


def _error_of(response: requests_lib.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]), body.get("error_description")
    return response.reason or "error", response.text[:500] or None


# -- the plugin ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("authserver", "authserver test harness")
    group.addoption(
        "--authserver-config",
        metavar="PATH",
        help="harness YAML configuration file (ini: authserver_config)",
    )
    group.addoption(
        "--authserver-token-strategy",
        choices=TOKEN_STRATEGIES,
        help="access token format (ini: authserver_token_strategy)",
    )
    group.addoption(
        "--authserver-dsn",
        metavar="DSN",
        help="harness database; {worker} is the xdist worker id (default: in memory)",
    )
    group.addoption(
        "--authserver-public-url",
        metavar="URL",
        help=f"public URL of a running harness to use (env: {PUBLIC_URL_ENV})",
    )
    group.addoption(
        "--authserver-admin-url",
        metavar="URL",
        help=f"admin URL of a running harness to use (env: {ADMIN_URL_ENV})",
    )
    parser.addini("authserver_config", "harness YAML configuration file (rootdir-relative)")
    parser.addini("authserver_token_strategy", "access token format: opaque or jwt")
    parser.addini("authserver_dsn", "harness database (default: in memory)")


def _setting(config: pytest.Config, name: str) -> str | None:
    """A command line option, else its ini key; ``None`` when neither is set."""
    value = config.getoption(name) or config.getini(name)
    return value or None


def _config_path(config: pytest.Config) -> Path | None:
    given = config.getoption("authserver_config")
    if given:
        return config.invocation_params.dir / given
    from_ini = config.getini("authserver_config")
    return config.rootpath / from_ini if from_ini else None


def _token_strategy(config: pytest.Config) -> str | None:
    strategy = _setting(config, "authserver_token_strategy")
    if strategy is not None and strategy not in TOKEN_STRATEGIES:
        pytest.fail(
            f"authserver_token_strategy = {strategy!r}: use one of {', '.join(TOKEN_STRATEGIES)}",
            pytrace=False,
        )
    return strategy


def _dsn(config: pytest.Config) -> str | None:
    dsn = _setting(config, "authserver_dsn")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return dsn.replace("{worker}", worker) if dsn else None


def _running_harness_urls(config: pytest.Config) -> tuple[str, str] | None:
    """The URLs of a harness that runs already, when both are given."""
    public = config.getoption("authserver_public_url") or os.environ.get(PUBLIC_URL_ENV)
    admin = config.getoption("authserver_admin_url") or os.environ.get(ADMIN_URL_ENV)
    if bool(public) != bool(admin):
        pytest.fail(
            "to use a running authserver harness, give both its public URL and its admin URL "
            f"(--authserver-public-url/{PUBLIC_URL_ENV} and "
            f"--authserver-admin-url/{ADMIN_URL_ENV}); got only "
            + ("the public URL" if public else "the admin URL"),
            pytrace=False,
        )
    return (public, admin) if public else None


@pytest.fixture(scope="session")
def authserver_harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    """The session's harness: started in this process (free ports, so pytest-xdist workers
    each get their own), or the running one named by the URL options. Not reset between
    tests: use ``authserver`` for that."""
    urls = _running_harness_urls(pytestconfig)
    if urls is not None:
        harness = Harness(*urls)
        harness.reset()  # whatever an earlier session left behind
        try:
            yield harness
        finally:
            harness.close()
        return
    yield from _started_harness(pytestconfig)


def _started_harness(config: pytest.Config) -> Iterator[Harness]:
    from authserver.harness.config import HarnessConfigError
    from authserver.harness.server import HarnessServer

    path = _config_path(config)
    try:
        server = HarnessServer.from_file(
            str(path) if path else None,
            public_port=0,
            admin_port=0,
            token_strategy=_token_strategy(config),
            dsn=_dsn(config),
        )
    except HarnessConfigError as exc:  # its message names the file and lists every problem
        pytest.fail(f"authserver harness: {exc}", pytrace=False)
    try:
        server.start()
        harness = Harness(server.public_url, server.admin_url, issuer=server.issuer)
        yield harness
        harness.close()
    finally:
        server.stop()


@pytest.fixture
def authserver(authserver_harness: Harness) -> Iterator[Harness]:
    """The session's harness, reset after the test (the configuration file's clients and
    users stay)."""
    yield authserver_harness
    authserver_harness.reset()
