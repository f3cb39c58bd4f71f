"""Behind a TLS-terminating reverse proxy: the client's real address and scheme.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the connection comes
from one of CONSENT_UI_TRUSTED_PROXIES (CIDRs); from anyone else they are ignored, since
anyone can send them. Then:

- the client's address (what the login throttle counts) is the right-most address of
  ``X-Forwarded-For`` that is not a trusted proxy: everything left of it was written by the
  client, and could be anything;
- ``X-Forwarded-Proto`` (its right-most value: the one our proxy set) becomes the request's
  scheme, so cookies are ``Secure`` when the browser used https (``wrappers.py``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1"`` (or a list of such) as networks; ValueError names a bad one."""
    items = value.split(",") if isinstance(value, str) else value
    networks = []
    for item in (item.strip() for item in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


class TrustedProxies:
    """WSGI middleware: rewrites REMOTE_ADDR and wsgi.url_scheme for trusted proxies only."""

    def __init__(self, app, networks: Iterable[Network]):
        self.app = app
        self.networks = tuple(networks)

    def __call__(self, environ, start_response):
        if self.networks and self.trusted(environ.get("REMOTE_ADDR", "")):
            forwarded_for = environ.get("HTTP_X_FORWARDED_FOR", "")
            environ["REMOTE_ADDR"] = self.client_address(environ["REMOTE_ADDR"], forwarded_for)
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
        return self.app(environ, start_response)

    def trusted(self, address: str) -> bool:
        parsed = _address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def client_address(self, remote: str, forwarded_for: str) -> str:
        """The right-most hop that is not ours (the furthest one if all of them are)."""
        hops = [remote, *reversed([hop.strip() for hop in forwarded_for.split(",")])]
        hops = [hop for hop in hops if hop]
        for hop in hops:
            if not self.trusted(hop):
                parsed = _address(hop)
                return str(parsed) if parsed else hop[:64]  # canonical, or bounded
        return hops[-1]


def _address(text: str) -> Address | None:
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)  # ::ffff:10.0.0.1 from a dual-stack socket
    return mapped or parsed
