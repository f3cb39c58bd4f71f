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


def install_transport_check(app, settings: Settings) -> None:
    trusted = [
        ipaddress.ip_network(cidr, strict=False) for cidr in settings.tls_allow_termination_from
    ]

    def from_trusted_proxy() -> bool:
        if request.headers.get("X-Forwarded-Proto", "").lower() != "https":
            return False
        try:
            remote = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(remote in network for network in trusted)

    @app.before_request
    def _require_secure_transport():
        if settings.dev or request.scheme == "https":
            return None
        if request.path.startswith("/health/"):
            return None  # load balancers probe over plain http; nothing secret here
        if is_loopback_host(request.host.rsplit(":", 1)[0].strip("[]")):
            return None
        if trusted and from_trusted_proxy():
            return None
        raise ApiError(
            "insecure_transport",
            "OAuth 2.0 requires TLS: use https, or run the server with --dev for local "
            "experiments over plain http.",
            400,
        )
