"""CORS (Fetch standard, "CORS protocol") as Ory Hydra does it: ``SERVE_PUBLIC_CORS_*`` and
``SERVE_ADMIN_CORS_*`` (``config.CorsSettings``), plus the OAuth2 client's own
``allowed_cors_origins`` on four public endpoints (Hydra's ``x/oauth2cors``).

A WSGI middleware between the request envelope and the edge guard (``web.app``), so the
hot paths and Flask get the same headers, and so do the guard's and the views' errors
(a browser app must be able to read an ``invalid_client``). Installed only when the
app's ``*_CORS_ENABLED`` is true: otherwise nothing is added anywhere.

* A request without ``Origin`` passes untouched.
* A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
  answered here, never passed on (as Hydra's ``rs/cors``), with an empty 200 (rs/cors
  says 204, after which waitress closes the connection). The CORS headers come only
  when the origin, the method and every requested header are allowed; otherwise the
  answer is the same 200 without them, and the browser stops.
* Any other request with an allowed origin and method gets ``Access-Control-Allow-Origin``,
  ``-Expose-Headers`` and ``-Allow-Credentials`` on whatever the app answers.
* ``Vary`` names what the answer depended on, whether or not it allowed the origin.

Origins: ``*`` allows every origin. An empty list allows none (and says so at start):
Hydra and rs/cors read it as "every origin, with credentials", which would let any web
page drive an admin API on a developer's machine; ``*`` says that on purpose. A wildcard
is honoured only as a whole leftmost label before a name of at least two labels
(``https://*.example.com`` matches ``https://a.example.com`` and
``https://a.b.example.com``, not ``https://example.com``). Hydra also refuses unbounded
wildcards (``https://*foo.com``, ``https://*.com``, ``http://*``); it asks the public
suffix list, which we do not ship, so ``https://*.co.uk`` is the operator's to avoid.
Only a well-formed ``http(s)://host[:port]`` origin is ever echoed: ``null``, a list of
origins, non-ASCII or control characters get no CORS headers. With credentials allowed
the answer never says ``*``; it echoes the origin.

Per client (public app, and only when ``SERVE_PUBLIC_CORS_ENABLED`` is true, as in
Hydra): on ``/oauth2/token``, ``/oauth2/revoke``, ``/oauth2/device/auth``, ``/oauth2/par``
and ``/userinfo`` an origin the settings do not allow is still allowed when the client
making the request lists it (its patterns read like the settings'). The client is named
by HTTP Basic, by ``client_id`` in the form body (Hydra misses that case, its bug
#3456), or by the ``iss``/``sub`` of a ``client_assertion`` JWT, read without checking
its signature: it only picks whose list is read, the endpoint authenticates later. When
these disagree no client is picked. On ``/userinfo`` it is the client the bearer access
token (header or ``access_token`` in the body) was issued to, if the token is active.
The body is read only when it is a form within the app's size limit, and ``wsgi.input``
is replaced by the bytes read, so the app reads it again unchanged (the guard and the
hot paths do the same). The lookups use a read-only autocommit connection of their own,
opened only when the settings alone do not allow the origin and closed before the app
runs; if the database fails, the origin is simply not allowed, and the app answers as
it would have (a 503 if the database is down).

Preflights of those four endpoints: a preflight carries no credentials, so no client can
be named. Hydra's ``x/oauth2cors`` therefore allows every origin there ("pre-flight
requests do not contain credentials ... so we return true in all cases"), and we do the
same (method and headers are still checked, the origin must be well-formed). The actual
request still needs the client's origin for its answer to be readable; these endpoints
never act on cookies. Note that in a stock Hydra a global CORS layer in front answers
preflights first, from the settings alone (Hydra issue #3795, whose advice is a global
wildcard): there a client's origin passes only requests that need no preflight. We
follow ``x/oauth2cors`` rather than that layering, or per-client origins could never
serve HTTP Basic or bearer requests. Unlike Hydra, discovery and JWKS get only the
settings' rule (no client is ever named there); the device authorization endpoint,
which Hydra leaves out, gets the per-client rule.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidClientError

from authserver.oauth2.client_auth import decode_basic
from authserver.storage.handles import SessionHandle
from authserver.web.bodies import FORM_TYPE

if TYPE_CHECKING:
    from authserver.config import CorsSettings
    from authserver.services import Services

log = logging.getLogger(__name__)

_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")  # RFC 9110 tchar
_MAX_ORIGIN = 300
_MAX_REQUESTED_HEADERS = 64
_MAX_FORM_FIELDS = 200
_VERDICT = {True: "allowed", False: "no CORS headers"}
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# -- origins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: str  # "" when absent

    @classmethod
    def parse(cls, value: str) -> Origin | None:
        """A serialised ``http(s)`` origin, lower-cased; None for anything else."""
        if len(value) > _MAX_ORIGIN or not value.isascii():
            return None
        found = _ORIGIN.fullmatch(value)
        if found is None:
            return None
        return cls(found["scheme"].lower(), found["host"].lower(), found["port"] or "")


@dataclass(frozen=True)
class OriginRule:
    """Which origins a list of configured origins and patterns allows."""

    allow_all: bool
    exact: frozenset[str]
    wildcards: tuple[tuple[str, str, str], ...]  # (scheme, base name, port)

    @classmethod
    def of(cls, patterns: Iterable[str]) -> OriginRule:
        patterns = tuple(patterns)
        exact, wildcards = set(), []
        for pattern in patterns:
            if pattern == "*":
                return cls(True, frozenset(), ())
            if "*" not in pattern:
                exact.add(pattern.lower().rstrip("/"))
                continue
            wildcard = _bounded_wildcard(pattern)
            if wildcard is None:
                log.warning("CORS origin %r ignored: use *, or https://*.example.com", pattern)
            else:
                wildcards.append(wildcard)
        return cls(False, frozenset(exact), tuple(wildcards))

    def allows(self, origin: Origin, text: str) -> bool:
        if self.allow_all or text.lower() in self.exact:
            return True
        return any(
            origin.scheme == scheme
            and origin.port == port
            and origin.host.endswith("." + base)
            and not origin.host.startswith("[")
            for scheme, base, port in self.wildcards
        )


def _bounded_wildcard(pattern: str) -> tuple[str, str, str] | None:
    """``scheme://*.name.tld[:port]`` as (scheme, name.tld, port); None if unbounded."""
    scheme, found, rest = pattern.lower().rstrip("/").partition("://*.")
    parsed = Origin.parse(f"{scheme}://{rest}") if found else None
    if parsed is None or "." not in parsed.host.strip(".") or parsed.host.startswith("["):
        return None
    return parsed.scheme, parsed.host, parsed.port


@lru_cache(maxsize=1024)
def _client_rule(patterns: tuple[str, ...]) -> OriginRule:
    return OriginRule.of(patterns)


# -- the policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsPolicy:
    """One app's ``CorsSettings``, checked and ready to apply."""

    origins: OriginRule
    methods: frozenset[str]
    headers: frozenset[str]  # lower-cased; "*" allows any
    exposed: str
    credentials: bool
    max_age: int
    debug: bool = False

    @classmethod
    def of(cls, settings: CorsSettings) -> CorsPolicy:
        return cls(
            origins=OriginRule.of(settings.allowed_origins),
            methods=frozenset(m.upper() for m in _tokens(settings.allowed_methods)),
            headers=frozenset(h.lower() for h in _tokens(settings.allowed_headers)),
            exposed=", ".join(_tokens(settings.exposed_headers)),
            credentials=settings.allow_credentials,
            max_age=settings.max_age,
            debug=settings.debug,
        )

    def allows_method(self, method: str) -> bool:
        # rs/cors: OPTIONS is always allowed, but only if some method is.
        return bool(self.methods) and (method == "OPTIONS" or method.upper() in self.methods)

    def requested_headers(self, value: str) -> list[str] | None:
        """The requested header names, lower-cased, if all are allowed; else None."""
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        if len(names) > _MAX_REQUESTED_HEADERS or not all(_TOKEN.fullmatch(n) for n in names):
            return None
        if "*" in self.headers or all(name in self.headers for name in names):
            return names
        return None

    def allow_origin_value(self, origin: str, by_settings: bool) -> str:
        if by_settings and self.origins.allow_all and not self.credentials:
            return "*"
        return origin


def _tokens(values: Iterable[str]) -> list[str]:
    """Configured names that can go in a header; anything else is dropped, loudly."""
    good = [value for value in values if _TOKEN.fullmatch(value)]
    for value in set(values) - set(good):
        log.warning("CORS setting %r ignored: not an HTTP token", value)
    return good


# -- who the client is ---------------------------------------------------------------------


def _form(environ, max_body_bytes: int) -> dict[str, str]:
    """The form body's single-valued fields; ``wsgi.input`` is left readable again."""
    mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    length = environ.get("CONTENT_LENGTH", "")
    if mimetype != FORM_TYPE or not (length.isascii() and length.isdigit() and len(length) < 16):
        return {}  # (int() refuses "²" and 5,000 digits alike)
    if not 0 < int(length) <= max_body_bytes:
        return {}
    raw = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        pairs = parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except (UnicodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for key, value in pairs:
        form[key] = "" if key in form else value  # a repeated field names nothing
    return form


def _basic_client_id(environ) -> str:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        return decode_basic(header)[0]
    except InvalidClientError:  # malformed: the endpoint says so itself
        return ""


def _assertion_client_id(form: dict[str, str]) -> str:
    """``iss`` = ``sub`` of a client assertion JWT (RFC 7523 §3), unverified."""
    assertion = form.get("client_assertion", "")
    if form.get("client_assertion_type") != _ASSERTION_TYPE or assertion.count(".") != 2:
        return ""
    payload = assertion.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return ""
    if not isinstance(claims, dict):
        return ""
    issuer, subject = claims.get("iss"), claims.get("sub")
    return issuer if isinstance(issuer, str) and issuer == subject else ""


def _authenticating_client(environ, form: dict[str, str]) -> str:
    """The one client id the request's credentials name, or ""."""
    named = {_basic_client_id(environ), form.get("client_id", ""), _assertion_client_id(form)}
    named.discard("")
    client_id = named.pop() if len(named) == 1 else ""
    return client_id if client_id.isprintable() else ""  # no NUL to the database


def _bearer_token(environ, form: dict[str, str]) -> str:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop"):
        return token.strip()
    return form.get("access_token", "")


class ClientOrigins:
    """The origins of the client that makes a request to one of the per-client paths."""

    def __init__(self, services: Services, max_body_bytes: int):
        self._services = services
        self._max_body_bytes = max_body_bytes

    def allows(self, environ, path: str, origin: Origin, text: str) -> bool:
        form = (
            _form(environ, self._max_body_bytes) if environ.get("REQUEST_METHOD") == "POST" else {}
        )
        by_token = path == "/userinfo"
        named = _bearer_token(environ, form) if by_token else _authenticating_client(environ, form)
        if not named:
            return False
        handle = SessionHandle(self._services.database, write=False, autocommit=True)
        try:
            client_id = self._token_client(handle, named) if by_token else named
            stored = self._services.clients.find(handle.get(), client_id) if client_id else None
        except Exception as error:  # noqa: BLE001 (no per-client CORS; the app answers)
            log.warning("CORS: client origins not read: %s", error.__class__.__name__)
            return False
        finally:
            handle.close()
        if stored is None:
            return False
        return _client_rule(tuple(stored.client.allowed_cors_origins)).allows(origin, text)

    def _token_client(self, handle: SessionHandle, token: str) -> str:
        record = self._services.access_tokens.lookup(handle.get(), token)
        if record is None or not record.is_active(self._services.clock.now()):
            return ""
        return record.client_id


# Hydra's x/oauth2cors paths (and the device authorization and PAR endpoints, see above).
PER_CLIENT_PATHS = frozenset(
    {"/oauth2/token", "/oauth2/revoke", "/oauth2/device/auth", "/oauth2/par", "/userinfo"}
)


# -- the middleware ------------------------------------------------------------------------


WsgiApp = Callable


class Cors:
    def __init__(self, app: WsgiApp, policy: CorsPolicy, clients: ClientOrigins | None = None):
        self._app = app
        self._policy = policy
        self._clients = clients

    def __call__(self, environ, start_response):
        text = environ.get("HTTP_ORIGIN")
        if text is None:
            return self._app(environ, start_response)
        origin = Origin.parse(text)
        method = environ.get("REQUEST_METHOD", "")
        if method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return self._preflight(environ, start_response, origin, text)
        by_settings = origin is not None and self._policy.origins.allows(origin, text)
        allowed = (
            origin is not None
            and self._policy.allows_method(method)
            and (by_settings or self._allowed_for_client(environ, origin, text))
        )
        self._debug("request", text, allowed)
        headers = self._actual_headers(text, by_settings) if allowed else []
        return self._app(environ, _adding(start_response, headers, "Origin"))

    def _preflight(self, environ, start_response, origin: Origin | None, text: str):
        headers = self._preflight_headers(environ, origin, text) if origin else []
        self._debug("preflight", text, bool(headers))
        # 200, not rs/cors' 204: waitress closes the connection after every 204.
        start_response("200 OK", [*headers, ("Vary", _PREFLIGHT_VARY), ("Content-Length", "0")])
        return [b""]

    def _preflight_headers(self, environ, origin: Origin, text: str) -> list[tuple[str, str]]:
        policy = self._policy
        by_settings = policy.origins.allows(origin, text)
        # No credentials in a preflight: every origin may ask on a per-client path.
        per_client = self._clients is not None and _path(environ) in PER_CLIENT_PATHS
        if not (by_settings or per_client):
            return []
        method = environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"]
        requested = policy.requested_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        if not _TOKEN.fullmatch(method) or not policy.allows_method(method) or requested is None:
            return []
        headers = [
            ("Access-Control-Allow-Origin", policy.allow_origin_value(text, by_settings)),
            ("Access-Control-Allow-Methods", method),
        ]
        if requested:
            headers.append(("Access-Control-Allow-Headers", ", ".join(requested)))
        if policy.max_age > 0:
            headers.append(("Access-Control-Max-Age", str(policy.max_age)))
        if policy.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def _actual_headers(self, text: str, by_settings: bool) -> list[tuple[str, str]]:
        policy = self._policy
        headers = [("Access-Control-Allow-Origin", policy.allow_origin_value(text, by_settings))]
        if policy.exposed:
            headers.append(("Access-Control-Expose-Headers", policy.exposed))
        if policy.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def _allowed_for_client(self, environ, origin: Origin, text: str) -> bool:
        path = _path(environ)
        return (
            self._clients is not None
            and path in PER_CLIENT_PATHS
            and self._clients.allows(environ, path, origin, text)
        )

    def _debug(self, kind: str, origin: str, allowed: bool) -> None:
        if self._policy.debug:
            log.info("CORS %s from %r: %s", kind, origin[:_MAX_ORIGIN], _VERDICT[allowed])


def _path(environ) -> str:
    # Flask routes "/oauth2/token/" to the token endpoint too (strict_slashes is off).
    return environ.get("PATH_INFO", "").rstrip("/") or "/"


def _adding(start_response, headers: list[tuple[str, str]], vary: str):
    def start(status: str, response_headers: list, exc_info=None):
        merged = [(n, v) for n, v in response_headers if n.lower() != "vary"]
        varies = [v for n, v in response_headers if n.lower() == "vary"]
        merged.append(("Vary", ", ".join([*varies, vary])))
        return start_response(status, [*merged, *headers], exc_info)

    return start


# -- what the apps install -----------------------------------------------------------------


def cors_layer(
    settings: CorsSettings, clients: ClientOrigins | None = None
) -> Callable[[WsgiApp], WsgiApp] | None:
    """What ``web.app.install_ways_in`` wraps the app in, or None when CORS is off."""
    if not settings.enabled:
        return None
    if not settings.allowed_origins:
        log.warning(
            "CORS is enabled with no allowed origins: no origin is allowed (Hydra would allow "
            "all); list them, or * for every origin"
        )
    policy = CorsPolicy.of(settings)
    return lambda app: Cors(app, policy, clients)


def public_cors(services: Services, max_body_bytes: int) -> Callable[[WsgiApp], WsgiApp] | None:
    return cors_layer(services.settings.public_cors, ClientOrigins(services, max_body_bytes))


def admin_cors(services: Services) -> Callable[[WsgiApp], WsgiApp] | None:
    return cors_layer(services.settings.admin_cors)
