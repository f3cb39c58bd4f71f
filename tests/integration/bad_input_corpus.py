"""A bad-input corpus for every endpoint of authserver, consent_ui and demo_client.

``test_bad_input.py`` uses it in three steps:

1. ``discover_routes()`` builds the four Flask apps in-process and reads their url maps, so a
   route added tomorrow is probed without anyone listing it here.
2. ``build_probes()`` crosses corpus entries with endpoints: for every route and each of its
   methods (plus odd and unknown methods), a baseline request built from a ``Template`` of
   real values, then that request with one field corrupted at a time, with bad path
   segments, query strings, headers, cookies, Host values, bodies, content types and
   framing. Each ``Probe`` is raw bytes, so nothing normalises a NUL or a lone CR away.
3. ``run_probes()`` sends them over raw sockets (keep-alive, a small thread pool, a timeout
   on every request) and checks every answer with ``check()``: never a 5xx, never a
   traceback, and on the API ports a JSON error document for every 4xx.

Templates name the request parameters an endpoint reads, with real values (a client that
exists, a live challenge): corrupting one field of an otherwise valid request is what
reaches storage. Endpoints without a template get the generic corpus only.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

API_APPS = frozenset({"public", "admin"})
APPS = ("public", "admin", "consent_ui", "demo_client")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Sent to every path that does not serve them; FROBNICATE is a method nobody knows.
ODD_METHODS = ("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FROBNICATE")
TIMEOUT = 30.0
# Framing probes that a server may sit on (a chunk size of 2**96 bytes): answer promptly.
FRAMING_TIMEOUT = 5.0
LONG = 100_000  # "over-long" values: a 100 kB parameter, header, cookie, path segment
HUGE_BODY = 10 * 1024 * 1024
DEPTH = 100_000
TOO_LARGE_HEAD = 300 * 1024  # waitress refuses request heads over 256 KiB
FORM = b"application/x-www-form-urlencoded"
JSON = b"application/json"
# Where a probe wants a live login, consent or logout challenge (or demo_client state).
CHALLENGE = "@@challenge:{}@@"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_MARKER_IN_DATA = re.compile(rb"@@(fresh|shared):(\w+)(?::([^@]*))?@@")
_SENTINEL = "@@bad-input-value@@"
_TRACEBACK = re.compile(rb'Traceback \(most recent call last\)|File "[^"\n]{1,300}", line \d+')


def challenge(kind: str) -> str:
    """A placeholder the runner replaces by a real challenge of ``kind`` at send time."""
    return CHALLENGE.format(kind)


def is_browser_endpoint(app: str, rule: str) -> bool:
    """authserver's pages for browsers: an HTML page or a redirect is fine there."""
    return app == "public" and (
        rule in ("/oauth2/auth", "/oauth2/sessions/logout", "/oauth2/device/verify")
        or rule.startswith("/oauth2/fallbacks/")
    )


# -- routes, from the apps themselves ---------------------------------------------------


@dataclass(frozen=True)
class Route:
    app: str
    rule: str  # Flask's rule, e.g. /admin/clients/<client_id>
    views: Mapping[str, str]  # method -> view ("clients.get_client"; no "_unprefixed")
    arguments: tuple[str, ...]


def view_name(endpoint: str) -> str:
    blueprint, _, function = endpoint.rpartition(".")
    blueprint = blueprint.removesuffix("_unprefixed")
    return f"{blueprint}.{function}" if blueprint else function


def routes_of(app_name: str, flask_app) -> list[Route]:
    views: dict[str, dict[str, str]] = {}
    arguments: dict[str, tuple[str, ...]] = {}
    for rule in flask_app.url_map.iter_rules():
        for method in sorted(rule.methods or ()):
            views.setdefault(rule.rule, {}).setdefault(method, view_name(rule.endpoint))
        arguments[rule.rule] = tuple(sorted(rule.arguments))
    return [
        Route(app_name, rule, dict(sorted(methods.items())), arguments[rule])
        for rule, methods in sorted(views.items())
    ]


def discover_routes() -> dict[str, list[Route]]:
    """Build the four apps in-process (nothing listens) and return their routes."""
    import consent_ui
    import demo_client
    from authserver.admin.app import create_admin_app
    from authserver.config import load_settings
    from authserver.public.app import create_public_app
    from authserver.services import build_services

    settings = load_settings(env={"DSN": "memory", "SECRETS_SYSTEM": secrets.token_urlsafe(32)})
    services = build_services(settings)
    try:
        apps = {
            "public": create_public_app(services),
            "admin": create_admin_app(services),
            "consent_ui": consent_ui.create_app(
                {"HYDRA_ADMIN_URL": "http://127.0.0.1:9", "SECRET_KEY": secrets.token_hex(32)}
            ),
            "demo_client": demo_client.create_app(
                {"DEMO_CLIENT_SECRET_KEY": secrets.token_hex(32)}
            ),
        }
        return {name: routes_of(name, app) for name, app in apps.items()}
    finally:
        services.close()


# -- bad values ----------------------------------------------------------------------------


def pct(value: str | bytes) -> bytes:
    """Percent-encode for a query or form (keeps our @@challenge:kind@@ placeholders)."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(value, safe="@:").encode("ascii")


def url_values(marker: bytes) -> list[tuple[str, bytes]]:
    """Values for query parameters, form fields and path segments, already encoded."""
    return [
        ("nul", b"a%00b"),
        ("raw-nul", b"a\x00b"),
        ("surrogate", b"a%ED%A0%80b"),  # UTF-8 of the lone surrogate U+D800
        ("invalid-utf8", b"a%FFb"),
        ("raw-invalid-utf8", b"a\xffb"),
        ("crlf", b"a%0D%0A" + marker + b"%20200"),
        ("non-latin1", pct("€😀")),
        ("long", b"a" * LONG),
        ("empty", b""),
    ]


def path_values(marker: bytes) -> list[tuple[str, bytes]]:
    return [
        *url_values(marker),
        ("lf", b"a%0A" + marker),
        ("cr", b"a%0D" + marker),
        ("encoded-slash", b"a%2Fb"),
        ("dot-dot", b"%2E%2E"),
    ]


def json_values(marker: bytes) -> list[tuple[str, bytes]]:
    """JSON fragments that replace one value of a document."""
    return [
        ("nul", b'"a\\u0000b"'),
        ("raw-nul", b'"a\x00b"'),
        ("surrogate", b'"a\\ud800b"'),
        ("raw-invalid-utf8", b'"a\xffb"'),
        ("crlf", b'"a\\r\\n' + marker + b' 200"'),
        ("non-latin1", json.dumps("€😀", ensure_ascii=False).encode()),
        ("long", b'"' + b"a" * LONG + b'"'),
        ("empty", b'""'),
        ("null", b"null"),
        ("true", b"true"),
        ("1e999", b"1e999"),
        ("huge-int", b"9" * 5000),
        ("negative", b"-1"),
        ("array", b'["a\\u0000b", "\\ud800"]'),
        ("object", b'{"a\\u0000b": "\\ud800", "k": {"\\u0000": null}}'),
    ]


def header_values(marker: bytes) -> list[tuple[str, bytes]]:
    """Raw header values (a CR/LF can only come as an obs-fold or a bare CR)."""
    return [
        ("raw-nul", b"a\x00b"),
        ("raw-invalid-utf8", b"a\xffb"),
        ("raw-utf8", "é€😀".encode()),
        ("obs-fold", b"a\r\n " + marker),
        ("bare-cr", b"a\r" + marker),
        ("pct-nul", b"a%00b"),
        ("long", b"a" * LONG),
        ("empty", b""),
    ]


# -- templates: what each endpoint reads, with real values ----------------------------------


@dataclass
class Template:
    """One valid-looking request of an endpoint; ``build_probes`` corrupts it field by field.

    ``json_paths``: the JSON values to corrupt (default: every top-level key). ``extra``:
    parameters the endpoint reads that the baseline leaves out; they are added with each
    bad value (to the body when there is one, else to the query). ``fresh``: every request
    that corrupts a field gets a new challenge (accepting a challenge uses it up).
    """

    name: str = "default"
    query: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    json_paths: tuple[tuple, ...] | None = None
    extra: tuple[str, ...] = ()
    fresh: bool = False

    @property
    def body_kind(self) -> str | None:
        if self.form is not None:
            return "form"
        return "json" if self.json is not None else None


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


_AUTHORIZE_EXTRA = (
    "prompt",
    "max_age",
    "ui_locales",
    "login_hint",
    "acr_values",
    "id_token_hint",
    "audience",
    "display",
    "response_mode",
    "login_verifier",
    "consent_verifier",
    "claims",
)


def _params(method: str, params: dict, **kwargs) -> Template:
    """GET sends parameters in the query, POST in a form body."""
    if method in BODY_METHODS:
        return Template(form=params, **kwargs)
    return Template(query=params, **kwargs)


def _authorize(v: Mapping[str, str], method: str) -> list[Template]:
    params = {
        "client_id": v["client_id"],
        "response_type": "code",
        "redirect_uri": v["redirect_uri"],
        "scope": "openid offline_access",
        "state": "bad-input-state-0123456789",
        "nonce": "bad-input-nonce-0123456789",
        "code_challenge": v["code_challenge"],
        "code_challenge_method": "S256",
    }
    return [_params(method, params, extra=_AUTHORIZE_EXTRA)]


def _token(v: Mapping[str, str], method: str) -> list[Template]:
    auth = {"Authorization": basic(v["client_id"], v["client_secret"])}
    code = {
        "grant_type": "authorization_code",
        "code": "ory_ac_bogus.bogus",
        "redirect_uri": v["redirect_uri"],
        "code_verifier": "v" * 43,
    }
    return [
        Template(
            "client_credentials",
            form={"grant_type": "client_credentials", "scope": "offline_access"},
            headers=auth,
            extra=("audience",),
        ),
        Template("authorization_code", form=code, headers=auth),
        Template(
            "refresh_token",
            form={"grant_type": "refresh_token", "refresh_token": v["refresh_token"]},
            headers=auth,
            extra=("scope",),
        ),
        Template(
            "client_secret_post",
            form={
                "grant_type": "client_credentials",
                "client_id": v["post_client_id"],
                "client_secret": v["post_client_secret"],
            },
        ),
        Template("public_client", form={**code, "client_id": v["public_client_id"]}),
        Template(
            "private_key_jwt",
            form={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": v["client_assertion"],
            },
            # A browser app's call: the CORS layer reads the assertion to find the client.
            headers={"Origin": v["cors_origin"]},
        ),
        Template(
            "jwt_bearer",
            form={"grant_type": JWT_BEARER, "assertion": v["bearer_assertion"], "scope": "read"},
            headers={"Authorization": basic(v["bearer_client_id"], v["bearer_client_secret"])},
        ),
        Template(
            "cors_client_secret_post",
            form={
                "grant_type": "client_credentials",
                "client_id": v["post_client_id"],
                "client_secret": v["post_client_secret"],
            },
            headers={"Origin": v["cors_origin"]},
        ),
    ]


def _revoke(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(
            form={"token": v["revoke_token"], "token_type_hint": "access_token"},
            headers={"Authorization": basic(v["client_id"], v["client_secret"])},
            extra=("client_id", "client_secret"),
        )
    ]


def _device_auth(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(
            "basic",
            form={"scope": "openid offline_access"},
            headers={"Authorization": basic(v["client_id"], v["client_secret"])},
            extra=("audience",),
        ),
        Template("public_client", form={"client_id": v["public_client_id"], "scope": "openid"}),
    ]


def _par(v: Mapping[str, str], method: str) -> list[Template]:
    """RFC 9126: an authorization request, pushed with client authentication."""
    params = {
        "response_type": "code",
        "redirect_uri": v["redirect_uri"],
        "scope": "openid offline_access",
        "state": "bad-input-state-0123456789",
        "nonce": "bad-input-nonce-0123456789",
        "code_challenge": v["code_challenge"],
        "code_challenge_method": "S256",
    }
    extra = (
        *(name for name in _AUTHORIZE_EXTRA if not name.endswith("_verifier")),
        "client_id",
        "request_uri",
        "request",
    )
    return [
        Template(
            "basic",
            form={**params, "resource": "https://api.example.com"},
            headers={"Authorization": basic(v["client_id"], v["client_secret"])},
            extra=extra,
        ),
        Template("public_client", form={**params, "client_id": v["public_client_id"]}),
        Template(
            "client_secret_post",
            form={
                **params,
                "client_id": v["post_client_id"],
                "client_secret": v["post_client_secret"],
            },
        ),
        Template(
            "private_key_jwt",
            form={
                **params,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": v["client_assertion"],
            },
        ),
    ]


def _device_verify(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(
            query={"user_code": "ABCD-EFGH"},
            extra=("device_verifier", "login_verifier", "consent_verifier"),
        )
    ]


def _device_done(v: Mapping[str, str], method: str) -> list[Template]:
    return [Template(query={"error": "access_denied", "error_description": "d"})]


def _accept_user_code(v: Mapping[str, str], method: str) -> list[Template]:
    # A challenge of no browser: the probes reach the lookup and the body's checks.
    return [
        Template(query={"device_challenge": "bad-input-challenge"}, json={"user_code": "ABCDEFGH"})
    ]


def _userinfo(v: Mapping[str, str], method: str) -> list[Template]:
    bearer = Template("bearer", headers={"Authorization": "Bearer " + v["access_token"]})
    if method in BODY_METHODS:
        return [bearer, Template("form", form={"access_token": v["access_token"]})]
    return [bearer]


def _logout(v: Mapping[str, str], method: str) -> list[Template]:
    params = {
        "id_token_hint": v["id_token"],
        "post_logout_redirect_uri": v["post_logout_redirect_uri"],
        "state": "bad-input-state-0123456789",
        "client_id": v["client_id"],
    }
    return [_params(method, params, extra=("logout_verifier", "ui_locales"))]


def _fallback_error(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(query={"error": "invalid_request", "error_description": "d", "error_hint": "h"})
    ]


def client_document(v: Mapping[str, str]) -> dict:
    """A valid public client (no secret: creating one costs no argon2 hash)."""
    origin = v["redirect_origin"]
    return {
        "client_name": "bad input",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [v["redirect_uri"]],
        "post_logout_redirect_uris": [origin + "/logged-out"],
        "scope": "openid offline_access",
        "token_endpoint_auth_method": "none",
        "owner": "bad-input-owner",
        "contacts": ["someone@example.com"],
        "metadata": {"k": "v"},
        "audience": ["https://api.example.com"],
        "client_uri": "https://app.example.com",
    }


_CLIENT_PATHS = (
    ("redirect_uris", 0),
    ("contacts", 0),
    ("metadata", "k"),
)
_CLIENT_EXTRA = (
    "client_id",
    "client_secret",
    "client_secret_expires_at",
    "authorization_code_grant_access_token_lifespan",
    "access_token_strategy",
)


def _client_write(v: Mapping[str, str], method: str) -> list[Template]:
    document = client_document(v)
    paths = tuple((key,) for key in document) + _CLIENT_PATHS
    return [Template(json=document, json_paths=paths, extra=_CLIENT_EXTRA)]


def _client_patch(v: Mapping[str, str], method: str) -> list[Template]:
    patch = [{"op": "replace", "path": "/client_name", "value": "patched"}]
    return [Template(json=patch, json_paths=((0, "op"), (0, "path"), (0, "value"), (0,)))]


def _client_lifespans(v: Mapping[str, str], method: str) -> list[Template]:
    document = {
        "authorization_code_grant_access_token_lifespan": "1h",
        "refresh_token_grant_refresh_token_lifespan": "720h",
    }
    return [Template(json=document, extra=("client_credentials_grant_access_token_lifespan",))]


def _client_list(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(
            query={"page_size": "2", "client_name": "bad input", "owner": "bad-input-owner"},
            extra=("page_token",),
        )
    ]


def _register(v: Mapping[str, str], method: str) -> list[Template]:
    """RFC 7591/7592: a registration body; management with the registration token."""
    document = {
        "client_name": "bad input registered",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://registered.example/callback"],
        "token_endpoint_auth_method": "none",
        "scope": "openid",
        "contacts": ["someone@example.com"],
    }
    # Each method its own client: a PUT rotates the token, a DELETE ends the client.
    token = {"PUT": "victim_", "DELETE": "doomed_"}.get(method, "") + "registration_token"
    bearer = {"Authorization": "Bearer " + v[token]}
    if method == "POST":
        return [Template(json=document, extra=("metadata", "client_id", "jwks_uri"))]
    if method == "PUT":
        return [Template(json=document, headers=bearer)]
    return [Template(headers=bearer)]


def _trust(v: Mapping[str, str], method: str) -> list[Template]:
    if method == "GET":
        return [Template(query={"issuer": v["trusted_issuer"], "page_size": "2"})]
    document = {
        "issuer": "https://bad-input.example/" + secrets.token_hex(4),
        "subject": "alice",
        "scope": ["read"],
        "jwk": json.loads(v["trust_jwk"]) if v["trust_jwk"].startswith("{") else {},
        "expires_at": "2099-01-01T00:00:00Z",
    }
    return [Template(json=document, json_paths=(*((key,) for key in document), ("jwk", "n")))]


def _introspect(v: Mapping[str, str], method: str) -> list[Template]:
    return [Template(form={"token": v["access_token"], "scope": "openid"})]


def _create_key(v: Mapping[str, str], method: str) -> list[Template]:
    return [Template(json={"alg": "ES256", "use": "sig", "kid": "bad-input-created"})]


def _get_flow(kind: str):
    def make(v: Mapping[str, str], method: str) -> list[Template]:
        return [Template(query={f"{kind}_challenge": challenge(kind)})]

    return make


def _accept_login(v: Mapping[str, str], method: str) -> list[Template]:
    document = {
        "subject": "foo@bar.com",
        "remember": True,
        "remember_for": 3600,
        "acr": "urn:bad-input",
        "amr": ["pwd"],
        "context": {"k": "v"},
        "identity_provider_session_id": "idp-session",
    }
    return [
        Template(
            query={"login_challenge": challenge("login")},
            json=document,
            json_paths=(*((key,) for key in document), ("amr", 0), ("context", "k")),
            extra=("force_subject_identifier", "extend_session_lifespan"),
            fresh=True,
        )
    ]


def _reject(kind: str):
    def make(v: Mapping[str, str], method: str) -> list[Template]:
        document = {
            "error": "access_denied",
            "error_description": "bad input",
            "error_hint": "hint",
            "status_code": 403,
        }
        return [Template(query={f"{kind}_challenge": challenge(kind)}, json=document, fresh=True)]

    return make


def _accept_consent(v: Mapping[str, str], method: str) -> list[Template]:
    document = {
        "grant_scope": ["openid", "offline_access"],
        "grant_access_token_audience": [],
        "remember": True,
        "remember_for": 3600,
        "session": {"id_token": {"email": "foo@bar.com"}, "access_token": {"k": "v"}},
        "context": {"k": "v"},
    }
    paths = (
        *((key,) for key in document),
        ("grant_scope", 0),
        ("session", "id_token", "email"),
        ("session", "access_token", "k"),
        ("context", "k"),
    )
    return [
        Template(
            query={"consent_challenge": challenge("consent")},
            json=document,
            json_paths=paths,
            fresh=True,
        )
    ]


def _answer_logout(v: Mapping[str, str], method: str) -> list[Template]:
    return [Template(query={"logout_challenge": challenge("logout")}, fresh=True)]


def _list_consent_sessions(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template(
            query={"subject": "foo@bar.com", "page_size": "5"},
            extra=("login_session_id", "page_token"),
        )
    ]


def _revoke_consent_sessions(v: Mapping[str, str], method: str) -> list[Template]:
    # Never the subject whose tokens the other templates use.
    return [Template(query={"subject": "someone-else", "client": v["client_id"]}, extra=("all",))]


def _revoke_login_sessions(v: Mapping[str, str], method: str) -> list[Template]:
    return [
        Template("subject", query={"subject": "someone-else"}),
        Template("sid", query={"sid": "no-such-session"}),
    ]


def _ui_login(v: Mapping[str, str], method: str) -> list[Template]:
    if method not in BODY_METHODS:
        return [Template(query={"login_challenge": challenge("login")})]
    form = {
        "csrf_token": v["ui_csrf"],
        "challenge": challenge("login"),
        "email": "foo@bar.com",
        "password": "not-the-password",  # never logs in: the challenge stays usable
        "remember": "y",
    }
    return [Template(form=form, extra=("deny", "login"))]


def _ui_consent(v: Mapping[str, str], method: str) -> list[Template]:
    if method not in BODY_METHODS:
        return [Template(query={"consent_challenge": challenge("consent")})]
    form = {
        "csrf_token": v["ui_csrf"],
        "challenge": challenge("consent"),
        "grant_scope": ["openid", "offline_access"],
        "remember": "y",
        "allow": "Allow",
    }
    return [Template(form=form, extra=("deny",))]


def _ui_logout(v: Mapping[str, str], method: str) -> list[Template]:
    if method not in BODY_METHODS:
        return [Template(query={"logout_challenge": challenge("logout")})]
    form = {"csrf_token": v["ui_csrf"], "challenge": challenge("logout"), "no": "No"}
    return [Template(form=form, extra=("yes",))]


def _demo_callback(v: Mapping[str, str], method: str) -> list[Template]:
    query = {"code": "ory_ac_bogus.bogus", "state": challenge("demo_state"), "iss": v["issuer"]}
    return [Template(query=query, extra=("error", "error_description", "scope"), fresh=True)]


def _demo_form(**fields: str):
    def make(v: Mapping[str, str], method: str) -> list[Template]:
        return [Template(form={"csrf_token": v["demo_csrf"], **fields})]

    return make


def _index(v: Mapping[str, str], method: str) -> list[Template]:
    """The API roots: JSON by default, HTML for a browser (the Accept header decides)."""
    return [Template(), Template(name="html", headers={"Accept": "text/html"})]


TemplateMaker = Callable[[Mapping[str, str], str], list[Template]]
TEMPLATES: dict[tuple[str, str], TemplateMaker] = {
    ("public", "index.index"): _index,
    ("public", "authorize.authorize"): _authorize,
    ("public", "token.token"): _token,
    ("public", "revoke.revoke"): _revoke,
    ("public", "userinfo.userinfo"): _userinfo,
    ("public", "logout.logout"): _logout,
    ("public", "fallbacks.error"): _fallback_error,
    ("public", "device_auth.device_authorization"): _device_auth,
    ("public", "par.pushed_authorization_request"): _par,
    ("public", "device_verify.verify"): _device_verify,
    ("public", "fallbacks.device_done"): _device_done,
    ("admin", "index.index"): _index,
    ("admin", "clients.create_client"): _client_write,
    ("admin", "clients.replace_client"): _client_write,
    ("admin", "clients.patch_client"): _client_patch,
    ("admin", "clients.set_lifespans"): _client_lifespans,
    ("admin", "clients.list_clients"): _client_list,
    ("admin", "introspect.introspect_view"): _introspect,
    ("public", "register.register_client"): _register,
    ("public", "register.read_client"): _register,
    ("public", "register.update_client"): _register,
    ("public", "register.delete_client"): _register,
    ("admin", "trust.trust_issuer"): _trust,
    ("admin", "trust.list_trusted_issuers"): _trust,
    ("admin", "keys.create_key"): _create_key,
    ("admin", "login_requests.get_login_request"): _get_flow("login"),
    ("admin", "login_requests.accept_login_request"): _accept_login,
    ("admin", "login_requests.reject_login_request"): _reject("login"),
    ("admin", "consent_requests.get_consent_request"): _get_flow("consent"),
    ("admin", "consent_requests.accept_consent_request"): _accept_consent,
    ("admin", "consent_requests.reject_consent_request"): _reject("consent"),
    ("admin", "logout_requests.get_logout_request"): _get_flow("logout"),
    ("admin", "logout_requests.accept_logout_request"): _answer_logout,
    ("admin", "logout_requests.reject_logout_request"): _answer_logout,
    ("admin", "device_requests.accept_user_code_request"): _accept_user_code,
    ("admin", "sessions.list_consent_sessions"): _list_consent_sessions,
    ("admin", "sessions.revoke_consent_sessions"): _revoke_consent_sessions,
    ("admin", "sessions.revoke_login_sessions"): _revoke_login_sessions,
    ("consent_ui", "login.show_form"): _ui_login,
    ("consent_ui", "login.submit_form"): _ui_login,
    ("consent_ui", "consent.show_form"): _ui_consent,
    ("consent_ui", "consent.submit_form"): _ui_consent,
    ("consent_ui", "logout.show_form"): _ui_logout,
    ("consent_ui", "logout.submit_form"): _ui_logout,
    ("demo_client", "login.login"): lambda v, method: [Template(query={"prompt": "login"})],
    ("demo_client", "callback.callback"): _demo_callback,
    ("demo_client", "tokens.refresh"): _demo_form(),
    ("demo_client", "tokens.revoke"): _demo_form(token="refresh_token"),
    ("demo_client", "logout.logout"): _demo_form(),
    ("demo_client", "logout.logged_out"): lambda v, m: [Template(query={"state": "bogus"})],
}

# Real values for path parameters, by view: reads use live objects; writes and deletes use
# objects of their own, so that probes do not destroy what other probes need.
PATH_VALUES: dict[tuple[str, str], str] = {
    ("clients.get_client", "client_id"): "client_id",
    ("clients.replace_client", "client_id"): "victim_client_id",
    ("clients.patch_client", "client_id"): "victim_client_id",
    ("clients.set_lifespans", "client_id"): "victim_client_id",
    ("clients.delete_client", "client_id"): "doomed_client_id",
    ("keys.get_key_set", "set_id"): "key_set",
    ("keys.create_key", "set_id"): "created_key_set",
    ("keys.delete_key_set", "set_id"): "doomed_key_set",
    ("keys.get_key", "set_id"): "key_set",
    ("keys.get_key", "kid"): "kid",
    ("keys.delete_key", "set_id"): "doomed_key_set_2",
    ("keys.delete_key", "kid"): "doomed_kid",
    ("static", "filename"): "static_file",
    ("register.read_client", "client_id"): "registered_client_id",
    ("register.update_client", "client_id"): "registered_victim_id",
    ("register.delete_client", "client_id"): "registered_doomed_id",
    ("trust.get_trusted_issuer", "trust_id"): "trust_id",
    ("trust.delete_trusted_issuer", "trust_id"): "doomed_trust_id",
}


# -- probes --------------------------------------------------------------------------------


@dataclass
class Probe:
    """One raw HTTP request and what is known about where it goes."""

    app: str
    rule: str
    method: str
    variant: str
    target: bytes  # the request-target, bytes as sent
    headers: list[tuple[bytes, bytes | None]]  # None: a line without a colon
    body: bytes = b""
    host: bytes | None = None  # None: 127.0.0.1:port
    send_host: bool = True
    framing: bool = True  # add Content-Length (False: the headers carry the framing)
    isolated: bool = False  # own connection, closed after (framing and size probes)
    timeout: float = TIMEOUT
    json_errors: bool = False  # a 4xx must be a JSON error document

    def __post_init__(self):
        if self.method == "HEAD":
            self.isolated = True  # so that a body sent after a HEAD answer can be seen

    def render(self, default_host: bytes, resolve: Callable[[bytes], bytes]) -> bytes:
        target, body = resolve(self.target), resolve(self.body)
        lines = [self.method.encode("latin-1") + b" " + target + b" HTTP/1.1"]
        if self.send_host:
            lines.append(b"Host: " + (default_host if self.host is None else self.host))
        lines.extend(
            name if value is None else name + b": " + value for name, value in self.headers
        )
        if self.framing and (body or self.method in BODY_METHODS):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        if self.isolated:
            lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def describe(self) -> str:
        headers = ", ".join(
            f"{name.decode('latin-1')}: {_short(value or b'')}" for name, value in self.headers
        )
        host = "" if self.host is None else f" Host: {_short(self.host)}"
        if not self.send_host:
            host = " (no Host)"
        body = f" body[{len(self.body)}]={_short(self.body, 200)}" if self.body else ""
        text = f"{self.method} {_short(self.target, 200)}{host} [{headers}]{body}"
        return re.sub(r"@@(?:fresh|shared):(\w+)(?::[^@]*)?@@", r"<live \1 challenge>", text)


def _short(data: bytes, limit: int = 60) -> str:
    """``data`` as a Python bytes literal without the quotes; the middle of long values cut."""
    if len(data) <= limit:
        return repr(data)[2:-1]
    head, tail = limit * 2 // 3, limit // 3
    cut = len(data) - head - tail
    return f"{repr(data[:head])[2:-1]}…({cut} bytes)…{repr(data[-tail:])[2:-1]}"


@dataclass
class _Base:
    """A template rendered for one route and method; variants copy and change it."""

    app: str
    rule: str
    method: str
    template: Template
    path: bytes
    query: list[tuple[bytes, bytes]]
    form: list[tuple[bytes, bytes]] | None
    json_doc: Any
    headers: list[tuple[bytes, bytes]]
    cookie: bytes
    json_errors: bool

    def target(self, path: bytes | None = None, query: list | None = None) -> bytes:
        pairs = self.query if query is None else query
        path = self.path if path is None else path
        return path + (b"?" + _join(pairs) if pairs else b"")

    def body(self) -> tuple[bytes | None, bytes]:
        """(Content-Type, body) of the template."""
        if self.form is not None:
            return FORM, _join(self.form)
        if self.json_doc is not None:
            return JSON, json.dumps(self.json_doc).encode()
        return None, b""

    def probe(
        self,
        variant: str,
        *,
        target: bytes | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        content_type: bytes | None | bool = True,
        body: bytes | None = None,
        cookie: bytes | None = None,
        **kwargs,
    ) -> Probe:
        """A request like the baseline, with the given parts replaced.

        ``content_type=True`` keeps the template's; None sends no Content-Type."""
        template_type, template_body = self.body()
        if body is None:
            body = template_body
        if content_type is True:
            content_type = template_type
        all_headers = list(self.headers if headers is None else headers)
        cookie = self.cookie if cookie is None else cookie
        if cookie:
            all_headers.append((b"Cookie", cookie))
        if content_type is not None:
            all_headers.append((b"Content-Type", content_type))
        return Probe(
            app=self.app,
            rule=self.rule,
            method=self.method,
            variant=variant,
            target=self.target() if target is None else target,
            headers=all_headers,
            body=body,
            json_errors=self.json_errors,
            **kwargs,
        )


def _join(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    return b"&".join(key + b"=" + value for key, value in pairs)


def _pairs(params: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((pct(key), pct(str(item))))
    return pairs


_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _path(rule: str, values: Mapping[str, bytes]) -> bytes:
    parts, last = [], 0
    for match in _ARGUMENT.finditer(rule):
        parts.append(rule[last : match.start()].encode())
        parts.append(values[match.group(1)])
        last = match.end()
    parts.append(rule[last:].encode())
    return b"".join(parts)


@dataclass
class Corpus:
    """What probes need to know about the running stack.

    ``values``: real values by name (see TEMPLATES and PATH_VALUES). ``cookies``: per app,
    the cookies a logged-in browser sends. ``session_cookies``: per app, the names of the
    cookies the app reads. ``markers``: per app, text that must never start a log line.
    """

    values: Mapping[str, str]
    cookies: Mapping[str, str]
    session_cookies: Mapping[str, tuple[str, ...]]
    markers: Mapping[str, str]

    def path_value(self, view: str, argument: str) -> bytes:
        name = PATH_VALUES.get((view, argument))
        return pct(self.values[name]) if name else b"x"


def build_probes(routes: Iterable[Route], corpus: Corpus) -> list[Probe]:
    """Every route, each of its methods, and the odd methods it does not serve.

    A view served under two paths (the admin API answers with and without ``/admin``) gets
    the whole corpus under the first path, and under the second its baseline and the
    path entries only: past routing, the same code reads the same request. A chunk size
    no server can wait for is sent once per app: waitress reads the body before any
    route is chosen."""
    probes: list[Probe] = []
    fields_done: set[tuple[str, str]] = set()
    for route in routes:
        served = [method for method in route.views if method not in ("HEAD", "OPTIONS")]
        main_view = route.views.get("GET") or next(iter(route.views.values()))
        for method in served:
            view = route.views[method]
            fields = (view, method) not in fields_done
            fields_done.add((view, method))
            once = not probes
            probes.extend(_full_corpus(route, method, view, corpus, fields, once))
        for method in ("HEAD", "OPTIONS"):
            if method in route.views:
                probes.extend(_small_corpus(route, method, main_view, corpus))
        for method in ODD_METHODS:
            if method not in route.views:
                probes.extend(_odd_method(route, method, main_view, corpus))
    for index, probe in enumerate(probes):  # a forged log line then names its request
        marker = corpus.markers[probe.app].encode()
        numbered = marker + b"-%d" % index
        if marker in probe.target:
            probe.target = probe.target.replace(marker, numbered)
        if marker in probe.body:
            probe.body = probe.body.replace(marker, numbered)
        probe.headers = [
            (name, value.replace(marker, numbered) if value and marker in value else value)
            for name, value in probe.headers
        ]
    return probes


def _base(route: Route, method: str, view: str, template: Template, corpus: Corpus) -> _Base:
    arguments = {name: corpus.path_value(view, name) for name in route.arguments}
    headers = [(name.encode(), value.encode()) for name, value in template.headers.items()]
    json_doc = template.json
    return _Base(
        app=route.app,
        rule=route.rule,
        method=method,
        template=template,
        path=_path(route.rule, arguments),
        query=_pairs(template.query),
        form=_pairs(template.form) if template.form is not None else None,
        json_doc=json_doc,
        headers=[(b"Accept", b"*/*"), *headers],
        cookie=corpus.cookies.get(route.app, "").encode(),
        json_errors=route.app in API_APPS and not is_browser_endpoint(route.app, route.rule),
    )


def _templates(route: Route, method: str, view: str, corpus: Corpus) -> list[Template]:
    maker = TEMPLATES.get((route.app, view))
    templates = maker(corpus.values, method) if maker else []
    return templates or [Template()]


def _full_corpus(
    route: Route, method: str, view: str, corpus: Corpus, fields: bool, once: bool
) -> Iterator[Probe]:
    marker = corpus.markers[route.app].encode()
    templates = _templates(route, method, view, corpus)
    bases = [_base(route, method, view, template, corpus) for template in templates]
    for base in bases:
        probes = _field_probes(base, marker) if fields else _baseline(base)
        yield from _shared(probes, base, fresh=base.template.fresh)
    base = bases[0]
    generic = list(_path_probes(base, route, view, corpus, marker))
    if fields:  # under another path the same view reads its query, headers and body
        generic.extend(_query_probes(base, marker))
        generic.extend(_header_probes(base, corpus, marker))
        generic.extend(_framing_probes(base, once))
        if method in BODY_METHODS:
            generic.extend(_body_probes(base, marker))
        else:
            generic.extend(_body_on_bodyless(base))
    yield from _shared(generic, base, fresh=False)


def _small_corpus(route: Route, method: str, view: str, corpus: Corpus) -> Iterator[Probe]:
    """HEAD and OPTIONS: the same code as GET behind them; the request line and headers."""
    marker = corpus.markers[route.app].encode()
    template = _templates(route, "GET", view, corpus)[0]
    base = _base(route, method, view, template, corpus)
    wanted = {"nul", "raw-nul", "surrogate", "raw-invalid-utf8", "crlf"}
    probes = [base.probe("baseline")]
    probes += [p for p in _path_probes(base, route, view, corpus, marker) if _tail(p) in wanted]
    probes += [p for p in _query_probes(base, marker) if _tail(p) in wanted]
    probes += [p for p in _header_probes(base, corpus, marker) if p.variant in _FEW_HEADERS]
    yield from _shared(probes, base, fresh=False)


# The header entries for requests whose code path other probes already cover in full.
_FEW_HEADERS = frozenset(
    {
        "cookie-raw-nul",
        "authorization-basic-raw-utf8",
        "authorization-basic-b64-nul-in-real-id",
        "x-request-id-obs-fold",
        "host-ipv6",
        "host-nul",
    }
)


def _tail(probe: Probe) -> str:
    return probe.variant.rsplit("=", 1)[-1]


def _odd_method(route: Route, method: str, view: str, corpus: Corpus) -> Iterator[Probe]:
    marker = corpus.markers[route.app].encode()
    template = _templates(route, "GET", view, corpus)[0]
    base = _base(route, method, view, template, corpus)
    nul_path = base.path + b"%00"
    yield from _shared(
        [
            base.probe("odd-method", content_type=None, body=b""),
            base.probe(
                "odd-method-with-bad-input",
                target=nul_path + b"?a=%00%ED%A0%80&b=%0D%0A" + marker,
                headers=[*base.headers, (b"X-Bad-Input", b"a\x00b")],
                content_type=JSON,
                body=b'{"a\\u0000": "\\ud800", "b": "\x00"}',
            ),
        ],
        base,
        fresh=False,
    )


def _shared(probes: Iterable[Probe], base: _Base, fresh: bool) -> Iterator[Probe]:
    """Turn challenge placeholders into fresh ones, or into one shared by the endpoint."""
    group = f"{base.app}|{base.method}|{base.rule}".encode().replace(b"@", b"_")
    for probe in probes:
        for name in ("target", "body"):
            data = getattr(probe, name)
            if b"@@challenge:" in data:
                if fresh:
                    data = data.replace(b"@@challenge:", b"@@fresh:")
                else:
                    data = re.sub(rb"@@challenge:(\w+)@@", rb"@@shared:\1:" + group + b"@@", data)
                setattr(probe, name, data)
        yield probe


# -- corpus entries ------------------------------------------------------------------------


def _baseline(base: _Base) -> Iterator[Probe]:
    name = base.template.name
    yield base.probe("baseline" if name == "default" else f"{name}:baseline")


def _field_probes(base: _Base, marker: bytes) -> Iterator[Probe]:
    """The baseline, then every field of the template corrupted, one at a time."""
    template = base.template
    prefix = "" if template.name == "default" else f"{template.name}:"
    yield from _baseline(base)
    urls = url_values(marker)
    for index, (key, value) in enumerate(base.query):
        name = f"{prefix}query.{key.decode()}"
        for label, bad in urls:
            query = [*base.query[:index], (key, bad), *base.query[index + 1 :]]
            yield base.probe(f"{name}={label}", target=base.target(query=query))
        yield base.probe(
            f"{name}=duplicated", target=base.target(query=[*base.query, (key, value)])
        )
        yield base.probe(
            f"{name}=duplicated-nul", target=base.target(query=[*base.query, (key, b"%00")])
        )
    if base.form is not None:
        for index, (key, value) in enumerate(base.form):
            name = f"{prefix}form.{key.decode()}"
            for label, bad in urls:
                form = [*base.form[:index], (key, bad), *base.form[index + 1 :]]
                yield base.probe(f"{name}={label}", body=_join(form))
            yield base.probe(f"{name}=duplicated", body=_join([*base.form, (key, value)]))
            yield base.probe(f"{name}=duplicated-nul", body=_join([*base.form, (key, b"%00")]))
    if base.json_doc is not None:
        paths = template.json_paths
        if paths is None:
            paths = (
                tuple((key,) for key in base.json_doc) if isinstance(base.json_doc, dict) else ()
            )
        for path in paths:
            name = f"{prefix}json.{'.'.join(str(part) for part in path)}"
            for label, fragment in json_values(marker):
                yield base.probe(f"{name}={label}", body=_json_with(base.json_doc, path, fragment))
    for header, value in template.headers.items():
        scheme, _, _ = value.partition(" ")
        keep = scheme.encode() + b" " if header.lower() == "authorization" else b""
        others = [(n, v) for n, v in base.headers if n.decode().lower() != header.lower()]
        for label, bad in header_values(marker):
            yield base.probe(
                f"{prefix}header.{header}={label}",
                headers=[*others, (header.encode(), keep + bad)],
                isolated=label in ("obs-fold", "bare-cr"),
            )
    for extra in template.extra:
        name = f"{prefix}extra.{extra}"
        if base.json_doc is not None and isinstance(base.json_doc, dict):
            for label, fragment in json_values(marker):
                yield base.probe(
                    f"{name}={label}", body=_json_with(base.json_doc, (extra,), fragment)
                )
        elif base.form is not None:
            for label, bad in urls:
                yield base.probe(f"{name}={label}", body=_join([*base.form, (pct(extra), bad)]))
        else:
            for label, bad in urls:
                query = [*base.query, (pct(extra), bad)]
                yield base.probe(f"{name}={label}", target=base.target(query=query))


def _json_with(document: Any, path: tuple, fragment: bytes) -> bytes:
    document = copy.deepcopy(document)
    container = document
    for part in path[:-1]:
        container = container[part]
    container[path[-1]] = _SENTINEL
    return json.dumps(document).encode().replace(json.dumps(_SENTINEL).encode(), fragment, 1)


def _path_probes(
    base: _Base, route: Route, view: str, corpus: Corpus, marker: bytes
) -> Iterator[Probe]:
    bad_values = path_values(marker)
    if not route.arguments:
        for label, bad in bad_values:
            yield base.probe(f"path.append={label}", target=base.target(path=base.path + bad))
        yield base.probe("path.append=trailing-slash", target=base.target(path=base.path + b"/"))
        yield base.probe(
            "path.append=raw-nul-segment", target=base.target(path=base.path + b"/\x00")
        )
        return
    for argument in route.arguments:
        for label, bad in bad_values:
            values = {name: corpus.path_value(view, name) for name in route.arguments}
            values[argument] = bad
            yield base.probe(
                f"path.{argument}={label}", target=base.target(path=_path(route.rule, values))
            )


def _query_probes(base: _Base, marker: bytes) -> Iterator[Probe]:
    for label, bad in url_values(marker):
        if label == "empty":
            continue
        query = [*base.query, (bad, bad)]
        yield base.probe(f"query.unknown-key-and-value={label}", target=base.target(query=query))
    if base.query:
        yield base.probe("query=all-duplicated", target=base.target(query=base.query * 2))
    yield base.probe("query=odd-separators", target=base.target() + b"&&=&==&a&a=&%&%zz=%")
    yield base.probe("query=raw-space-and-hash", target=base.target() + b"&a=b#c%00")


def _header_probes(base: _Base, corpus: Corpus, marker: bytes) -> Iterator[Probe]:
    values = corpus.values
    client = values.get("client_id", "client").encode()
    secret = values.get("client_secret", "secret").encode()

    def b64(raw: bytes) -> bytes:
        return b"Basic " + base64.b64encode(raw)

    authorizations = [
        ("basic-raw-utf8", b"Basic " + "clïent:sécret€".encode()),
        ("basic-raw-latin1", b"Basic \xe9\xff:\xfe"),
        ("basic-b64-invalid-utf8", b64(b"\xff\xfe:\xff")),
        ("basic-b64-invalid-utf8-secret", b64(client + b":\xff\xfe")),
        ("basic-b64-nul", b64(b"a\x00b:c\x00d")),
        ("basic-b64-nul-in-real-id", b64(client + b"\x00:" + secret)),
        ("basic-b64-nul-in-real-secret", b64(client + b":" + secret + b"\x00")),
        ("basic-b64-surrogate", b64("\ud800:x".encode("utf-8", "surrogatepass"))),
        ("basic-b64-crlf", b64(b"a\r\n" + marker + b":x")),
        ("basic-b64-pct-escapes", b64(b"a%00%ED%A0%80b:c%FFd")),
        ("basic-not-base64", b"Basic !!!***"),
        ("basic-no-colon", b64(b"abc")),
        ("basic-empty", b"Basic "),
        ("basic-long", b"Basic " + b"A" * LONG),
        ("bearer-raw-nul", b"Bearer a\x00b"),
        ("bearer-raw-utf8", "Bearer é€".encode()),
        ("bearer-raw-invalid-utf8", b"Bearer \xff\xfe"),
        ("unknown-scheme", b"Digest a\x00b"),
        ("raw-nul-only", b"\x00"),
    ]
    others = [(n, v) for n, v in base.headers if n.lower() != b"authorization"]
    for label, value in authorizations:
        yield base.probe(f"authorization-{label}", headers=[*others, (b"Authorization", value)])

    cookies = [
        ("raw-nul", b"junk=a\x00b"),
        ("pct-nul", b"junk=a%00b"),
        ("raw-invalid-utf8", b"junk=a\xffb"),
        ("raw-utf8", "junk=é€".encode()),
        ("long", b"junk=" + b"a" * LONG),
        ("garbage", b'=;;;"a\x00\\; ;=='),
    ]
    for label, value in cookies:
        cookie = base.cookie + b"; " + value if base.cookie else value
        yield base.probe(f"cookie-{label}", cookie=cookie)
    for name in corpus.session_cookies.get(base.app, ()):
        for label, value in (("raw-nul", b"a\x00b"), ("pct-nul", b"%00"), ("raw-ff", b"\xff")):
            yield base.probe(f"cookie-{name}-{label}", cookie=name.encode() + b"=" + value)

    for label, value in header_values(marker):
        yield base.probe(
            f"x-request-id-{label}",
            headers=[*base.headers, (b"X-Request-Id", value)],
            isolated=label in ("obs-fold", "bare-cr"),
        )
    yield base.probe(
        "x-request-id-pct-crlf", headers=[*base.headers, (b"X-Request-Id", b"a%0D%0A" + marker)]
    )
    junk: list[tuple[str, list[tuple[bytes, bytes | None]]]] = [
        ("header-raw-nul", [(b"X-Bad-Input", b"a\x00b")]),
        ("header-raw-invalid-utf8", [(b"X-Bad-Input", b"\xff\xfe")]),
        ("header-obs-fold", [(b"X-Bad-Input", b"a\r\n " + marker)]),
        ("header-name-nul", [(b"X-Bad\x00Input", b"1")]),
        ("header-without-colon", [(b"X-Bad-Input-Without-Colon", None)]),
        ("header-space-before-colon", [(b"X-Bad-Input ", b"1")]),
        (
            "x-forwarded-junk",
            [(b"X-Forwarded-For", b"\x00, [::1"), (b"X-Forwarded-Proto", b"h\xff")],
        ),
        ("content-type-raw-nul", [(b"Content-Type", b"application/json\x00")]),
        ("accept-language-junk", [(b"Accept-Language", b"\xff;q=\x00, *;q=1e999")]),
    ]
    for label, extra in junk:
        yield base.probe(
            label,
            headers=[*base.headers, *extra],
            content_type=None if label.startswith("content-type") else True,
            isolated=label in ("header-obs-fold", "header-without-colon", "header-name-nul"),
        )

    port_free_hosts = [
        ("ipv6", b"[::1]"),
        ("ipv6-with-port", b"[::1]:4444"),
        ("ipv6-unclosed", b"[::1"),
        ("nul", b"127.0.0.1\x00.evil.example"),
        ("raw-invalid-utf8", b"\xff\xfe"),
        ("raw-utf8", "bücher.example".encode()),
        ("long", b"a" * LONG),
        ("empty", b""),
        ("userinfo", b"user:pass@127.0.0.1"),
        ("port-overflow", b"127.0.0.1:99999"),
        ("port-not-a-number", b"127.0.0.1:abc"),
        ("other-host", b"evil.example"),
        ("spaces", b"a b c"),
    ]
    for label, host in port_free_hosts:
        yield base.probe(f"host-{label}", host=host)
    yield base.probe("host-missing", send_host=False)
    yield base.probe(
        "host-twice", headers=[*base.headers, (b"Host", b"evil.example")], isolated=True
    )


def _framing_probes(base: _Base, once: bool) -> Iterator[Probe]:
    """Transfer-Encoding and Content-Length that do not add up, and oversized heads.
    ``once``: also the probes that can only be answered before routing."""
    content_type, body = base.body()
    content_type = content_type or FORM
    chunked = [(b"Transfer-Encoding", b"chunked")]

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n" % len(data) + data + b"\r\n" if data else b""

    framed = [
        ("chunked-malformed-size", chunked, b"zz\r\nabc\r\n0\r\n\r\n"),
        ("chunked-missing-crlf", chunked, b"3\r\nabcdef0\r\n\r\n"),
        ("chunked-valid", chunked, chunk(body[:5]) + chunk(body[5:]) + b"0\r\n\r\n"),
        (
            "chunked-and-content-length",
            [*chunked, (b"Content-Length", b"4")],
            b"0\r\n\r\n",
        ),
        ("content-length-not-a-number", [(b"Content-Length", b"abc")], b""),
        ("content-length-negative", [(b"Content-Length", b"-1")], b""),
        ("content-length-twice", [(b"Content-Length", b"0"), (b"Content-Length", b"5")], b""),
    ]
    if once:
        overflowing = b"ffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"
        framed.append(("chunked-overflowing-size", chunked, overflowing))
    for label, headers, raw_body in framed:
        yield base.probe(
            label,
            headers=[*base.headers, *headers],
            content_type=content_type,
            body=raw_body,
            framing=False,
            isolated=True,
            timeout=FRAMING_TIMEOUT,
        )
    yield base.probe(
        "request-line-too-large",
        target=base.target() + (b"&" if b"?" in base.target() else b"?") + b"a" * TOO_LARGE_HEAD,
        isolated=True,
    )
    yield base.probe(
        "header-too-large",
        headers=[*base.headers, (b"X-Bad-Input", b"a" * TOO_LARGE_HEAD)],
        isolated=True,
    )
    yield base.probe(
        "too-many-headers",
        headers=[*base.headers, *((b"X-Bad-Input-%d" % n, b"a" * 200) for n in range(2000))],
        isolated=True,
    )


_DEEP_ARRAY = b"[" * DEPTH + b"]" * DEPTH
_DEEP_OBJECT = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH


@functools.cache
def _huge(kind: str | None) -> bytes:
    """A 10 MB body of the given kind (made once, shared by every probe that sends it)."""
    return {"json": b'{"a": "%s"}', "form": b"a=%s"}.get(kind, b"%s") % (b"a" * HUGE_BODY)


def _body_probes(base: _Base, marker: bytes) -> Iterator[Probe]:
    kind = base.template.body_kind
    content_type, body = base.body()
    json_doc = base.json_doc if base.json_doc is not None else {}
    form = base.form or []
    strings = {
        key: value
        for key, value in (json_doc.items() if isinstance(json_doc, dict) else ())
        if isinstance(value, str)
    }
    as_form = _join([*form, *_pairs(strings)]) or b"a=b"
    as_json = json.dumps(
        {**{k.decode(): v.decode() for k, v in form}, **json_doc}
        if isinstance(json_doc, dict)
        else json_doc
    ).encode()
    boundary = b"bad-input-boundary"
    parts = [*form, *_pairs(strings)] or [(b"a", b"b")]
    multipart = b"".join(
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + key
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for key, value in parts
    )
    multipart_bad = (
        multipart + b"--" + boundary + b'\r\nContent-Disposition: form-data; name="a\x00b"; '
        b'filename="\xff.txt"\r\nContent-Type: text/plain\r\n\r\na\x00\xffb\r\n'
        + b"--"
        + boundary
        + b"--\r\n"
    )
    multipart_type = b"multipart/form-data; boundary=" + boundary
    entries: list[tuple[str, bytes | None, bytes]] = [
        ("empty-form", FORM, b""),
        ("empty-json", JSON, b""),
        ("empty-no-content-type", None, b""),
        ("no-content-type", None, body or as_form),
        ("text-plain", b"text/plain", body or as_form),
        ("form-body-as-json", JSON, as_form),
        ("json-body-as-form", FORM, as_json),
        (
            "other-encoding",
            JSON if kind == "form" else FORM,
            as_json if kind == "form" else as_form,
        ),
        ("multipart", multipart_type, multipart + b"--" + boundary + b"--\r\n"),
        ("multipart-bad-bytes", multipart_type, multipart_bad),
        ("multipart-no-boundary", b"multipart/form-data", multipart),
        ("multipart-unterminated", multipart_type, multipart + b"--" + boundary + b"\r\nCont"),
        ("content-type-charset-utf16", (content_type or JSON) + b"; charset=utf-16", body),
        ("content-type-charset-invalid", (content_type or FORM) + b"; charset=\xff\x00", body),
        ("raw-invalid-utf8", content_type or FORM, b"\xff\xfe\xfd" + body),
        ("raw-nul", content_type or FORM, body + b"\x00\x00"),
        ("json-array", JSON, b"[]"),
        ("json-string", JSON, b'"a\\u0000b"'),
        ("json-number", JSON, b"1"),
        ("json-null", JSON, b"null"),
        ("json-true", JSON, b"true"),
        ("json-1e999", JSON, b"1e999"),
        ("json-huge-int", JSON, b"9" * 5000),
        ("json-nan", JSON, b'{"a": NaN, "b": Infinity, "c": -Infinity}'),
        ("json-deep-arrays", JSON, _DEEP_ARRAY),
        ("json-deep-objects", JSON, _DEEP_OBJECT),
        ("json-truncated", JSON, as_json[: max(1, len(as_json) // 2)]),
        ("json-trailing-garbage", JSON, as_json + b"}]\x00"),
        ("json-bom", JSON, b"\xef\xbb\xbf" + as_json),
        ("json-lone-surrogate-escapes", JSON, b'{"\\ud800": "\\udc00\\ud800"}'),
        ("form-key-nul", FORM, _join([*form, (b"a%00b", b"1")])),
        ("form-key-raw-nul", FORM, _join([*form, (b"a\x00b", b"1")])),
        ("form-key-surrogate", FORM, _join([*form, (b"%ED%A0%80", b"1")])),
        ("form-all-duplicated", FORM, _join(form * 2) or b"a=1&a=2"),
        ("form-many-fields", FORM, b"&".join(b"f%d=1" % n for n in range(10_000))),
        ("huge-body", content_type, _huge(kind)),
    ]
    if isinstance(base.json_doc, dict) and base.json_doc:
        raw = json.dumps(base.json_doc).encode()[:-1]
        duplicated = b", ".join(b'"' + key.encode() + b'": "a\\u0000b"' for key in base.json_doc)
        entries += [
            ("json-key-nul", JSON, raw + b', "a\\u0000b": "x"}'),
            ("json-key-surrogate", JSON, raw + b', "\\ud800": "x"}'),
            ("json-key-raw-invalid-utf8", JSON, raw + b', "\xff": "x"}'),
            ("json-key-crlf", JSON, raw + b', "a\\r\\n' + marker + b'": "x"}'),
            ("json-keys-duplicated", JSON, raw + b", " + duplicated + b"}"),
        ]
    else:
        entries += [
            ("json-key-nul", JSON, b'{"a\\u0000b": "x"}'),
            ("json-key-surrogate", JSON, b'{"\\ud800": "x"}'),
            ("json-key-raw-invalid-utf8", JSON, b'{"\xff": "x"}'),
        ]
    for label, entry_type, entry_body in entries:
        yield base.probe(f"body={label}", content_type=entry_type, body=entry_body)


def _body_on_bodyless(base: _Base) -> Iterator[Probe]:
    yield base.probe(
        "body-on-bodyless-method-json",
        content_type=JSON,
        body=b'{"a\\u0000": "\\ud800", "deep": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    )
    yield base.probe("body-on-bodyless-method-form", content_type=FORM, body=b"a=%00&b=\xff")


# -- sending and checking ------------------------------------------------------------------


class NoResponse(Exception):
    """The server closed the connection or timed out without an answer."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    will_close: bool

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


class Connection:
    """One keep-alive HTTP/1.1 connection that sends bytes exactly as given."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT):
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader = None
        self.previous = ""  # what the last request on this connection was

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def request(
        self,
        raw: bytes,
        head: bool = False,
        timeout: float = TIMEOUT,
        label: str = "",
        closing: bool = False,
    ) -> Response:
        """Send ``raw``, read one answer. ``closing``: the request asked to close, so a HEAD
        answer's stray body (bytes up to the end of the connection) is read into ``body``."""
        previous, self.previous = self.previous, label
        for attempt in range(2):
            reused = self.sock is not None
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=self.timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.reader = self.sock.makefile("rb")
            self.sock.settimeout(timeout)
            send_error: OSError | None = None
            try:
                self.sock.sendall(raw)
            except OSError as exc:  # the server may answer and close before reading it all
                send_error = exc
            try:
                response = _read_response(self.reader, head, closing)
            except NoResponse:
                self.close()
                if reused and attempt == 0:
                    continue  # a keep-alive connection the server had closed: retry once
                raise NoResponse(
                    f"connection closed without an answer ({send_error or 'no bytes'})"
                ) from None
            except ValueError as exc:
                self.close()
                raise NoResponse(
                    f"unreadable answer ({exc}): bytes left over from the previous answer on "
                    f"this connection, to [{previous}]? Its Content-Length may be wrong"
                ) from None
            except OSError as exc:
                self.close()
                raise NoResponse(
                    f"{exc.__class__.__name__}: {exc} (after {timeout:.0f}s)"
                    if isinstance(exc, TimeoutError)
                    else f"{exc.__class__.__name__}: {exc}"
                ) from None
            if response.will_close:
                self.close()
            return response
        raise AssertionError("unreachable")


def _read_response(reader, head: bool, closing: bool = False) -> Response:
    line = reader.readline(65537)
    if not line:
        raise NoResponse
    version, status, *_ = line.rstrip(b"\r\n").split(b" ", 2) + [b""]
    if not version.startswith(b"HTTP/") or not status.isdigit():
        raise ValueError(f"not a status line: {line[:100]!r}")
    headers = []
    while True:
        header = reader.readline(65537)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.partition(b":")
        headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
    lookup = {name.lower(): value for name, value in headers}
    code = int(status)
    will_close = lookup.get("connection", "").lower() == "close" or version == b"HTTP/1.0"
    if head:
        body = reader.read() if closing else b""  # should be nothing at all
    elif code in (204, 304) or 100 <= code < 200:
        body = b""
    elif "chunked" in lookup.get("transfer-encoding", "").lower():
        chunks = []
        while size := int(reader.readline(65537).split(b";")[0].strip() or b"0", 16):
            chunks.append(reader.read(size))
            reader.readline(65537)
        while reader.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        body = b"".join(chunks)
    elif "content-length" in lookup:
        body = reader.read(int(lookup["content-length"]))
    else:
        body, will_close = reader.read(), True
    return Response(code, headers, body, will_close)


# consent_ui and demo_client run on stock waitress (authserver's server is hardened, see
# authserver/runtime/waitress_server.py): waitress' own 400 page follows a HEAD answer with a body,
# and it waits for the data of an absurd chunk size until the connection times out. Both
# are waitress' behaviour, outside the apps; checked strictly on authserver's ports only.
STOCK_WAITRESS_APPS = frozenset({"consent_ui", "demo_client"})


def waitress_own_answer(probe: Probe, response: Response) -> bool:
    return probe.app in STOCK_WAITRESS_APPS and b"(generated by " in response.body


def tolerated_silence(probe: Probe) -> bool:
    return probe.app in STOCK_WAITRESS_APPS and probe.variant == "chunked-overflowing-size"


def check(probe: Probe, response: Response) -> list[str]:
    """What is wrong with this answer (nothing: an empty list)."""
    problems = []
    if response.status >= 500:
        problems.append(f"{response.status} server error")
    if _TRACEBACK.search(response.body):
        problems.append("traceback in the body")
    if probe.method == "HEAD" and response.body and not waitress_own_answer(probe, response):
        problems.append(
            f"a HEAD answer followed by {len(response.body)} body bytes (RFC 9112 6.3: an "
            "answer to HEAD has no content; on a kept-alive connection a client reads these "
            "bytes as the next answer)"
        )
    if probe.json_errors and 400 <= response.status < 500:
        problem = _json_error_problem(response, head=probe.method == "HEAD")
        if problem:
            problems.append(problem)
    return problems


def _json_error_problem(response: Response, head: bool) -> str | None:
    content_type = response.header("Content-Type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return f"4xx with Content-Type {content_type or '(none)'!r}, not a JSON error"
    if head:
        return None
    try:
        document = json.loads(response.body)
    except ValueError:
        return "4xx body is not valid JSON"
    if (
        response.status == 410
        and isinstance(document, dict)
        and isinstance(document.get("redirect_to"), str)
    ):
        return None  # Hydra's answer for a challenge already used: {"redirect_to": ...}
    if not isinstance(document, dict) or not isinstance(document.get("error"), str):
        return "4xx JSON without an 'error' string member"
    return None


@dataclass
class Failure:
    app: str
    method: str
    rule: str
    variant: str
    problem: str
    status: int | None
    request: str
    body: bytes
    request_id: str = ""
    server_log: str = ""  # what the server logged about this request (5xx)

    def line(self) -> str:
        status = "-" if self.status is None else str(self.status)
        logged = f"\n    logged: {repr(self.server_log)[1:-1]}" if self.server_log else ""
        return (
            f"{self.app} {self.method} {self.rule} [{self.variant}] -> {status}: {self.problem}\n"
            f"    request: {self.request}\n"
            f"    body: {self.body[:200]!r}{logged}"
        )


@dataclass
class RunResult:
    failures: list[Failure]
    sent: Counter  # app -> requests sent
    statuses: Counter  # (app, status) -> count
    seconds: float
    slowest: list[tuple[float, str]]  # the ten slowest requests


class Resolver:
    """Replaces challenge placeholders by live challenges, minted by the given functions."""

    def __init__(self, mint: Mapping[str, Callable[[], str]]):
        self._mint = mint
        self._shared: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.minted = Counter()

    def __call__(self, data: bytes) -> bytes:
        if b"@@" not in data:
            return data
        return _MARKER_IN_DATA.sub(self._value, data)

    def _value(self, match: re.Match) -> bytes:
        how, kind = match.group(1).decode(), match.group(2).decode()
        if how == "shared":
            key = match.group(0)
            with self._lock:
                if key in self._shared:
                    return self._shared[key]
        value = pct(self._mint[kind]())
        with self._lock:
            self.minted[kind] += 1
            if how == "shared":
                value = self._shared.setdefault(match.group(0), value)
        return value


def run_probes(
    probes: list[Probe],
    addresses: Mapping[str, tuple[str, int]],
    resolve: Callable[[bytes], bytes],
    workers: int = 4,
) -> RunResult:
    """Send every probe and check every answer. Probes of one route and method go in order
    on one connection; routes run in parallel on ``workers`` threads."""
    groups: dict[tuple[str, str, str], list[Probe]] = {}
    for probe in probes:
        groups.setdefault((probe.app, probe.rule, probe.method), []).append(probe)
    failures: list[Failure] = []
    sent: Counter = Counter()
    statuses: Counter = Counter()
    slowest: list[tuple[float, str]] = []
    lock = threading.Lock()
    started = time.monotonic()

    def run_group(group: list[Probe]) -> None:
        app = group[0].app
        host, port = addresses[app]
        default_host = f"{host}:{port}".encode()
        connection = Connection(host, port)
        local_failures, local_statuses, timings = [], Counter(), []
        try:
            for probe in group:
                begun = time.monotonic()
                raw = probe.render(default_host, resolve)
                target = connection
                if probe.isolated:
                    target = Connection(host, port)
                try:
                    response = target.request(
                        raw, probe.method == "HEAD", probe.timeout, probe.variant, probe.isolated
                    )
                except NoResponse as exc:
                    timings.append(
                        (time.monotonic() - begun, f"[{probe.variant}] {probe.describe()}")
                    )
                    if tolerated_silence(probe):
                        continue
                    local_failures.append(_failure(probe, f"no answer: {exc}", None, b""))
                    local_statuses[(app, "none")] += 1
                    continue
                finally:
                    if probe.isolated:
                        target.close()
                local_statuses[(app, response.status)] += 1
                timings.append((time.monotonic() - begun, f"[{probe.variant}] {probe.describe()}"))
                for problem in check(probe, response):
                    failure = _failure(probe, problem, response.status, response.body)
                    failure.request_id = response.header("X-Request-Id") or ""
                    local_failures.append(failure)
        finally:
            connection.close()
            with lock:
                failures.extend(local_failures)
                sent[app] += len(group)
                statuses.update(local_statuses)
                slowest.extend(timings)
                slowest.sort(reverse=True)
                del slowest[10:]

    # Biggest groups first, so that one long group does not finish last on its own.
    ordered = sorted(groups.values(), key=len, reverse=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run_group, group) for group in ordered]:
            future.result()
    return RunResult(failures, sent, statuses, time.monotonic() - started, slowest)


def _failure(probe: Probe, problem: str, status: int | None, body: bytes) -> Failure:
    return Failure(
        probe.app, probe.method, probe.rule, probe.variant, problem, status, probe.describe(), body
    )


_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)\b")


def explain_server_errors(failures: list[Failure], logs: Mapping[str, str]) -> None:
    """Attach to each 5xx failure what the processes logged under its request id: the
    warning or error line and, after a traceback, the exception."""
    wanted = {f.request_id for f in failures if f.request_id and (f.status or 0) >= 500}
    if not wanted:
        return
    found: dict[str, str] = {}
    for text in logs.values():
        lines = text.splitlines()
        for index, line in enumerate(lines):
            match = re.search(r"\[([0-9a-f]{32})\]", line)
            if not match or match.group(1) not in wanted or match.group(1) in found:
                continue
            if not re.search(r"\b(ERROR|WARNING|CRITICAL)\b", line):
                continue
            block = [line]
            for following in lines[index + 1 : index + 200]:
                if _LOG_RECORD.match(following):
                    break
                block.append(following)
            exceptions = [item for item in block[1:] if _EXCEPTION_LINE.match(item)]
            text_found = line.strip()[:300]
            if exceptions:
                text_found += " | " + exceptions[-1].strip()[:300]
            found[match.group(1)] = text_found
    for failure in failures:
        failure.server_log = found.get(failure.request_id, failure.server_log)


def forged_log_lines(
    logs: Mapping[str, str], probes: list[Probe], markers: Mapping[str, str]
) -> list[Failure]:
    """Lines of any process log that start with text a probe injected after a CR or LF.
    ``build_probes`` numbered the marker of each probe, so the line names its request."""
    failures = []
    for log_name, text in logs.items():
        for line in re.split(r"\r\n|\r|\n", text):
            stripped = line.lstrip()
            for app, marker in markers.items():
                if not stripped.startswith(marker):
                    continue
                number = re.match(re.escape(marker) + r"-(\d+)", stripped)
                index = int(number.group(1)) if number else -1
                probe = probes[index] if 0 <= index < len(probes) else None
                failures.append(
                    Failure(
                        app,
                        probe.method if probe else "-",
                        probe.rule if probe else "-",
                        probe.variant if probe else "crlf",
                        f"forged line in the {log_name} log",
                        None,
                        probe.describe() if probe else f"(a request with CR/LF and {marker})",
                        line.encode("utf-8", "replace"),
                    )
                )
    return failures


def _entry(variant: str) -> str:
    """The corpus entry of a variant, without template and field names."""
    entry = variant.split(":", 1)[-1]
    return re.sub(r"^(query|form|json|extra|header|path)\.[^=]+=", r"\1.*=", entry)


def report(failures: list[Failure], result: RunResult | None = None, examples: int = 3) -> str:
    """Failures grouped by cause: same problem and status on the same endpoints, whatever
    the corpus entries that triggered it; a few examples of each."""
    by_entry: dict[tuple[str, str, str], list[Failure]] = {}
    for failure in failures:
        kind = re.sub(r"followed by \d+", "followed by N", failure.problem.split(" (")[0])
        key = (kind, str(failure.status), _entry(failure.variant))
        by_entry.setdefault(key, []).append(failure)
    causes: dict[tuple[str, str, tuple[str, ...]], dict[str, list[Failure]]] = {}
    for (kind, status, entry), members in by_entry.items():
        endpoints = tuple(sorted({f"{m.app} {m.method} {m.rule}" for m in members}))
        causes.setdefault((kind, status, endpoints), {})[entry] = members
    lines = [f"{len(failures)} failure(s), {len(causes)} distinct cause(s)"]
    if result is not None:
        lines[0] += f" ({sum(result.sent.values())} requests, {result.seconds:.1f}s)"
    ordered = sorted(causes.items(), key=lambda item: -sum(map(len, item[1].values())))
    for (kind, status, endpoints), entries in ordered:
        count = sum(map(len, entries.values()))
        names = sorted(entries)
        lines.append(
            f"\n== {count}x {kind} (status {status}) on {len(endpoints)} endpoint(s): "
            + ", ".join(endpoints[:6])
            + (" ..." if len(endpoints) > 6 else "")
            + f"\n   corpus entries ({len(names)}): "
            + ", ".join(names[:15])
            + (" ..." if len(names) > 15 else "")
        )
        lines.extend(entries[name][0].line() for name in names[:examples])
    return "\n".join(lines)
