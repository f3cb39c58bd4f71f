"""Headless authorization-code flows and refresh-token grants, over plain HTTP/1.1 keep-alive.

One "browser" per flow: its own cookie jar (the public app binds the flow to CSRF cookies),
never following redirects by itself. The login and consent app is played through the
admin API, reading the challenges off the redirects (the login/consent URLs are never
loaded). The sequence is the one ``tests/integration/oauth_flow.py`` drives::

    GET  /oauth2/auth?response_type=code&...&code_challenge=<S256>   -> 302 login?login_challenge
    PUT  /admin/oauth2/auth/requests/login/accept                   -> {"redirect_to": ...}
    GET  redirect_to (cookies)                                      -> 302 consent?consent_challenge
    PUT  /admin/oauth2/auth/requests/consent/accept                 -> {"redirect_to": ...}
    GET  redirect_to (cookies)                                      -> 302 <redirect_uri>?code=..
    POST /oauth2/token grant_type=authorization_code (+ code_verifier, HTTP Basic)
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode, urlsplit

TIMEOUT = 10


class FlowFailure(Exception):
    """One unexpected answer; the message names the step, the status and the body start."""


@dataclass(frozen=True)
class Target:
    host: str
    public_port: int
    admin_port: int
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid offline"
    subject: str = "bench-user"

    @property
    def basic_auth(self) -> str:
        # RFC 6749 §2.3.1: form-encode id and secret before base64.
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(raw.encode()).decode()


class Http:
    """One keep-alive connection per port; a connection that failed is dropped and reopened
    for the next request (the failed request itself counts as an error, it is not retried)."""

    def __init__(self, host: str):
        self.host = host
        self._connections: dict[int, http.client.HTTPConnection] = {}

    def request(self, step: str, port: int, method: str, target: str, body=None, headers=None):
        conn = self._connections.get(port)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, port, timeout=TIMEOUT)
            self._connections[port] = conn
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop(port)
            raise FlowFailure(f"{step}: {exc.__class__.__name__}: {exc}") from None
        if response.will_close:
            self._drop(port)
        return response.status, response.headers, data

    def _drop(self, port: int) -> None:
        conn = self._connections.pop(port, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for port in list(self._connections):
            self._drop(port)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _fail(step: str, status: int, data: bytes) -> FlowFailure:
    text = data[:160].decode("utf-8", "replace").replace("\n", " ")
    return FlowFailure(f"{step}: HTTP {status} {text}")


class CookieJar:
    """Enough of RFC 6265 for one host: name=value, deleted by an empty value or Max-Age=0."""

    def __init__(self):
        self.values: dict[str, str] = {}

    def update(self, headers) -> None:
        for header in headers.get_all("Set-Cookie") or ():
            pair, *attributes = header.split(";")
            name, _, value = pair.strip().partition("=")
            expired = any(a.strip().lower() == "max-age=0" for a in attributes)
            if expired or not value:
                self.values.pop(name, None)
            else:
                self.values[name] = value

    def header(self) -> dict[str, str]:
        if not self.values:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.values.items())}


def _redirect(step: str, status: int, headers, data: bytes) -> str:
    location = headers.get("Location")
    if status not in (302, 303) or not location:
        raise _fail(step, status, data)
    return location


def _public_path(step: str, url: str, target: Target) -> str:
    """``redirect_to`` from the admin API points at the public port: keep path and query."""
    parts = urlsplit(url)
    if parts.port != target.public_port:
        raise FlowFailure(f"{step}: redirect_to {url[:120]} is not on the public port")
    return parts.path + ("?" + parts.query if parts.query else "")


def _admin_put(http_: Http, step: str, target: Target, path: str, params: dict, body: dict) -> str:
    status, _, data = http_.request(
        step,
        target.admin_port,
        "PUT",
        f"{path}?{urlencode(params)}",
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if status != 200:
        raise _fail(step, status, data)
    try:
        return json.loads(data)["redirect_to"]
    except (ValueError, KeyError):
        raise _fail(step + " (no redirect_to)", status, data) from None


def _token_request(http_: Http, step: str, target: Target, form: dict) -> dict:
    status, _, data = http_.request(
        step,
        target.public_port,
        "POST",
        "/oauth2/token",
        body=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": target.basic_auth,
        },
    )
    if status != 200:
        raise _fail(step, status, data)
    try:
        tokens = json.loads(data)
    except ValueError:
        raise _fail(step + " (not JSON)", status, data) from None
    if "access_token" not in tokens:
        raise _fail(step + " (no access_token)", status, data)
    if "offline" in target.scope.split() and "refresh_token" not in tokens:
        raise _fail(step + " (no refresh_token)", status, data)
    return tokens


def authorization_code_flow(http_: Http, target: Target) -> dict:
    """One complete flow; returns the token response (access, refresh and ID token)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    jar = CookieJar()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": target.client_id,
            "redirect_uri": target.redirect_uri,
            "scope": target.scope,
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    status, headers, data = http_.request(
        "auth", target.public_port, "GET", "/oauth2/auth?" + query
    )
    location = _redirect("auth", status, headers, data)
    jar.update(headers)
    login_challenge = _query(location).get("login_challenge")
    if not login_challenge:
        raise FlowFailure(f"auth: redirect without login_challenge: {location[:120]}")

    redirect_to = _admin_put(
        http_,
        "login accept",
        target,
        "/admin/oauth2/auth/requests/login/accept",
        {"login_challenge": login_challenge},
        {"subject": target.subject},
    )
    path = _public_path("login verifier", redirect_to, target)
    status, headers, data = http_.request(
        "login verifier", target.public_port, "GET", path, headers=jar.header()
    )
    location = _redirect("login verifier", status, headers, data)
    jar.update(headers)
    consent_challenge = _query(location).get("consent_challenge")
    if not consent_challenge:
        raise FlowFailure(f"login verifier: redirect without consent_challenge: {location[:120]}")

    redirect_to = _admin_put(
        http_,
        "consent accept",
        target,
        "/admin/oauth2/auth/requests/consent/accept",
        {"consent_challenge": consent_challenge},
        {"grant_scope": target.scope.split()},
    )
    path = _public_path("consent verifier", redirect_to, target)
    status, headers, data = http_.request(
        "consent verifier", target.public_port, "GET", path, headers=jar.header()
    )
    location = _redirect("consent verifier", status, headers, data)
    if not location.startswith(target.redirect_uri):
        raise FlowFailure(f"consent verifier: not sent back to the client: {location[:120]}")
    callback = _query(location)
    if "code" not in callback or callback.get("state") != state:
        raise FlowFailure(f"callback without code or with a wrong state: {location[:160]}")

    return _token_request(
        http_,
        "code exchange",
        target,
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": target.redirect_uri,
            "code_verifier": verifier,
        },
    )


def refresh(http_: Http, target: Target, refresh_token: str) -> dict:
    """One refresh-token grant; returns the token response with the rotated refresh token."""
    return _token_request(
        http_, "refresh", target, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
