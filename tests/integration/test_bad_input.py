"""Bad input against every endpoint of the three apps, on SQLite and on PostgreSQL.

The corpus (``bad_input_corpus``): NUL bytes, lone surrogates, invalid UTF-8, CR/LF,
over-long values, deep and odd JSON, wrong content types, broken framing, oversized request
heads, odd Host and Authorization headers, odd and unknown methods... crossed with every
route of the four Flask apps (read from their url maps, so new routes are covered), sent
over raw sockets to real processes: ``authserver serve all --dev``, ``consent-ui`` and
``demo-client`` against a database of each kind.

What must hold, for every single request:

- never a 5xx, never a traceback in the body;
- on authserver's two API ports, every 4xx is a JSON error document
  (``Content-Type: application/json`` with an ``error`` string), even when waitress itself
  refuses the request; authserver's browser pages (``/oauth2/auth``,
  ``/oauth2/sessions/logout``, ``/oauth2/fallbacks/*``) may answer with HTML or a redirect;
- no process log gets a line that a request forged with CR/LF.

Each test collects every failure and asserts once, with failures grouped by cause; the full
list is also written to ``test-artifacts/bad-input/<backend>-<app>.txt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests import conftest
from tests.conftest import (
    POSTGRES_ENV,
    ServerProcess,
    _skipped_postgres,
    drop_postgres_database,
    free_port,
    migrated_database,
    start_server,
)
from tests.integration import bad_input_corpus as corpus
from tests.integration.consent_ui_process import ConsentUiProcess, start_consent_ui
from tests.integration.demo_client_process import DemoClientProcess, start_demo_client
from tests.integration.oauth_flow import FlowDriver, create_code_client, pkce_pair, query

TIMEOUT = 10
ARTIFACTS = conftest.ROOT / "test-artifacts" / "bad-input"
DEMO_SECRET = "bad-input-demo-secret-0123456789"
REDIRECT_ORIGIN = "http://127.0.0.1:9999"
SESSION_COOKIES = {
    "public": ("authserver_session", "authserver_login_csrf", "authserver_consent_csrf"),
    "admin": ("session",),
    "consent_ui": ("consent_ui_session", "consent_ui_remember"),
    "demo_client": ("demo_client_session",),
}


@dataclass
class Stack:
    backend: str
    server: ServerProcess
    ui: ConsentUiProcess
    demo: DemoClientProcess
    corpus: corpus.Corpus
    resolver: corpus.Resolver

    def addresses(self) -> dict[str, tuple[str, int]]:
        urls = {
            "public": self.server.public_url,
            "admin": self.server.admin_url,
            "consent_ui": self.ui.url,
            "demo_client": self.demo.url,
        }
        return {app: (urlsplit(url).hostname, urlsplit(url).port) for app, url in urls.items()}

    def logs(self) -> dict[str, str]:
        return {
            "authserver": self.server.log(),
            "consent_ui": self.ui.log(),
            "demo_client": self.demo.log(),
        }


@pytest.fixture(scope="module")
def routes() -> dict[str, list[corpus.Route]]:
    return corpus.discover_routes()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request, tmp_path_factory):
    backend = request.param
    admin_dsn = os.environ.get(POSTGRES_ENV)
    if backend == "postgres" and not admin_dsn:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    log_dir = tmp_path_factory.mktemp(f"bad-input-{backend}")
    database = migrated_database(backend, log_dir, "authserver_bad_input")
    processes = []
    pool = SessionPool()
    try:
        ui_port = free_port()
        ui_url = f"http://127.0.0.1:{ui_port}"
        server = start_server(
            database,
            log_dir,
            env={
                "URLS_LOGIN": ui_url + "/login",
                "URLS_CONSENT": ui_url + "/consent",
                "URLS_LOGOUT": ui_url + "/logout",
                # Every endpoint on, with every layer in front of it: registration
                # (unlimited, so the corpus reaches the handlers) and CORS.
                "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED": "true",
                "OIDC_DYNAMIC_CLIENT_REGISTRATION_RATE_LIMIT": "0",
                "SERVE_PUBLIC_CORS_ENABLED": "true",
                "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": "https://listed.example",
                "SERVE_ADMIN_CORS_ENABLED": "true",
                "SERVE_ADMIN_CORS_ALLOWED_ORIGINS": "https://listed.example",
            },
            args=("--dev",),
        )
        processes.append(server)
        ui = start_consent_ui(ui_port, server.admin_url, log_dir)
        processes.append(ui)
        demo_port = free_port()
        demo = start_demo_client(
            log_dir,
            env={
                "DEMO_CLIENT_ISSUER": server.public_url + "/",
                "DEMO_CLIENT_ADMIN_URL": server.admin_url,
                "DEMO_CLIENT_SECRET": DEMO_SECRET,
                "DEMO_CLIENT_REDIRECT_URI": f"http://127.0.0.1:{demo_port}/callback",
                # Named here (the default has the port in it): the corpus forges this cookie.
                "DEMO_CLIENT_SESSION_COOKIE": "demo_client_session",
            },
            port=demo_port,
        )
        processes.append(demo)
        yield prepare(backend, server, ui, demo, pool)
    finally:
        pool.close()
        for process in reversed(processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.stop()
        if backend == "postgres":
            drop_postgres_database(admin_dsn, database)


class SessionPool:
    """Keep-alive ``requests`` sessions, one per thread and purpose, all closed at the end."""

    def __init__(self):
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self, purpose: str) -> requests.Session:
        session = getattr(self._local, purpose, None)
        if session is None:
            session = requests.Session()
            setattr(self._local, purpose, session)
            with self._lock:
                self._sessions.append(session)
        return session

    def track(self, session: requests.Session) -> requests.Session:
        with self._lock:
            self._sessions.append(session)
        return session

    def close(self) -> None:
        for session in self._sessions:
            session.close()


class MintingDriver(FlowDriver):
    """A FlowDriver on the pool's keep-alive sessions; a new browser (no cookies) each time."""

    def __init__(self, server, client: dict, pool: SessionPool):
        super().__init__(server, client)
        self.browser.close()
        self.browser = pool.get("browser")
        self.browser.cookies.clear()
        self._admin_session = pool.get("admin")

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self.server.admin_url + path
        return self._admin_session.request(method, url, timeout=TIMEOUT, **kwargs)


def prepare(backend, server, ui, demo, pool: SessionPool) -> Stack:
    """Real objects for the templates: clients, keys, tokens, sessions, CSRF tokens."""
    admin = pool.get("setup")

    def post(path: str, document: dict) -> dict:
        response = admin.post(server.admin_url + path, json=document, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        return response.json()

    redirect_uri = REDIRECT_ORIGIN + "/callback"
    main = create_code_client(
        server,
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        post_logout_redirect_uris=[REDIRECT_ORIGIN + "/logged-out"],
        audience=["https://api.example.com"],
    )
    public_client = {"token_endpoint_auth_method": "none", "redirect_uris": [redirect_uri]}
    public = post("/admin/clients", public_client)
    victim = post("/admin/clients", {**public_client, "client_name": "victim"})
    doomed = post("/admin/clients", {**public_client, "client_name": "doomed"})
    post_client = post(
        "/admin/clients",
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"},
    )
    kid = post("/admin/keys/bad-input", {"alg": "ES256"})["keys"][0]["kid"]
    post("/admin/keys/bad-input-doomed", {"alg": "ES256"})
    doomed_kid = post("/admin/keys/bad-input-doomed-2", {"alg": "ES256"})["keys"][0]["kid"]
    revoke = admin.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(main["client_id"], main["client_secret"]),
        timeout=TIMEOUT,
    )
    assert revoke.status_code == 200, revoke.text

    # Two grants: A's tokens are read (userinfo, introspection, id_token_hint); B's refresh
    # token is refreshed again and again, which revokes B but never A.
    browser = FlowDriver(server, main)
    pool.track(browser.browser)
    tokens_a = exchange(browser, browser.run(login={"remember": True}))
    other = FlowDriver(server, main)
    pool.track(other.browser)
    tokens_b = exchange(other, other.run())
    session_cookie = browser.browser.cookies.get("authserver_session")
    assert session_cookie, "the remembered login set no authserver_session cookie"

    def mint_login() -> str:
        return MintingDriver(server, main, pool).start()

    def mint_consent() -> str:
        driver = MintingDriver(server, main, pool)
        return driver.consent_challenge_after(driver.accept_login(driver.start()))

    def mint_logout() -> str:
        response = pool.get("logout").get(
            server.public_url + "/oauth2/sessions/logout",
            cookies={"authserver_session": session_cookie},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert response.status_code == 302, response.text
        return query(response.headers["Location"])["logout_challenge"]

    # consent_ui: a session cookie and its CSRF token, from a real login page.
    ui_browser = pool.track(requests.Session())
    page = ui_browser.get(
        ui.url + "/login", params={"login_challenge": mint_login()}, timeout=TIMEOUT
    )
    assert page.status_code == 200, page.text
    ui_csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    ui_csrf = ui_csrf or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert ui_csrf, page.text

    # demo_client: logged in for real, with its CSRF token.
    demo_browser, demo_csrf = demo_login(server, demo)
    pool.track(demo_browser)

    def mint_demo_state() -> str:
        response = pool.get("demo").get(
            demo.url + "/login",
            cookies={"demo_client_session": demo_browser.cookies.get("demo_client_session")},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert response.status_code == 302, response.text
        return query(response.headers["Location"])["state"]

    keys = key_based_material(server, admin, post)
    _, challenge = pkce_pair()
    values = {
        **keys,
        "issuer": server.public_url + "/",
        "redirect_uri": redirect_uri,
        "redirect_origin": REDIRECT_ORIGIN,
        "post_logout_redirect_uri": REDIRECT_ORIGIN + "/logged-out",
        "code_challenge": challenge,
        "client_id": main["client_id"],
        "client_secret": main["client_secret"],
        "public_client_id": public["client_id"],
        "post_client_id": post_client["client_id"],
        "post_client_secret": post_client["client_secret"],
        "victim_client_id": victim["client_id"],
        "doomed_client_id": doomed["client_id"],
        "key_set": "bad-input",
        "kid": kid,
        "created_key_set": "bad-input-created",
        "doomed_key_set": "bad-input-doomed",
        "doomed_key_set_2": "bad-input-doomed-2",
        "doomed_kid": doomed_kid,
        "static_file": "style.css",
        "access_token": tokens_a["access_token"],
        "id_token": tokens_a["id_token"],
        "refresh_token": tokens_b["refresh_token"],
        "revoke_token": revoke.json()["access_token"],
        "ui_csrf": ui_csrf.group(1),
        "demo_csrf": demo_csrf,
    }
    token = secrets.token_hex(4)
    the_corpus = corpus.Corpus(
        values=values,
        cookies={
            "public": f"authserver_session={session_cookie}",
            "consent_ui": f"consent_ui_session={ui_browser.cookies.get('consent_ui_session')}",
            "demo_client": (
                f"demo_client_session={demo_browser.cookies.get('demo_client_session')}"
            ),
        },
        session_cookies=SESSION_COOKIES,
        markers={app: f"FORGED-{app}-{token}" for app in corpus.APPS},
    )
    resolver = corpus.Resolver(
        {
            "login": mint_login,
            "consent": mint_consent,
            "logout": mint_logout,
            "demo_state": mint_demo_state,
        }
    )
    return Stack(backend, server, ui, demo, the_corpus, resolver)


CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "bad-input"}, private=True)
CORS_ORIGIN = "https://app.bad-input.example"


def key_based_material(server, admin, post) -> dict[str, str]:
    """A private_key_jwt client and its assertion, a trusted JWT issuer and a JWT bearer
    assertion, and registered clients with their registration tokens."""
    now = int(time.time())
    key_client = post(
        "/admin/clients",
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [CLIENT_KEY.as_dict(private=False)]},
            "allowed_cors_origins": [CORS_ORIGIN],
        },
    )["client_id"]
    token_url = server.public_url + "/oauth2/token"
    client_claims = {"iss": key_client, "sub": key_client, "aud": token_url, "exp": now + 3000}
    issuer = "https://bad-input.example/idp"
    trusted = post(
        "/admin/trust/grants/jwt-bearer/issuers",
        {
            "issuer": issuer,
            "subject": "alice",
            "scope": ["read"],
            "jwk": CLIENT_KEY.as_dict(private=False),
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    doomed_trust = post(
        "/admin/trust/grants/jwt-bearer/issuers",
        {
            "issuer": issuer + "/doomed",
            "allow_any_subject": True,
            "scope": [],
            "jwk": CLIENT_KEY.as_dict(private=False),
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    bearer_client = post(
        "/admin/clients",
        {"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "scope": "read"},
    )
    bearer_claims = {"iss": issuer, "sub": "alice", "aud": token_url, "iat": now, "exp": now + 3000}

    def sign(claims: dict) -> str:
        claims = {**claims, "jti": secrets.token_urlsafe(12)}
        return jwt.encode({"alg": "RS256", "kid": "bad-input"}, claims, CLIENT_KEY)

    def register() -> dict:
        response = admin.post(
            server.public_url + "/oauth2/register",
            json={"grant_types": ["client_credentials"]},
            timeout=TIMEOUT,
        )
        assert response.status_code == 201, response.text
        return response.json()

    registered, victim, doomed = register(), register(), register()
    return {
        "cors_origin": CORS_ORIGIN,
        "client_assertion": sign(client_claims),
        "bearer_assertion": sign(bearer_claims),
        "bearer_client_id": bearer_client["client_id"],
        "bearer_client_secret": bearer_client["client_secret"],
        "trusted_issuer": issuer,
        "trust_id": trusted["id"],
        "doomed_trust_id": doomed_trust["id"],
        "trust_jwk": json.dumps(
            RSAKey.generate_key(2048, parameters={"kid": "t"}, private=True).as_dict(private=False)
        ),
        "registered_client_id": registered["client_id"],
        "registration_token": registered["registration_access_token"],
        "registered_victim_id": victim["client_id"],
        "victim_registration_token": victim["registration_access_token"],
        "registered_doomed_id": doomed["client_id"],
        "doomed_registration_token": doomed["registration_access_token"],
    }


def exchange(driver: FlowDriver, callback: dict) -> dict:
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    return response.json()


def demo_login(server, demo) -> tuple[requests.Session, str]:
    driver = FlowDriver(
        server,
        {"client_id": "demo-client", "client_secret": DEMO_SECRET},
        redirect_uri=demo.url + "/callback",
    )
    response = driver.browser.get(demo.url + "/login", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    response = driver.follow(response.headers["Location"])
    assert response.status_code == 302, response.text
    login_challenge = query(response.headers["Location"])["login_challenge"]
    consent = driver.consent_challenge_after(driver.accept_login(login_challenge, remember=True))
    response = driver.follow(driver.accept_consent(consent))
    assert response.status_code == 302, response.text
    response = driver.follow(response.headers["Location"])
    assert response.status_code == 303, response.text
    home = driver.browser.get(demo.url + "/", timeout=TIMEOUT)
    match = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert match, home.text
    return driver.browser, match.group(1)


# -- the tests -----------------------------------------------------------------------------


class _PlaceholderValues(dict):
    def __missing__(self, key: str) -> str:
        return f"placeholder-{key}"


def test_every_route_gets_the_corpus(routes):
    """Every (route, method) of the four url maps has a baseline and corrupted requests,
    built from nothing but the url maps and placeholder values."""
    placeholder = corpus.Corpus(
        values=_PlaceholderValues(),
        cookies={},
        session_cookies=SESSION_COOKIES,
        markers={app: "FORGED" for app in corpus.APPS},
    )
    for app in corpus.APPS:
        assert routes[app], f"no routes found in {app}"
        probes = corpus.build_probes(routes[app], placeholder)
        covered = {(probe.rule, probe.method) for probe in probes}
        for route in routes[app]:
            for method in route.views:
                assert (route.rule, method) in covered, (app, route.rule, method)
            for method in corpus.ODD_METHODS:
                assert (route.rule, method) in covered, (app, route.rule, method)


@pytest.mark.parametrize("app", corpus.APPS)
def test_bad_input(stack: Stack, routes, app: str):
    """The whole corpus against one app: no 5xx, no traceback, JSON errors on the API
    ports, no forged log line. One assertion at the end lists every failure."""
    probes = corpus.build_probes(routes[app], stack.corpus)
    minted_before = sum(stack.resolver.minted.values())
    result = corpus.run_probes(probes, stack.addresses(), stack.resolver)
    logs = stack.logs()
    corpus.explain_server_errors(result.failures, logs)
    markers = {app: stack.corpus.markers[app]}
    failures = result.failures + corpus.forged_log_lines(logs, probes, markers)
    minted = sum(stack.resolver.minted.values()) - minted_before
    summary = (
        f"{stack.backend}/{app}: {result.sent[app]} requests from {len(probes)} probes in "
        f"{result.seconds:.1f}s ({minted} challenges minted); statuses: "
        + ", ".join(
            f"{status}x{count}"
            for (_, status), count in sorted(result.statuses.items(), key=lambda i: str(i[0][1]))
        )
    )
    slowest = "\n".join(f"  {seconds:.2f}s {what[:300]}" for seconds, what in result.slowest)
    print(f"{summary}\nslowest requests:\n{slowest}")
    full = ARTIFACTS / f"{stack.backend}-{app}.txt"
    full.unlink(missing_ok=True)
    if failures:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        full.write_text("\n".join(failure.line() for failure in failures) + "\n")
    assert not failures, f"{summary}\nevery failure: {full}\n\n" + corpus.report(failures, result)
