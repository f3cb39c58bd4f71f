"""Database faults: PostgreSQL down, frozen, restarted, or out of connection slots.

Every test runs against a throwaway PostgreSQL of its own (``pg_instance.PgInstance``,
one per module, each test on a fresh copy of a migrated template database), never the
machine's shared server: these tests stop it, freeze it and restart it.

What a server must do (the settings DATABASE_CONNECT_TIMEOUT, DATABASE_STATEMENT_TIMEOUT
and DATABASE_POOL_TIMEOUT are set short here to keep the tests fast):

* database down or frozen: every endpoint that needs it answers ``503`` with
  ``{"error": "temporarily_unavailable"}`` and ``Retry-After``, within about those
  timeouts (never hangs, never ``500``); ``/health/ready`` answers ``503`` within 5 s;
  ``/health/alive`` answers at once, even when every thread is stuck on the database;
* the same database error repeated is logged once in a while with a count, not once
  (with a traceback) per request;
* after PostgreSQL restarts, the first request of each kind succeeds (the pool's stale
  connections never surface as errors);
* with ``max_connections=10`` and ``--workers 2``, the pools fit: no ``5xx`` under load.

Skipped, with the reason, when the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import TestDatabase as DatabaseRef
from tests.conftest import run_cli, start_server
from tests.integration.oauth_flow import REDIRECT_URI, create_code_client, pkce_pair
from tests.integration.pg_instance import (
    PgInstance,
    children_of,
    kill_survivors,
    snapshot,
    unavailable_reason,
)
from tests.integration.test_metrics import scrape

# Without the PostgreSQL server binaries these tests cannot start their own server: they
# are reported, last, with the other PostgreSQL tests that did not run (CI has them).
pytestmark = pytest.mark.skipif(
    unavailable_reason() is not None,
    reason=f"PostgreSQL tests did not run: no throwaway PostgreSQL ({unavailable_reason()})",
)

TEMPLATE = "authserver_template"
DEFAULT_MAX_CONNECTIONS = 40
FAST = {
    "DATABASE_CONNECT_TIMEOUT": "1s",
    "DATABASE_STATEMENT_TIMEOUT": "2s",
    "DATABASE_POOL_TIMEOUT": "1s",
    # Features whose endpoints (or layers) reach the database too.
    "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED": "true",
    "SERVE_PUBLIC_CORS_ENABLED": "true",
    "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": "https://listed.example",
}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "faults"}, private=True)
DPOP_KEY = ECKey.generate_key("P-256", private=True)
EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# How long a request may take to fail while the database is unreachable: the three
# timeouts above (libpq rounds a connect timeout below 2 s up to 2 s), plus slack for a
# slow, shared machine. A request that takes longer than CLIENT_TIMEOUT hangs.
DOWN_BOUND = 5.0
FROZEN_BOUND = 8.0
READY_BOUND = 5.0
CLIENT_TIMEOUT = 10.0


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg():
    instance = PgInstance(max_connections=DEFAULT_MAX_CONNECTIONS)
    try:
        instance.init()
        instance.start()
        template = DatabaseRef("postgres", instance.create_database(TEMPLATE))
        migrated = run_cli("migrate", "sql", "--yes", template.dsn)
        assert migrated.returncode == 0, migrated.stderr
        yield instance
    finally:
        instance.cleanup()


def _healthy(pg: PgInstance) -> None:
    pg.thaw()
    if not pg.running:
        pg.start()
    if pg.settings["max_connections"] != str(DEFAULT_MAX_CONNECTIONS):
        pg.restart(max_connections=DEFAULT_MAX_CONNECTIONS)


@pytest.fixture
def database(pg) -> DatabaseRef:
    """A fresh, migrated database on the throwaway server (which is up and thawed)."""
    _healthy(pg)
    return DatabaseRef("postgres", pg.create_database(template=TEMPLATE))


@pytest.fixture
def serve(pg, tmp_path):
    """Factory: start ``authserver serve all`` on a database, with the short timeouts.
    At the end the database is thawed and up again first, so that the servers can stop."""
    started = []

    def start(database: DatabaseRef, env: dict | None = None, args: tuple = ()):
        server = start_server(database, tmp_path, {**FAST, **(env or {})}, args)
        started.append(server)
        return server

    yield start
    with contextlib.suppress(Exception):
        _healthy(pg)
    for server in started:
        workers = snapshot(children_of(server.process.pid))
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop(timeout=20)
        kill_survivors(workers)


# -- helpers -----------------------------------------------------------------------------


class Traffic:
    """A client of one server: a client-credentials client, a code client, a token."""

    def __init__(self, server):
        self.server = server
        created = requests.post(
            server.admin_url + "/admin/clients",
            json={"grant_types": ["client_credentials"]},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        self.client = created.json()
        self.code_client = create_code_client(server)
        keyed = requests.post(
            server.admin_url + "/admin/clients",
            json={
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [CLIENT_KEY.as_dict(private=False)]},
                "allowed_cors_origins": ["https://app.example"],
            },
            timeout=10,
        )
        assert keyed.status_code == 201, keyed.text
        self.key_client = keyed.json()["client_id"]
        issued = self.token()
        assert issued.status_code == 200, issued.text
        self.access_token = issued.json()["access_token"]
        exchanger = requests.post(
            server.admin_url + "/admin/clients",
            json={"grant_types": ["client_credentials", EXCHANGE_GRANT]},
            timeout=10,
        )
        assert exchanger.status_code == 201, exchanger.text
        self.exchanger = exchanger.json()
        own = requests.post(
            server.public_url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.exchanger["client_id"], self.exchanger["client_secret"]),
            timeout=10,
        )
        self.exchanger_token = own.json()["access_token"]

    def token(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.post(
            self.server.public_url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client["client_id"], self.client["client_secret"]),
            timeout=timeout,
        )

    def introspect(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.post(
            self.server.admin_url + "/admin/oauth2/introspect",
            data={"token": self.access_token},
            timeout=timeout,
        )

    def get_client(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.get(
            self.server.admin_url + f"/admin/clients/{self.client['client_id']}", timeout=timeout
        )

    def create_client(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.post(
            self.server.admin_url + "/admin/clients",
            json={"grant_types": ["client_credentials"]},
            timeout=timeout,
        )

    def authorize(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        _verifier, challenge = pkce_pair()
        params = {
            "client_id": self.code_client["client_id"],
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid offline_access",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return requests.get(
            self.server.public_url + "/oauth2/auth",
            params=params,
            allow_redirects=False,
            timeout=timeout,
        )

    def token_by_assertion(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        """private_key_jwt (its jti is recorded) from a browser origin the client lists
        (the CORS layer looks the client up first)."""
        now = int(time.time())
        claims = {
            "iss": self.key_client,
            "sub": self.key_client,
            "aud": self.server.public_url + "/oauth2/token",
            "exp": now + 60,
            "jti": secrets.token_urlsafe(12),
        }
        assertion = jwt.encode({"alg": "RS256", "kid": "faults"}, claims, CLIENT_KEY)
        return requests.post(
            self.server.public_url + "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
            headers={"Origin": "https://app.example"},
            timeout=timeout,
        )

    def register(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.post(
            self.server.public_url + "/oauth2/register",
            json={"grant_types": ["client_credentials"]},
            timeout=timeout,
        )

    def trusted_issuers(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.get(
            self.server.admin_url + "/admin/trust/grants/jwt-bearer/issuers", timeout=timeout
        )

    def push(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        """A pushed authorization request (RFC 9126): validated and stored."""
        _verifier, challenge = pkce_pair()
        return requests.post(
            self.server.public_url + "/oauth2/par",
            data={
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": "openid",
                "state": secrets.token_urlsafe(12),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            auth=(self.code_client["client_id"], self.code_client["client_secret"]),
            timeout=timeout,
        )

    def dpop_token(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        """client_credentials with a DPoP proof (its jti is recorded)."""
        url = self.server.public_url + "/oauth2/token"
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": DPOP_KEY.as_dict(private=False)}
        claims = {"jti": secrets.token_urlsafe(12), "htm": "POST", "htu": url}
        proof = jws.serialize_compact(
            header, json.dumps({**claims, "iat": int(time.time())}), DPOP_KEY
        )
        return requests.post(
            url,
            data={"grant_type": "client_credentials"},
            auth=(self.client["client_id"], self.client["client_secret"]),
            headers={"DPoP": proof},
            timeout=timeout,
        )

    def exchange(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        """Token exchange (RFC 8693) of the client's own token."""
        return requests.post(
            self.server.public_url + "/oauth2/token",
            data={
                "grant_type": EXCHANGE_GRANT,
                "subject_token": self.exchanger_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
            },
            auth=(self.exchanger["client_id"], self.exchanger["client_secret"]),
            timeout=timeout,
        )

    def ready(self, timeout: float = CLIENT_TIMEOUT) -> requests.Response:
        return requests.get(self.server.admin_url + "/health/ready", timeout=timeout)

    def kinds(self) -> dict:
        """The requests that need the database, by name."""
        return {
            "client-credentials token": self.token,
            "introspection": self.introspect,
            "admin GET client": self.get_client,
            "admin POST client": self.create_client,
            "authorization endpoint": self.authorize,
            "private_key_jwt token from a listed origin": self.token_by_assertion,
            "dynamic registration": self.register,
            "trusted JWT issuers": self.trusted_issuers,
            "pushed authorization request": self.push,
            "DPoP-bound token": self.dpop_token,
            "token exchange": self.exchange,
        }


def timed(call) -> tuple[requests.Response | Exception, float]:
    started = time.monotonic()
    try:
        result = call()
    except requests.RequestException as exc:
        result = exc
    return result, time.monotonic() - started


def concurrently(calls: dict) -> dict:
    """Run the calls at the same time; name -> (response or exception, seconds)."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(timed, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def unavailable_problem(name: str, outcome, elapsed: float, bound: float) -> str | None:
    """Why ``outcome`` is not a prompt ``503 temporarily_unavailable`` (None if it is)."""
    if isinstance(outcome, Exception):
        return f"{name}: no answer after {elapsed:.1f} s ({outcome.__class__.__name__})"
    problems = []
    if outcome.status_code != 503:
        problems.append(f"status {outcome.status_code}")
    try:
        error = outcome.json().get("error")
    except ValueError:
        error = None
    if error != "temporarily_unavailable":
        problems.append(f"error {error!r}")
    retry_after = outcome.headers.get("Retry-After", "")
    if not retry_after.isdigit():
        problems.append(f"Retry-After {retry_after!r}")
    if elapsed > bound:
        problems.append(f"took {elapsed:.1f} s (> {bound} s)")
    if problems:
        return f"{name}: {', '.join(problems)} ({outcome.text[:160]!r})"
    return None


def wait_ready(traffic: Traffic, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if traffic.ready(timeout=5).status_code == 200:
                return True
        time.sleep(0.2)
    return False


def log_tail(server, offset: int) -> str:
    with open(server.log_path, errors="replace") as log:
        log.seek(offset)
        return log.read()


def log_size(server) -> int:
    return Path(server.log_path).stat().st_size


# -- database down -----------------------------------------------------------------------


def test_database_down_every_endpoint_answers_503(pg, database, serve):
    server = serve(database)
    traffic = Traffic(server)
    concurrently({name: call for name, call in traffic.kinds().items()})  # fill the pool
    pg.stop("fast")

    problems = []
    # Twice: the first request of a kind may meet a pooled connection the server closed,
    # the second has to open a new connection, which is refused.
    for attempt in (1, 2):
        for name, call in traffic.kinds().items():
            outcome, elapsed = timed(call)
            problem = unavailable_problem(f"{name} (#{attempt})", outcome, elapsed, DOWN_BOUND)
            if problem:
                problems.append(problem)
    ready, elapsed = timed(traffic.ready)
    if isinstance(ready, Exception) or ready.status_code != 503 or elapsed > READY_BOUND:
        problems.append(f"/health/ready: {getattr(ready, 'status_code', ready)} in {elapsed:.1f} s")
    alive, elapsed = timed(
        lambda: requests.get(server.public_url + "/health/alive", timeout=CLIENT_TIMEOUT)
    )
    if isinstance(alive, Exception) or alive.status_code != 200 or elapsed > 1:
        problems.append(f"/health/alive: {getattr(alive, 'status_code', alive)} in {elapsed:.1f}s")
    assert not problems, "while PostgreSQL is down:\n" + "\n".join(problems)
    # The metrics need no database, and count what was answered 503.
    samples = scrape(server)
    errors = sum(
        v for (name, _), v in samples.items() if name == "authserver_database_errors_total"
    )
    answered_503 = sum(
        v
        for (name, labels), v in samples.items()
        if name == "authserver_http_requests_total" and ("status", "503") in labels
    )
    assert errors >= 2 * len(traffic.kinds()), samples
    assert answered_503 >= errors

    pg.start()
    assert wait_ready(traffic), "readiness did not recover"
    assert traffic.token().status_code == 200


# -- database frozen ---------------------------------------------------------------------


def test_database_frozen_every_endpoint_answers_503_in_time(pg, database, serve):
    # A thread for each request sent at once: the readiness probe must not queue behind
    # the stuck ones (that is waitress's backlog, not what this test measures).
    server = serve(database, args=("--threads", "16"))
    traffic = Traffic(server)
    concurrently({name: call for name, call in traffic.kinds().items()})  # fill the pool
    pg.freeze()
    try:
        calls = {**traffic.kinds(), "/health/ready": traffic.ready}
        outcomes = concurrently(calls)
    finally:
        pg.thaw()
    problems = []
    for name, (outcome, elapsed) in outcomes.items():
        if name == "/health/ready":
            if (
                isinstance(outcome, Exception)
                or outcome.status_code != 503
                or elapsed > READY_BOUND
            ):
                status = getattr(outcome, "status_code", outcome.__class__.__name__)
                problems.append(f"{name}: {status} after {elapsed:.1f} s (want 503 within 5 s)")
            continue
        problem = unavailable_problem(name, outcome, elapsed, FROZEN_BOUND)
        if problem:
            problems.append(problem)
    assert not problems, "while PostgreSQL is frozen:\n" + "\n".join(problems)

    assert wait_ready(traffic), "readiness did not recover after the thaw"
    recovered, _ = timed(traffic.token)
    assert getattr(recovered, "status_code", recovered) == 200


def test_alive_answers_while_every_thread_is_stuck_on_a_frozen_database(pg, database, serve):
    threads = 2
    # Long timeouts: the threads must stay stuck while /health/alive is timed.
    slow = {
        "DATABASE_CONNECT_TIMEOUT": "20s",
        "DATABASE_STATEMENT_TIMEOUT": "20s",
        "DATABASE_POOL_TIMEOUT": "20s",
    }
    server = serve(database, env=slow, args=("--threads", str(threads)))
    traffic = Traffic(server)
    pg.freeze()
    stuck_calls = [traffic.token, traffic.get_client] * (threads + 1)
    pool = ThreadPoolExecutor(max_workers=len(stuck_calls))
    try:
        stuck = [pool.submit(timed, lambda call=call: call(timeout=40)) for call in stuck_calls]
        time.sleep(1.5)  # every server thread has taken one of them by now
        hanging = sum(1 for future in stuck if not future.done())
        probes = concurrently(
            {
                port_name: lambda url=url: requests.get(url + "/health/alive", timeout=3)
                for port_name, url in (("admin", server.admin_url), ("public", server.public_url))
            }
        )
        timings = {
            port_name: (getattr(outcome, "status_code", repr(outcome)), round(elapsed, 2))
            for port_name, (outcome, elapsed) in probes.items()
        }
    finally:
        pg.thaw()
        pool.shutdown(wait=True, cancel_futures=False)
    assert all(status == 200 and elapsed < 1.0 for status, elapsed in timings.values()), (
        f"/health/alive (status, seconds) with {threads} server threads and {hanging} "
        f"requests hanging on the frozen database: {timings}"
    )


# -- log volume --------------------------------------------------------------------------

_PROBLEM_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b")


def test_repeated_database_errors_are_not_logged_per_request(pg, database, serve):
    server = serve(database)
    traffic = Traffic(server)
    pg.stop("fast")
    time.sleep(0.2)
    offset = log_size(server)
    repeats = 30
    for _ in range(repeats):
        timed(traffic.token)
        timed(traffic.get_client)
    time.sleep(0.5)  # let the last lines reach the file
    tail = log_tail(server, offset)
    problem_lines = [line for line in tail.splitlines() if _PROBLEM_LINE.search(line)]
    tracebacks = tail.count("Traceback")
    summary = f"{len(problem_lines)} warning/error lines, {tracebacks} tracebacks"
    assert problem_lines, "the outage must be logged at least once"
    # Two kinds of request, each of which first meets a pooled connection the server
    # closed, then a refused connection: a few distinct errors, each logged once or so.
    assert len(problem_lines) <= 8 and tracebacks <= 4, (
        f"{2 * repeats} failed requests gave {summary}; expected a few lines with a count:\n"
        + "\n".join(problem_lines[:10])
    )


# -- restart -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fast", "kill9"])
def test_no_request_fails_after_postgres_restarts(pg, database, serve, how):
    """Each kind of request is the first one after its own restart: the pool is full of
    connections to the old server, none of which may surface as an error."""
    server = serve(database)
    traffic = Traffic(server)
    expected = {
        "client-credentials token": 200,
        "introspection": 200,
        "admin GET client": 200,
        "authorization endpoint": 302,
    }
    kinds = traffic.kinds()
    problems = []
    for name, status in expected.items():
        # Several connections in the pool, all of them idle.
        concurrently({f"{other}-{i}": kinds[other] for other in expected for i in range(2)})
        if how == "kill9":
            pg.kill9()
        else:
            pg.stop("fast")
        pg.start()
        outcome, elapsed = timed(kinds[name])
        got = getattr(outcome, "status_code", repr(outcome))
        if got != status:
            problems.append(f"{name}: {got} (want {status}) {getattr(outcome, 'text', '')[:160]!r}")
        elif name == "introspection" and outcome.json().get("active") is not True:
            problems.append(f"{name}: {outcome.text}")
    assert not problems, f"first request after a restart ({how}):\n" + "\n".join(problems)


# -- connection budget -------------------------------------------------------------------


def test_two_workers_fit_in_ten_connections_under_load(pg, database, serve):
    pg.restart(max_connections=10)
    try:
        # The default pool timeout: only the connection budget is under test here.
        env = {"DATABASE_POOL_TIMEOUT": "5s", "DATABASE_STATEMENT_TIMEOUT": "5s"}
        server = serve(database, env=env, args=("--workers", "2"))
        traffic = Traffic(server)
        statuses: dict[int | str, int] = {}
        samples: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + 3

        def client_loop():
            session = requests.Session()
            auth = (traffic.client["client_id"], traffic.client["client_secret"])
            while time.monotonic() < stop_at:
                try:
                    response = session.post(
                        server.public_url + "/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=auth,
                        timeout=CLIENT_TIMEOUT,
                    )
                    key, text = response.status_code, response.text
                except requests.RequestException as exc:
                    key, text = exc.__class__.__name__, str(exc)
                with lock:
                    statuses[key] = statuses.get(key, 0) + 1
                    if key != 200 and len(samples) < 3:
                        samples.append(f"{key}: {text[:200]}")

        loops = [threading.Thread(target=client_loop) for _ in range(16)]
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join(CLIENT_TIMEOUT + 10)
        assert statuses.get(200, 0) > 0, statuses
        assert set(statuses) == {200}, f"under load: {statuses}\n" + "\n".join(samples)
    finally:
        pg.restart(max_connections=DEFAULT_MAX_CONNECTIONS)


# -- the test harness --------------------------------------------------------------------


def test_harness_helpers_answer_503_while_the_database_is_down(pg, database, tmp_path):
    """``authserver harness --dsn``: the helpers that use the database answer 503 with
    Retry-After in time; those that keep their state in memory go on working."""
    from tests.integration.harness_process import start_harness

    config = tmp_path / "harness.yaml"
    config.write_text(
        "default_user: bob\nusers: {bob: {email: bob@example.com}}\n"
        "clients: [{client_id: app, client_secret: app-secret, scope: openid},\n"
        "          {client_id: other, client_secret: other-secret, scope: openid}]\n"
    )
    harness = start_harness(config, tmp_path / "harness.log", "--dsn", database.dsn, env=FAST)
    try:
        mint = {"client_id": "app", "subject": "bob", "scope": "openid"}
        assert harness.admin("POST", "/admin/harness/tokens", json=mint).status_code == 200
        pg.stop("fast")
        problems = []
        for attempt in (1, 2):  # as above: a pooled connection first, then a new one
            for name, method, path, body in (
                ("mint", "POST", "/admin/harness/tokens", mint),
                ("reset", "POST", "/admin/harness/reset", None),
                (  # a client not looked up yet: "app" is cached by now (as in serve)
                    "client decision",
                    "POST",
                    "/admin/harness/decisions",
                    {"subject": "bob", "client_id": "other"},
                ),
            ):
                outcome, elapsed = timed(
                    lambda m=method, p=path, b=body: harness.admin(
                        m, p, json=b, timeout=CLIENT_TIMEOUT
                    )
                )
                problem = unavailable_problem(f"{name} (#{attempt})", outcome, elapsed, DOWN_BOUND)
                if problem:
                    problems.append(problem)
        login, elapsed = timed(
            lambda: harness.public(
                "GET", "/harness/login?login_challenge=x", timeout=CLIENT_TIMEOUT
            )
        )
        if isinstance(login, Exception) or login.status_code != 503 or elapsed > DOWN_BOUND:
            problems.append(f"login page: {getattr(login, 'status_code', login)} in {elapsed:.1f}s")
        assert not problems, "while PostgreSQL is down:\n" + "\n".join(problems)
        # What lives in memory needs no database.
        assert harness.admin("PUT", "/admin/harness/users/zoe", json={}).status_code == 201
        assert harness.admin("POST", "/admin/harness/clock", json={"advance": 5}).ok
        assert harness.admin("POST", "/admin/harness/decisions", json={"subject": "zoe"}).ok
        assert harness.public("GET", "/health/alive").status_code == 200

        pg.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if harness.admin("POST", "/admin/harness/tokens", json=mint).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("minting did not recover after PostgreSQL came back")
    finally:
        _healthy(pg)
        harness.stop()
