"""Helpers for ``test_openapi.py``: the OpenAPI descriptions in ``docs/openapi/``, the routes
the Flask apps serve, real data for generated requests to hit, and a bounded schemathesis
run that counts its requests and collects every distinct failure instead of stopping at the
first one."""

from __future__ import annotations

import ast
import base64
import contextlib
import math
import queue
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from tests.integration.oauth_flow import pkce_pair, query

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "docs" / "openapi"
PUBLIC_SPEC = SPEC_DIR / "public.yaml"
ADMIN_SPEC = SPEC_DIR / "admin.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
TIMEOUT = 10

REDIRECT_URI = "http://127.0.0.1:9999/openapi/callback"
POST_LOGOUT_URI = "http://127.0.0.1:9999/openapi/logged-out"
STABLE_SCOPE = "openid offline_access offline profile email"
AUDIENCE = "https://api.example/openapi"
PENDING = 3  # pending login and consent challenges per round, for accept and reject to win


# -- descriptions and routes -----------------------------------------------------------


def load_description(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def described_operations(description: dict) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in description["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def served_operations(app) -> set[tuple[str, str]]:
    """(path, method) of every Flask rule, ``<param>`` as ``{param}``, without HEAD/OPTIONS."""
    served = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        served |= {(path, method) for method in rule.methods - IGNORED_METHODS}
    return served


def without_admin_aliases(served: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The admin app's operations under /admin (each also answers without the prefix)."""
    return {(path, method) for path, method in served if path.startswith("/admin/")}


def admin_aliases(served: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(path, method) for path, method in served if not path.startswith("/admin/")}


# -- a browser and a login/consent/logout app, to make real data -------------------------


class Browser:
    """A requests session that keeps the server's cookies, Secure ones included (the test
    server is on plain http on a loopback address, as a browser would allow for localhost)."""

    def __init__(self):
        self.session = requests.Session()

    def get(self, url: str, **params) -> requests.Response:
        response = self.session.get(url, params=params, allow_redirects=False, timeout=TIMEOUT)
        for cookie in self.session.cookies:
            cookie.secure = False
        return response


def basic_auth(client_id: str, secret: str) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class StableClient:
    """A confidential client that no generated request names in a path: it stays usable."""

    client_id: str
    secret: str

    @property
    def authorization(self) -> str:
        return basic_auth(self.client_id, self.secret)


@dataclass
class Seed:
    """Real values for one round of generated requests to use some of the time."""

    client: StableClient
    subject: str
    target_client_id: str = ""
    doomed_client_id: str = ""  # for DELETE: the other operations keep their target
    key_set: str = ""
    doomed_key_set: str = ""
    kid: str = ""
    access_token: str = ""  # read-only uses: userinfo, introspection, id_token_hint
    refresh_token: str = ""
    id_token: str = ""
    client_access_token: str = ""  # of the client-credentials grant (introspection)
    spent_access_token: str = ""  # of a grant that generated requests revoke or refresh
    spent_refresh_token: str = ""
    code: str = ""
    code_verifier: str = ""
    sid: str = ""
    # Pending challenges: the first accept or reject of each wins, the next ones get 410.
    login_challenges: list[str] = field(default_factory=list)
    handled_login_challenge: str = ""
    consent_challenges: list[str] = field(default_factory=list)
    handled_consent_challenge: str = ""
    logout_challenge: str = ""
    handled_logout_challenge: str = ""
    login_verifier: str = ""  # accepted, never redeemed: redeeming without its cookie is 403
    used_login_verifier: str = ""  # redeemed: 410
    used_consent_verifier: str = ""
    logout_verifier: str = ""  # accepted, never redeemed
    used_logout_verifier: str = ""
    # Device challenges waiting for a user code, and one dead after too many wrong ones.
    device_challenges: list[str] = field(default_factory=list)
    handled_device_challenge: str = ""


class SeedMaker:
    """Plays browser and login/consent/logout app against a live server."""

    def __init__(self, public_url: str, admin_url: str):
        self.public_url = public_url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self.tag = uuid.uuid4().hex[:10]

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.admin_url + path, timeout=TIMEOUT, **kwargs)

    def create_stable_client(self) -> StableClient:
        secret = "openapi-" + secrets.token_urlsafe(16)
        body = {
            "client_id": f"openapi-stable-{self.tag}",
            "client_secret": secret,
            "client_name": "openapi stable client",
            "grant_types": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "response_types": ["code"],
            "redirect_uris": [REDIRECT_URI],
            "post_logout_redirect_uris": [POST_LOGOUT_URI],
            "scope": STABLE_SCOPE,
            "audience": [AUDIENCE],
        }
        response = self.admin("POST", "/admin/clients", json=body)
        assert response.status_code == 201, response.text
        return StableClient(body["client_id"], secret)

    def make(self, client: StableClient) -> Seed:
        self._client = client
        seed = Seed(client=client, subject=f"openapi-user-{self.tag}")
        self._target_client(seed)
        self._target_key(seed)
        browser = Browser()
        self._full_flow(seed, browser)
        self._spendable_tokens(seed, browser)
        self._unredeemed_code(seed, browser)
        self._client_credentials(seed)
        seed.login_challenges = [self._start(Browser())[0] for _ in range(PENDING)]
        seed.consent_challenges = [self._pending_consent(seed) for _ in range(PENDING)]
        self._unredeemed_login_verifier(seed)
        self._logouts(seed, browser)
        seed.device_challenges = [self._device_challenge(Browser()) for _ in range(PENDING)]
        seed.handled_device_challenge = self._dead_device_challenge()
        return seed

    def _device_challenge(self, browser: Browser) -> str:
        location = self._follow(
            browser, self.public_url + "/oauth2/device/verify", "device_challenge="
        )
        return query(location)["device_challenge"]

    def _dead_device_challenge(self) -> str:
        challenge = self._device_challenge(Browser())
        for _ in range(5):
            self.admin(
                "PUT",
                "/admin/oauth2/auth/requests/device/accept",
                params={"device_challenge": challenge},
                json={"user_code": "WRONGCOD"},
            )
        return challenge

    # -- pieces ---------------------------------------------------------------------------

    def _target_client(self, seed: Seed) -> None:
        seed.target_client_id = f"openapi-target-{uuid.uuid4().hex[:12]}"
        seed.doomed_client_id = f"openapi-doomed-{uuid.uuid4().hex[:12]}"
        for client_id, method in (
            (seed.target_client_id, "client_secret_basic"),
            (seed.doomed_client_id, "none"),  # public: no secret to hash
        ):
            body = {
                "client_id": client_id,
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": method,
            }
            response = self.admin("POST", "/admin/clients", json=body)
            assert response.status_code == 201, response.text

    def _target_key(self, seed: Seed) -> None:
        seed.key_set = f"openapi-set-{uuid.uuid4().hex[:12]}"
        seed.doomed_key_set = f"openapi-doomed-set-{uuid.uuid4().hex[:12]}"
        seed.kid = "openapi-kid"
        for key_set in (seed.key_set, seed.doomed_key_set):
            response = self.admin(
                "POST", f"/admin/keys/{key_set}", json={"alg": "ES256", "kid": seed.kid}
            )
            assert response.status_code == 201, response.text

    def _start(self, browser: Browser, **extra) -> tuple[str, str]:
        """A new authorization request; the login challenge and the PKCE verifier."""
        verifier, challenge = pkce_pair()
        response = browser.get(
            self.public_url + "/oauth2/auth",
            client_id=self._client.client_id,
            response_type="code",
            redirect_uri=REDIRECT_URI,
            scope="openid offline_access",
            state=secrets.token_urlsafe(8),
            nonce=secrets.token_urlsafe(8),
            code_challenge=challenge,
            code_challenge_method="S256",
            **extra,
        )
        assert response.status_code == 302, response.text
        return query(response.headers["Location"])["login_challenge"], verifier

    def _accept_login(self, challenge: str, subject: str, **body) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/login/accept",
            params={"login_challenge": challenge},
            json={"subject": subject, **body},
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def _accept_consent(self, challenge: str) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/consent/accept",
            params={"consent_challenge": challenge},
            json={
                "grant_scope": ["openid", "offline_access"],
                "remember": True,
                "session": {"id_token": {"email": "openapi@example.com"}},
                "context": {"seeded": True},
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def _follow(self, browser: Browser, url: str, expect: str) -> str:
        response = browser.get(url)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert expect in location, location
        return location

    def _full_flow(self, seed: Seed, browser: Browser) -> None:
        challenge, verifier = self._start(browser)
        redirect_to = self._accept_login(challenge, seed.subject, remember=True)
        location = self._follow(browser, redirect_to, "consent_challenge=")
        consent_challenge = query(location)["consent_challenge"]
        consent_redirect = self._accept_consent(consent_challenge)
        callback = query(self._follow(browser, consent_redirect, "code="))
        tokens = self._exchange(seed, callback["code"], verifier)
        seed.access_token = tokens["access_token"]
        seed.refresh_token = tokens["refresh_token"]
        seed.id_token = tokens["id_token"]
        seed.handled_login_challenge = challenge
        seed.handled_consent_challenge = consent_challenge
        seed.used_login_verifier = query(redirect_to)["login_verifier"]
        seed.used_consent_verifier = query(consent_redirect)["consent_verifier"]
        sessions = self.admin(
            "GET", "/admin/oauth2/auth/sessions/consent", params={"subject": seed.subject}
        )
        assert sessions.status_code == 200, sessions.text
        seed.sid = sessions.json()[0]["consent_request"]["login_session_id"]

    def _skipped_flow(self, seed: Seed, browser: Browser) -> tuple[str, str]:
        """Login and consent remembered (both still answered, as skip requires): a code."""
        challenge, verifier = self._start(browser)
        redirect_to = self._accept_login(challenge, seed.subject)
        location = self._follow(browser, redirect_to, "consent_challenge=")
        consent_redirect = self._accept_consent(query(location)["consent_challenge"])
        return query(self._follow(browser, consent_redirect, "code="))["code"], verifier

    def _exchange(self, seed: Seed, code: str, verifier: str) -> dict:
        response = requests.post(
            self.public_url + "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            headers={"Authorization": seed.client.authorization},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def _spendable_tokens(self, seed: Seed, browser: Browser) -> None:
        tokens = self._exchange(seed, *self._skipped_flow(seed, browser))
        seed.spent_access_token = tokens["access_token"]
        seed.spent_refresh_token = tokens["refresh_token"]

    def _unredeemed_code(self, seed: Seed, browser: Browser) -> None:
        seed.code, seed.code_verifier = self._skipped_flow(seed, browser)

    def _client_credentials(self, seed: Seed) -> None:
        response = requests.post(
            self.public_url + "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "openid"},
            headers={"Authorization": seed.client.authorization},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        seed.client_access_token = response.json()["access_token"]

    def _pending_consent(self, seed: Seed) -> str:
        browser = Browser()
        challenge, _ = self._start(browser)
        redirect_to = self._accept_login(challenge, seed.subject + "-2")
        location = self._follow(browser, redirect_to, "consent_challenge=")
        return query(location)["consent_challenge"]

    def _unredeemed_login_verifier(self, seed: Seed) -> None:
        challenge, _ = self._start(Browser())
        redirect_to = self._accept_login(challenge, seed.subject + "-3")
        seed.login_verifier = query(redirect_to)["login_verifier"]

    def _logouts(self, seed: Seed, browser: Browser) -> None:
        # A second remembered login session, logged out through the logout app: its
        # challenge is handled and its verifier used.
        other = Browser()
        challenge, _ = self._start(other)
        redirect_to = self._accept_login(challenge, seed.subject + "-4", remember=True)
        self._follow(other, redirect_to, "consent_challenge=")
        seed.handled_logout_challenge = self._logout_challenge(other)
        accepted = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/logout/accept",
            params={"logout_challenge": seed.handled_logout_challenge},
        )
        assert accepted.status_code == 200, accepted.text
        seed.used_logout_verifier = query(accepted.json()["redirect_to"])["logout_verifier"]
        self._follow(other, accepted.json()["redirect_to"], "/oauth2/fallbacks/logout/callback")
        # The first browser's logout: accepted (never redeemed), then a pending one.
        pending = self._logout_challenge(browser)
        accepted = self.admin(
            "PUT", "/admin/oauth2/auth/requests/logout/accept", params={"logout_challenge": pending}
        )
        assert accepted.status_code == 200, accepted.text
        seed.logout_verifier = query(accepted.json()["redirect_to"])["logout_verifier"]
        seed.logout_challenge = self._logout_challenge(browser)

    def _logout_challenge(self, browser: Browser) -> str:
        location = self._follow(
            browser, self.public_url + "/oauth2/sessions/logout", "logout_challenge="
        )
        return query(location)["logout_challenge"]


# -- overrides: generated requests that name real things ---------------------------------


def _set(container, **values) -> None:
    if isinstance(container, dict):
        container.update({key: value for key, value in values.items() if value})


def _params(case) -> dict | None:
    """Where a browser endpoint's parameters are: the query (GET) or a form body (POST)."""
    if case.method.upper() == "GET":
        return case.query if isinstance(case.query, dict) else None
    return case.body if isinstance(case.body, dict) else None


def _headers(case) -> dict:
    if case.headers is None:
        case.headers = {}
    return case.headers


def protect_shared_state(case):
    """Hypothesis mixes string literals of local modules (authserver's too) into generated
    text, so a generated key set may be one the server signs with (``hydra.openid.id-token``,
    ``hydra.jwt.access-token``): the server is shared with other tests, which keep theirs."""
    parameters = case.path_parameters or {}
    if str(parameters.get("set_id", "")).startswith("hydra."):
        parameters["set_id"] = "openapi-" + str(parameters["set_id"])
    return case


def apply_seed(case, seed: Seed, choice: int):
    """Point a generated case at real data, by ``choice`` (0 leaves it as generated)."""
    if choice == 0:
        return protect_shared_state(case)
    path = case.operation.path
    query = case.query if isinstance(case.query, dict) else None
    body = case.body if isinstance(case.body, dict) else None
    if path == "/oauth2/auth":
        params = _params(case)
        if choice == 1:
            _set(params, client_id=seed.client.client_id, redirect_uri=REDIRECT_URI)
        elif choice == 2:
            _set(
                params,
                client_id=seed.client.client_id,
                redirect_uri=REDIRECT_URI,
                response_type="code",
                code_challenge=pkce_pair()[1],
                code_challenge_method="S256",
            )
        elif params is not None:
            for name in ("client_id", "login_verifier", "consent_verifier"):
                params.pop(name, None)
            verifier = {
                3: ("login_verifier", seed.login_verifier),
                4: ("login_verifier", seed.used_login_verifier),
            }.get(choice, ("consent_verifier", seed.used_consent_verifier))
            _set(params, **dict([verifier]))
    elif path == "/oauth2/sessions/logout":
        params = _params(case)
        if choice in (1, 2):
            _set(
                params,
                id_token_hint=seed.id_token,
                client_id=seed.client.client_id if choice == 2 else "",
                post_logout_redirect_uri=POST_LOGOUT_URI,
            )
        elif params is not None:
            params.pop("logout_verifier", None)
            _set(
                params,
                logout_verifier=seed.logout_verifier if choice == 3 else seed.used_logout_verifier,
            )
    elif path == "/oauth2/token":
        _headers(case)["Authorization"] = seed.client.authorization
        if body is not None:
            for name in ("client_id", "client_secret"):
                body.pop(name, None)  # one authentication method per request
            if choice == 2:
                body.update(grant_type="authorization_code", code=seed.code)
            elif choice == 3:
                body.update(
                    grant_type="authorization_code",
                    code=seed.code,
                    redirect_uri=REDIRECT_URI,
                    code_verifier=seed.code_verifier,
                )
            elif choice == 4:
                body.update(grant_type="refresh_token", refresh_token=seed.spent_refresh_token)
                body.pop("scope", None)
            elif choice == 5:
                body.update(grant_type="client_credentials", scope="openid offline")
                body.pop("audience", None)
    elif path == "/oauth2/device/auth":
        _headers(case)["Authorization"] = seed.client.authorization
        if body is not None:
            body.pop("client_secret", None)
            body.pop("client_id", None)
            if choice == 2:
                body["scope"] = "openid offline"
                body.pop("audience", None)
    elif path == "/oauth2/par":
        _headers(case)["Authorization"] = seed.client.authorization
        if body is not None:
            for name in ("client_id", "client_secret", "client_assertion", "client_assertion_type"):
                body.pop(name, None)  # one authentication method per request
            if choice == 3:  # a request that passes every check: a 201
                body.clear()
                body.update(scope="openid offline", resource=[AUDIENCE], nonce="openapi-nonce")
            if choice >= 2:
                body.update(
                    response_type="code",
                    redirect_uri=REDIRECT_URI,
                    code_challenge=pkce_pair()[1],
                    code_challenge_method="S256",
                )
    elif path == "/oauth2/revoke":
        _headers(case)["Authorization"] = seed.client.authorization
        if body is not None:
            body.pop("client_secret", None)
        if choice >= 2:
            _set(
                body,
                token=seed.spent_access_token if choice == 2 else seed.spent_refresh_token,
            )
    elif path == "/userinfo":
        if choice in (1, 2) or body is None:
            _headers(case)["Authorization"] = "Bearer " + seed.access_token
        else:
            body["access_token"] = seed.access_token
    elif path == "/admin/oauth2/introspect":
        tokens = (seed.refresh_token, seed.access_token, seed.client_access_token)
        _set(body, token=tokens[choice % 3])
    elif "{client_id}" in path:
        doomed = case.method.upper() == "DELETE"
        case.path_parameters["client_id"] = (
            seed.doomed_client_id if doomed else seed.target_client_id
        )
    elif path.startswith("/admin/keys/"):
        doomed = case.method.upper() == "DELETE"
        case.path_parameters["set_id"] = seed.doomed_key_set if doomed else seed.key_set
        if "kid" in case.path_parameters:
            case.path_parameters["kid"] = seed.kid
    elif path.startswith("/admin/oauth2/auth/requests/"):
        step = path.split("/")[5]
        handled, *pending = {
            "login": (seed.handled_login_challenge, *seed.login_challenges),
            "consent": (seed.handled_consent_challenge, *seed.consent_challenges),
            "logout": (seed.handled_logout_challenge, seed.logout_challenge),
            "device": (seed.handled_device_challenge, *seed.device_challenges),
        }[step]
        if query is not None:
            query[f"{step}_challenge"] = handled if choice == 1 else pending[choice % len(pending)]
        if path.endswith("/consent/accept") and body is not None and choice > 1:
            # Scopes and audiences the client may have: the rest of the body gets stored.
            body["grant_scope"] = ["openid"]
            body.pop("grant_access_token_audience", None)
    elif path == "/admin/oauth2/auth/sessions/consent":
        _set(query, subject=seed.subject)
        if choice == 2 and case.method.upper() == "GET":
            _set(query, login_session_id=seed.sid)
    elif path == "/admin/oauth2/auth/sessions/login" and query is not None:
        query.pop("subject", None)
        query["sid"] = seed.sid
    return protect_shared_state(case)


# How many ways of pointing a case at real data each path has (beyond "as generated").
SEED_CHOICES = {
    "/oauth2/auth": 5,
    "/oauth2/sessions/logout": 4,
    "/oauth2/token": 5,
    "/oauth2/revoke": 3,
    "/oauth2/device/auth": 2,
    "/oauth2/par": 3,
    "/userinfo": 3,
    "/admin/oauth2/introspect": 3,
    "/admin/oauth2/auth/sessions/consent": 2,
}


def seed_choices(path: str) -> int:
    if path in SEED_CHOICES:
        return SEED_CHOICES[path]
    if path.startswith("/admin/oauth2/auth/requests/"):
        return PENDING + 1  # the handled challenge, or one of the pending ones
    if "{" in path or path.startswith("/admin/oauth2/auth/"):
        return 2
    return 0


# -- the bounded run ---------------------------------------------------------------------


@dataclass
class FailureRecord:
    operation: str
    kind: str
    status: int
    title: str
    example: str
    error: str = ""
    count: int = 1


@dataclass
class FuzzReport:
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    failures: dict[tuple, FailureRecord] = field(default_factory=dict)
    server_seconds: dict[str, float] = field(default_factory=dict)

    def record_status(self, operation: str, status: int) -> None:
        per_operation = self.statuses.setdefault(operation, {})
        per_operation[status] = per_operation.get(status, 0) + 1

    def record_failure(
        self, operation: str, kind: str, status: int, title: str, example: str, error: str = ""
    ):
        key = (operation, kind, status, title, error)
        if key in self.failures:
            self.failures[key].count += 1
        else:
            self.failures[key] = FailureRecord(operation, kind, status, title, example, error)

    def coverage(self) -> str:
        """Statuses seen per operation, one line each."""
        return "\n".join(
            f"  {operation}: "
            + ", ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
            for operation, statuses in sorted(self.statuses.items())
        )

    def summary(self) -> str:
        lines = []
        for record in sorted(self.failures.values(), key=lambda r: (r.operation, r.status)):
            error = f", error {record.error}" if record.error else ""
            lines.append(
                f"--- {record.operation}: {record.kind} ({record.title}), status {record.status}"
                f"{error}, {record.count} time(s)\n{record.example}"
            )
        return "\n".join(lines)


def _error_code(response) -> str:
    """The ``error`` of a JSON error body: failures with different codes are different."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def describe_failure(case, response, failure) -> str:
    try:
        curl = case.as_curl_command(headers=dict(response.request.headers))
    except Exception:  # noqa: BLE001 - a report must not fail on its own formatting
        curl = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
    body = response.text[:600] if hasattr(response, "text") else ""
    headers = {
        key: value
        for key, value in response.headers.items()
        if key.lower() in ("content-type", "location", "cache-control", "retry-after", "allow")
    }
    message = (failure.message or "")[:800]
    return f"{curl}\n  -> {response.status_code} {headers}\n  {body}\n  {message}"


class Sender:
    """Sends generated cases and checks the responses on a thread of its own, so that
    generating the next case (CPU here) overlaps with the server answering (CPU there)."""

    def __init__(self, base_url: str, checks: list, report: FuzzReport):
        self.base_url = base_url
        self.checks = checks
        self.report = report
        self.session = requests.Session()
        self.queue: queue.Queue = queue.Queue(maxsize=32)
        self.thread = threading.Thread(target=self._run, name="openapi-sender", daemon=True)
        self.thread.start()

    def submit(self, case) -> None:
        self.queue.put(case)

    def drain(self) -> None:
        self.queue.join()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            case = self.queue.get()
            try:
                if case is None:
                    return
                self._send(case)
            except Exception as exc:  # noqa: BLE001 - recorded, never lost with the thread
                label = f"{case.method.upper()} {case.operation.path}"
                self.report.record_failure(label, "test error", 0, type(exc).__name__, repr(exc))
            finally:
                self.queue.task_done()

    def _send(self, case) -> None:
        from schemathesis.core.failures import Failure, FailureGroup

        report = self.report
        label = f"{case.method.upper()} {case.operation.path}"
        self.session.cookies.clear()
        try:
            response = case.call(base_url=self.base_url, session=self.session, timeout=TIMEOUT)
        except requests.RequestException as exc:
            report.requests += 1
            report.record_failure(label, "transport error", 0, type(exc).__name__, repr(exc))
            return
        report.requests += 1
        report.record_status(label, response.status_code)
        report.server_seconds[label] = report.server_seconds.get(label, 0.0) + response.elapsed
        try:
            case.validate_response(response, checks=self.checks)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except Failure as failure:
            failures = [failure]
        else:
            failures = []
        for failure in failures:
            report.record_failure(
                label,
                type(failure).__name__,
                response.status_code,
                failure.title,
                describe_failure(case, response, failure),
                error=_error_code(response),
            )


def generate(strategy, sender: Sender, *, max_examples: int, seed_value: int) -> None:
    """Up to ``max_examples`` distinct cases from ``strategy``, handed to ``sender``."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    @hypothesis_seed(seed_value)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def submit(case):
        sender.submit(case)

    submit()


def _parameter_count(operation) -> int:
    return sum(
        len(container)
        for container in (
            operation.query,
            operation.headers,
            operation.body,
            operation.path_parameters,
            operation.cookies,
        )
    )


@contextlib.contextmanager
def serialised_ast_parsing():
    """One ``ast.parse`` at a time while the generator and the sender threads run: CPython
    3.11 keeps the AST conversion's recursion depth in shared state, so two threads parsing
    at once can fail with "AST constructor recursion depth mismatch" (CPython gh-106905).
    Schemathesis parses our modules for constants, Hypothesis parses lambdas."""
    lock = threading.Lock()
    original = ast.parse

    def parse(*args, **kwargs):
        with lock:
            return original(*args, **kwargs)

    ast.parse = parse
    try:
        yield
    finally:
        ast.parse = original


def fuzz(
    schema,
    *,
    base_url: str,
    budget: int,
    make_seed: Callable[[], Seed],
    weights: Callable[[str], float],
    checks: list,
    seed_value: int,
    rounds: int = 3,
    negative_share: float = 0.3,
) -> FuzzReport:
    """Rounds of generated requests over every operation until ``budget`` were sent; each
    round gets fresh real data (clients, keys, challenges, tokens) to point some cases at."""
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    operations = [result.ok() for result in schema.get_all_operations()]
    weighted = [op for op in operations if _parameter_count(op) or seed_choices(op.path)]
    total_weight = sum(weights(op.path) for op in weighted) or 1.0
    report = FuzzReport()
    sender = Sender(base_url, checks, report)
    started = time.monotonic()
    round_number = 0
    try:
        while report.requests < budget and round_number < rounds * 3:
            round_number += 1
            per_round = (budget - report.requests) / max(rounds - round_number + 1, 1)
            seed = make_seed()
            for index, operation in enumerate(operations):
                if operation in weighted:
                    share = weights(operation.path) / total_weight
                    examples = max(1, math.ceil(per_round * share))
                else:
                    examples = 2  # nothing to vary: a request or two says all there is
                # Schemathesis does not negate path parameters: an operation with nothing
                # else has no negative cases (asking for them only burns time).
                negatable = len(operation.query) or len(operation.headers) or len(operation.body)
                negatives = int(examples * negative_share) if negatable else 0
                choices = seed_choices(operation.path)
                for mode, count in (
                    (GenerationMode.POSITIVE, examples - negatives),
                    (GenerationMode.NEGATIVE, negatives),
                ):
                    if count < 1:
                        continue
                    strategy = operation.as_strategy(generation_mode=mode)
                    if choices:
                        strategy = st.tuples(strategy, st.integers(0, choices)).map(
                            lambda pair, seed=seed: apply_seed(pair[0], seed, pair[1])
                        )
                    operation_seed = seed_value + round_number * 1000 + index * 2
                    # Unsatisfiable: nothing to negate; the positive cases cover the operation.
                    with contextlib.suppress(Unsatisfiable):
                        generate(
                            strategy,
                            sender,
                            max_examples=count,
                            seed_value=operation_seed + (mode == GenerationMode.NEGATIVE),
                        )
            sender.drain()  # the next round's data is made after this round's requests
    finally:
        sender.close()
    report.seconds = time.monotonic() - started
    return report
