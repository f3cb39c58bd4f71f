"""Transport security for the public port.

A request over plain http is served when one of these holds, and refused otherwise:

* ``--dev`` is on;
* it came through a TLS-terminating proxy at an address listed in
  ``SERVE_TLS_ALLOW_TERMINATION_FROM`` that says ``X-Forwarded-Proto: https``;
* the issuer itself is plain http (configuration allows that only on a loopback host, or
  with ``--dev``) and the peer is on this machine (a loopback address).

The ``Host`` header never decides: the client chooses it. With an https issuer, plain
http is refused even from a loopback peer (a proxy on the same machine must be listed).
"""

from __future__ import annotations

import ipaddress

from flask import request

from authserver.config import Settings
from authserver.web.errors import ApiError


class TransportPolicy:
    """Decides from a WSGI environ (both the Flask apps and the hot paths ask)."""

    def __init__(self, settings: Settings):
        self._dev = settings.dev
        self._http_issuer = settings.issuer.startswith("http:")
        self._trusted = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in settings.tls_allow_termination_from
        )

    def is_secure(self, environ) -> bool:
        if self._dev or environ.get("wsgi.url_scheme") == "https":
            return True
        peer = peer_address(environ.get("REMOTE_ADDR"))
        if peer is None:
            return False
        if self._http_issuer and peer.is_loopback:
            return True
        return environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https" and any(
            peer in network for network in self._trusted
        )

    def source_address(self, environ) -> str:
        """The address a request comes from, as a rate-limit key: the peer, or, when the
        peer is a trusted proxy (``SERVE_TLS_ALLOW_TERMINATION_FROM``), the right-most
        ``X-Forwarded-For`` hop that is not one (everything left of it the client wrote).
        IPv6 addresses are cut to their /64 (one site, not 2**64 keys)."""
        hops = [environ.get("REMOTE_ADDR") or ""]
        if self._trusted and self._is_trusted(hops[0]):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            hops += [hop.strip() for hop in reversed(forwarded.split(",")) if hop.strip()]
        chosen = next((hop for hop in hops if not self._is_trusted(hop)), hops[-1])
        address = peer_address(chosen)
        if address is None:
            return chosen[:64]  # not an address (a test client's, a proxy's garbage)
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
        return str(address)

    def _is_trusted(self, text: str) -> bool:
        address = peer_address(text)
        return address is not None and any(address in network for network in self._trusted)


IPV6_PREFIX = 64


def peer_address(text: str | None):
    try:
        address = ipaddress.ip_address((text or "").split("%", 1)[0])
    except ValueError:
        return None
    # An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def install_transport_check(app, settings: Settings) -> TransportPolicy:
    policy = TransportPolicy(settings)

    @app.before_request
    def _require_secure_transport():
        if request.path.startswith("/health/"):
            return None  # load balancers probe over plain http; nothing secret here
        if policy.is_secure(request.environ):
            return None
        raise ApiError(
            "insecure_transport",
            "OAuth 2.0 requires TLS: use https, or run the server with --dev for local "
            "experiments over plain http.",
            400,
        )

    return policy
