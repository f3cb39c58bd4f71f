"""Transport security for the public port: https, loopback, or --dev.

A request that reached us over plain http on a non-loopback host is refused, unless
``--dev`` is on or it came through a TLS-terminating proxy listed in
``SERVE_TLS_ALLOW_TERMINATION_FROM`` that says ``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import ipaddress

from flask import request

from authserver.config import Settings, is_loopback_host
from authserver.web.errors import ApiError


class TransportPolicy:
    """Decides from a WSGI environ (both the Flask apps and the hot paths ask)."""

    def __init__(self, settings: Settings):
        self._dev = settings.dev
        self._trusted = [
            ipaddress.ip_network(cidr, strict=False) for cidr in settings.tls_allow_termination_from
        ]

    def is_secure(self, environ) -> bool:
        if self._dev or environ.get("wsgi.url_scheme") == "https":
            return True
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if is_loopback_host(host.rsplit(":", 1)[0].strip("[]")):
            return True
        return bool(self._trusted) and self._from_trusted_proxy(environ)

    def _from_trusted_proxy(self, environ) -> bool:
        if environ.get("HTTP_X_FORWARDED_PROTO", "").lower() != "https":
            return False
        try:
            remote = ipaddress.ip_address(environ.get("REMOTE_ADDR") or "")
        except ValueError:
            return False
        return any(remote in network for network in self._trusted)


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
