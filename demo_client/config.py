"""The demo client's settings, read from environment variables (or any mapping) when asked.

Two URLs name the authorization server, because browsers and this server may reach it
differently (Docker): ``DEMO_CLIENT_ISSUER`` is the issuer as browsers see it (the ``iss`` of
every token, the origin of the authorization and logout endpoints), and
``DEMO_CLIENT_BACKCHANNEL_URL`` is where this server reaches the public API for discovery,
tokens, userinfo, keys and revocation. Nothing here is read at import time.

The client authenticates with ``DEMO_CLIENT_SECRET`` (``client_secret_basic``, the default),
or, with ``DEMO_CLIENT_AUTH_METHOD=private_key_jwt``, with a key pair: the private key from
``DEMO_CLIENT_PRIVATE_KEY_FILE`` (a JWK or PEM file), or generated at start and kept in
memory when ``--register`` will register its public half (``demo_client.client_key``).

The protected API at ``/api/profile`` (this app as a resource server) checks tokens by
introspection on ``DEMO_CLIENT_ADMIN_URL`` and requires the scope ``DEMO_CLIENT_API_SCOPE``
(default ``openid``).

Modern options, each the default of the home page's login form: ``DEMO_CLIENT_USE_PAR``
(pushed authorization requests, RFC 9126), ``DEMO_CLIENT_USE_DPOP`` (DPoP-bound tokens,
RFC 9449) and ``DEMO_CLIENT_RESOURCE`` (a resource indicator, RFC 8707).

Token exchange (RFC 8693): the home page's "Exchange the access token" trades the session's
access token for one meant for ``DEMO_CLIENT_EXCHANGE_AUDIENCE`` (default
``https://downstream.example/``; empty or ``off`` hides the action). ``--register`` gives the
client the token-exchange grant type and that audience.

The single-page app at ``/spa`` is a second, public client (``DEMO_CLIENT_SPA_ID``, default
``demo-spa``): its redirect URI is that page and its allowed CORS origin this app's origin.

Several instances on one host: ``DEMO_CLIENT_NAME`` (default ``Demo client``) is the name
pages show and ``--register`` registers; the session cookie is ``demo_client_session_<port>``
(the redirect URI's port, since cookies ignore ports) unless ``DEMO_CLIENT_SESSION_COOKIE``
names it. Logout from the authorization server (OIDC Back-Channel and Front-Channel Logout
1.0): ``--register`` registers ``<origin>/backchannel-logout``, or
``DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI`` when the server reaches this app by another name
(Docker), and ``<origin>/frontchannel-logout``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from demo_client.client_key import (
    PRIVATE_KEY_JWT,
    ClientKey,
    KeyFileError,
    generate_key,
    read_key_file,
)

DEFAULT_PORT = 4446
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ISSUER = "http://127.0.0.1:4444/"
DEFAULT_CLIENT_ID = "demo-client"
DEFAULT_NAME = "Demo client"
MAX_NAME_LENGTH = 80
COOKIE_PREFIX = "demo_client_session"
# A cookie name that needs no quoting anywhere (RFC 6265 §4.1.1 allows more; we need less).
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
BACKCHANNEL_LOGOUT_PATH = "/backchannel-logout"
FRONTCHANNEL_LOGOUT_PATH = "/frontchannel-logout"
DEFAULT_SCOPE = "openid offline_access profile email"
DEFAULT_API_SCOPE = "openid"  # what /api/profile requires of an access token
DEFAULT_SPA_CLIENT_ID = "demo-spa"
# RFC 8693: the audience the home page's "Exchange the access token" asks for.
DEFAULT_EXCHANGE_AUDIENCE = "https://downstream.example/"
OFF_WORDS = frozenset({"", "off", "none"})
SPA_PATH = "/spa"
SPA_SCOPE = "openid offline_access"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
CLIENT_SECRET_BASIC = "client_secret_basic"
AUTH_METHODS = (CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT)


class ConfigError(ValueError):
    """A setting that cannot be used; the message is one line for the terminal."""


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    issuer: str = DEFAULT_ISSUER
    backchannel_url: str = DEFAULT_ISSUER
    admin_url: str = ""
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default="", repr=False)  # never printed, never shown
    redirect_uri: str = f"http://127.0.0.1:{DEFAULT_PORT}/callback"
    post_logout_redirect_uri: str = f"http://127.0.0.1:{DEFAULT_PORT}/logged-out"
    scope: str = DEFAULT_SCOPE
    secret_key: str = field(default="", repr=False)
    register: bool = False
    client_id_given: bool = False  # DEMO_CLIENT_ID was set: register under exactly that id
    overwrite: bool = False  # --register may replace a client registered for other URIs
    spa_client_id: str = DEFAULT_SPA_CLIENT_ID  # the single-page app's public client
    spa_client_id_given: bool = False  # DEMO_CLIENT_SPA_ID was set
    http_timeout: float = 10.0
    api_scope: str = DEFAULT_API_SCOPE
    # private_key_jwt: the client's key pair (never printed, never shown, never logged)
    client_key: ClientKey | None = field(default=None, repr=False)
    use_par: bool = False  # RFC 9126 (also when discovery requires it)
    use_dpop: bool = False  # RFC 9449
    resource: str = ""  # RFC 8707: an absolute URI without a fragment, or none
    exchange_audience: str = DEFAULT_EXCHANGE_AUDIENCE  # RFC 8693; "" hides the action
    name: str = DEFAULT_NAME  # shown in every page's header, registered as client_name
    session_cookie: str = ""  # "": demo_client_session_<redirect port>
    backchannel_logout_uri_given: str = ""  # DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI

    @property
    def token_endpoint_auth_method(self) -> str:
        """``private_key_jwt`` (RFC 7523 §2.2) with a key, ``client_secret_basic`` (RFC 6749
        §2.3.1) with a secret, else a public client (``none``)."""
        if self.client_key is not None:
            return PRIVATE_KEY_JWT
        return CLIENT_SECRET_BASIC if self.client_secret else "none"

    @property
    def public_origin(self) -> str:
        """This app's address as browsers see it (from the redirect URI): what pages show
        and record, never the request's Host header, which the sender chooses."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def spa_redirect_uri(self) -> str:
        """The single-page app's redirect URI: its own page."""
        return self.public_origin + SPA_PATH

    @property
    def issuer_origin(self) -> str:
        """The issuer's origin, which the single-page app calls from the browser."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def redirect_port(self) -> int:
        """The redirect URI's port (this app's port as browsers see it)."""
        parts = urlsplit(self.redirect_uri)
        try:
            return parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return self.port

    @property
    def session_cookie_name(self) -> str:
        """Cookies ignore ports: two instances on one host need two names."""
        return self.session_cookie or f"{COOKIE_PREFIX}_{self.redirect_port}"

    @property
    def backchannel_logout_uri(self) -> str:
        """Where the authorization server POSTs logout tokens: the setting, else this app's
        public origin (the server may reach this app by another name than browsers do)."""
        return self.backchannel_logout_uri_given or self.public_origin + BACKCHANNEL_LOGOUT_PATH

    @property
    def frontchannel_logout_uri(self) -> str:
        """What the server's logout page loads in an iframe: the browser's view of this app."""
        return self.public_origin + FRONTCHANNEL_LOGOUT_PATH

    def with_secret(self, secret: str) -> Config:
        return replace(self, client_secret=secret)

    def with_client_id(self, client_id: str) -> Config:
        return replace(self, client_id=client_id)

    def with_spa_client_id(self, client_id: str) -> Config:
        return replace(self, spa_client_id=client_id)


def load_config(
    environ: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    register: bool | None = None,
    overwrite: bool | None = None,
) -> Config:
    """Build the settings from ``environ`` (default: ``os.environ``) and command-line overrides.

    Raises ConfigError with a one-line message for anything unusable.
    """
    env = os.environ if environ is None else environ
    port = port if port is not None else _port(env.get("PORT", ""))
    host = host or env.get("HOST") or DEFAULT_HOST
    issuer = _url(env, "DEMO_CLIENT_ISSUER", DEFAULT_ISSUER)
    backchannel = _url(env, "DEMO_CLIENT_BACKCHANNEL_URL", issuer)
    admin_url = _url(env, "DEMO_CLIENT_ADMIN_URL", "")
    redirect_uri = _url(env, "DEMO_CLIENT_REDIRECT_URI", f"http://127.0.0.1:{port}/callback")
    parts = urlsplit(redirect_uri)
    post_logout = _url(
        env,
        "DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI",
        f"{parts.scheme}://{parts.netloc}/logged-out",
    )
    scope = " ".join(env.get("DEMO_CLIENT_SCOPE", DEFAULT_SCOPE).split())
    if not scope:
        raise ConfigError("DEMO_CLIENT_SCOPE is empty; the default is " + DEFAULT_SCOPE)
    api_scope = env.get("DEMO_CLIENT_API_SCOPE", "").strip() or DEFAULT_API_SCOPE
    if len(api_scope.split()) != 1:
        raise ConfigError(f"DEMO_CLIENT_API_SCOPE must be one scope, not {api_scope[:40]!r}")
    given_id = env.get("DEMO_CLIENT_ID", "").strip()
    given_spa_id = env.get("DEMO_CLIENT_SPA_ID", "").strip()
    if register is None:
        register = _flag(env, "DEMO_CLIENT_REGISTER")
    if overwrite is None:
        overwrite = _flag(env, "DEMO_CLIENT_OVERWRITE")
    client_key = _client_key(env, register)
    try:
        resource = check_resource(env.get("DEMO_CLIENT_RESOURCE", ""))
    except ValueError as exc:
        raise ConfigError(f"DEMO_CLIENT_RESOURCE {exc}") from None
    exchange_audience = _exchange_audience(env.get("DEMO_CLIENT_EXCHANGE_AUDIENCE"))
    backchannel_logout = _url(env, "DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI", "")
    if "#" in backchannel_logout:  # OIDC Back-Channel Logout §2.2: no fragment
        raise ConfigError("DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI must not have a #fragment")
    return Config(
        host=host,
        port=port,
        issuer=issuer,
        backchannel_url=backchannel,
        admin_url=admin_url,
        client_id=given_id or DEFAULT_CLIENT_ID,
        client_id_given=bool(given_id),
        client_secret=env.get("DEMO_CLIENT_SECRET", ""),
        redirect_uri=redirect_uri,
        post_logout_redirect_uri=post_logout,
        scope=scope,
        secret_key=env.get("DEMO_CLIENT_SECRET_KEY") or secrets.token_urlsafe(32),
        register=register,
        overwrite=overwrite,
        spa_client_id=given_spa_id or DEFAULT_SPA_CLIENT_ID,
        spa_client_id_given=bool(given_spa_id),
        client_key=client_key,
        api_scope=api_scope,
        use_par=_flag(env, "DEMO_CLIENT_USE_PAR"),
        use_dpop=_flag(env, "DEMO_CLIENT_USE_DPOP"),
        resource=resource,
        exchange_audience=exchange_audience,
        name=_name(env.get("DEMO_CLIENT_NAME", "")),
        session_cookie=_cookie_name(env.get("DEMO_CLIENT_SESSION_COOKIE", "")),
        backchannel_logout_uri_given=backchannel_logout,
    )


def _name(raw: str) -> str:
    """The display name: one line of printable text, short enough for a page header."""
    name = " ".join(raw.split())
    if not name:
        return DEFAULT_NAME
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ConfigError(
            f"DEMO_CLIENT_NAME must be printable text of at most {MAX_NAME_LENGTH} characters"
        )
    return name


def _cookie_name(raw: str) -> str:
    """ "" for the default; else letters, digits, _ and - only (no quoting, no separators)."""
    name = raw.strip()
    if name and not _COOKIE_NAME.fullmatch(name):
        raise ConfigError(
            "DEMO_CLIENT_SESSION_COOKIE must be 1 to 64 of A-Z, a-z, 0-9, _ and -, "
            f"not {name[:40]!r}"
        )
    return name


def _exchange_audience(raw: str | None) -> str:
    """RFC 8693's ``audience`` for the token exchange: the default when unset, "" (the
    action hidden) for an empty value or ``off``, else an absolute URI as for a resource."""
    if raw is None:
        return DEFAULT_EXCHANGE_AUDIENCE
    if raw.strip().lower() in OFF_WORDS:
        return ""
    try:
        return check_resource(raw)
    except ValueError as exc:
        raise ConfigError(
            f"DEMO_CLIENT_EXCHANGE_AUDIENCE {exc} (empty or off hides the exchange)"
        ) from None


def check_resource(raw: str) -> str:
    """A resource indicator (RFC 8707 §2): "" for none, else an absolute URI without a
    fragment. Raises ValueError saying what is wrong (the setting and the login form)."""
    value = raw.strip()
    if not value:
        return ""
    if len(value) > 2000 or not value.isprintable() or " " in value:
        raise ValueError("must be one URI of printable characters, up to 2000")
    try:
        parts = urlsplit(value)
    except ValueError:  # a bad [IPv6] host
        parts = urlsplit("")
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ValueError(f"must be an absolute URI (https://api.example/…), not {value[:60]!r}")
    if "#" in value:
        raise ValueError(f"must not have a fragment (RFC 8707 §2), not {value[:60]!r}")
    return value


def _client_key(env: Mapping[str, str], register: bool) -> ClientKey | None:
    """The key pair for ``private_key_jwt``, or None for the default (a secret, or none)."""
    method = env.get("DEMO_CLIENT_AUTH_METHOD", "").strip() or CLIENT_SECRET_BASIC
    if method not in AUTH_METHODS:
        raise ConfigError(
            f"DEMO_CLIENT_AUTH_METHOD must be {' or '.join(AUTH_METHODS)}, not {method[:40]!r}"
        )
    path = env.get("DEMO_CLIENT_PRIVATE_KEY_FILE", "").strip()
    if method != PRIVATE_KEY_JWT:
        if path:
            raise ConfigError(
                "DEMO_CLIENT_PRIVATE_KEY_FILE is used only with "
                "DEMO_CLIENT_AUTH_METHOD=private_key_jwt"
            )
        return None
    if env.get("DEMO_CLIENT_SECRET"):
        raise ConfigError(
            "DEMO_CLIENT_SECRET is not used with DEMO_CLIENT_AUTH_METHOD=private_key_jwt "
            "(the client proves itself with its key); unset it"
        )
    if path:
        try:
            return read_key_file(path)
        except KeyFileError as exc:
            raise ConfigError(f"DEMO_CLIENT_PRIVATE_KEY_FILE: {exc}") from None
    if not register:
        raise ConfigError(
            "DEMO_CLIENT_AUTH_METHOD=private_key_jwt needs DEMO_CLIENT_PRIVATE_KEY_FILE (a key "
            "registered with the client), or --register to register a key made at start"
        )
    return generate_key()


def _port(raw: str) -> int:
    if not raw.strip():
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT must be a number between 1 and 65535, not {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, not {port}")
    return port


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, not {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")
