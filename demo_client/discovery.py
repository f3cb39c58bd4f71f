"""OpenID Connect Discovery 1.0 (and RFC 8414): where the authorization server's endpoints are.

The document is fetched over the back channel, but it describes the server as *browsers*
see it. So the endpoints are split in two:

- the authorization and end-session endpoints are visited by the browser: used as published;
- the token, userinfo, JWKS and revocation endpoints are called by this server: their issuer
  origin is rewritten to the back-channel origin (``http://127.0.0.1:9000/oauth2/token``
  becomes ``http://authserver:4444/oauth2/token`` inside Docker).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests

from demo_client import errors
from demo_client.config import Config
from demo_client.transport import Exchange, Unreachable, send

WELL_KNOWN = "/.well-known/openid-configuration"
CACHE_SECONDS = 300
BROWSER_ENDPOINTS = ("authorization_endpoint", "end_session_endpoint")
BACKCHANNEL_ENDPOINTS = (
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "device_authorization_endpoint",  # RFC 8628 §4
    "pushed_authorization_request_endpoint",  # RFC 9126 §5
)


@dataclass(frozen=True)
class ServerMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    revocation_endpoint: str = ""
    end_session_endpoint: str = ""
    device_authorization_endpoint: str = ""
    pushed_authorization_request_endpoint: str = ""
    # (name, as published, as used by this server) for the back-channel endpoints
    rewritten: tuple[tuple[str, str, str], ...] = ()
    published: dict = field(default_factory=dict)

    def as_published(self, name: str) -> str:
        """An endpoint as the server publishes it, not as rewritten for the back channel:
        what a client assertion's ``aud`` and a DPoP proof's ``htu`` name."""
        published = self.published.get(name)
        return published if isinstance(published, str) and published else getattr(self, name)

    @property
    def requires_par(self) -> bool:
        """RFC 9126 §5: the server accepts only pushed authorization requests."""
        return self.published.get("require_pushed_authorization_requests") is True


def discovery_url(config: Config) -> str:
    return config.backchannel_url.rstrip("/") + WELL_KNOWN


def same_issuer(a: str, b: str) -> bool:
    """Issuers compared modulo a trailing slash (``http://x/`` and ``http://x`` name one)."""
    return a.rstrip("/") == b.rstrip("/")


def to_backchannel(url: str, issuer: str, backchannel: str) -> str:
    """Swap the issuer's origin in ``url`` for the back channel's; other URLs stay as they are."""
    target, source, channel = urlsplit(url), urlsplit(issuer), urlsplit(backchannel)
    if (target.scheme, target.netloc) != (source.scheme, source.netloc):
        return url
    return urlunsplit((channel.scheme, channel.netloc, target.path, target.query, ""))


def parse_metadata(document: object, config: Config) -> ServerMetadata:
    """Check the document and split its endpoints (browser-facing vs back channel).

    Raises ``errors.Explained`` for a wrong issuer or a missing endpoint.
    """
    url = discovery_url(config)
    if not isinstance(document, dict):
        raise errors.bad_metadata(url, "the response is not a JSON object")
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not same_issuer(issuer, config.issuer):
        raise errors.issuer_mismatch(config.issuer, str(issuer), url)
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise errors.bad_metadata(url, f"it has no {name}")
    used: dict[str, str] = {}
    rewritten = []
    for name in BACKCHANNEL_ENDPOINTS:
        published = document.get(name)
        if isinstance(published, str) and published:
            used[name] = to_backchannel(published, config.issuer, config.backchannel_url)
            rewritten.append((name, published, used[name]))
    return ServerMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        end_session_endpoint=str(document.get("end_session_endpoint") or ""),
        rewritten=tuple(rewritten),
        published=dict(document),
        **used,
    )


@dataclass
class Discovered:
    metadata: ServerMetadata
    exchange: Exchange  # the request that fetched it
    fetched_at: float


class Discovery:
    """The metadata, fetched on first use and kept for a few minutes (failures are not kept)."""

    def __init__(self, config: Config, http: requests.Session):
        self._config = config
        self._http = http
        self._lock = threading.Lock()
        self._cached: Discovered | None = None

    def get(self) -> tuple[Discovered, bool]:
        """(the metadata, whether this call fetched it). Raises ``errors.Explained``."""
        with self._lock:
            cached = self._cached
            if cached and time.time() - cached.fetched_at < CACHE_SECONDS:
                return cached, False
            url = discovery_url(self._config)
            try:
                response, exchange = send(
                    self._http,
                    "GET",
                    url,
                    self._config.http_timeout,
                    headers={"Accept": "application/json"},
                )
            except Unreachable as exc:
                raise errors.unreachable(
                    url, exc.reason, "fetching the discovery document"
                ) from None
            if response.status_code != 200:
                raise errors.bad_metadata(url, f"it answered HTTP {response.status_code}")
            metadata = parse_metadata(exchange.body, self._config)
            self._cached = Discovered(metadata, exchange, time.time())
            return self._cached, True
