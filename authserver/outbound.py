"""Fetching a document a client names: its ``jwks_uri``, its ``sector_identifier_uri``, the
client ID metadata document its URL ``client_id`` names (``fetch_document``); posting a
logout token to its ``backchannel_logout_uri`` (``post_form``).

The URL comes from a client's registration, so the fetch is a request the server makes on
someone else's behalf (server-side request forgery). The rules:

* https, or plain http only to a loopback host (local development, tests);
* the host is resolved once and every address is checked: private, link-local (cloud
  metadata at 169.254.169.254), multicast, reserved and unspecified addresses are refused
  outside ``--dev``; loopback is allowed (a developer's own machine) unless the policy
  says ``loopback=False``. The connection then goes to the checked address (the name
  cannot resolve elsewhere in between: no DNS rebinding), with the name kept for TLS
  verification and the Host header;
* redirects are not followed (an allowed host could point at a refused one);
* one deadline for the whole exchange and a size limit on the body.

Every failure is ``FetchError`` with a message fit to show the client (never an address
that the client did not already give).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 64 * 1024
_LOOPBACK_NAMES = ("localhost",)


class FetchError(Exception):
    """The document could not be fetched or is not what was expected."""


@dataclass(frozen=True)
class FetchPolicy:
    dev: bool = False  # --dev: private addresses are allowed too
    # Loopback addresses (a developer's own machine) are fetched from unless this is
    # False: a URL anyone may present unauthenticated (a client ID metadata document)
    # must not reach the server's own local services outside --dev.
    loopback: bool = True
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    # Plain http to any host (not only loopback): logout URIs under --dev, which may name
    # another container of a compose stack.
    http_anywhere: bool = False


def fetch_json(url: str, policy: FetchPolicy = FetchPolicy()) -> Any:
    """GET ``url`` under ``policy`` and parse the body as JSON."""
    body = fetch(url, policy, accept="application/json")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FetchError("the document is not JSON") from None


def fetch(url: str, policy: FetchPolicy, accept: str = "*/*") -> bytes:
    answer = _get(url, policy, accept)
    if answer.status != 200:
        raise FetchError(f"the server answered HTTP {answer.status}")
    return answer.body


@dataclass(frozen=True)
class FetchedDocument:
    """An answer other than a redirect: its status, its headers (names lower-cased, repeated
    ones joined with ", ") and, for a 200, its body (other bodies are not read)."""

    body: bytes
    status: int
    headers: dict[str, str]


def fetch_document(url: str, policy: FetchPolicy = FetchPolicy()) -> FetchedDocument:
    """GET ``url`` under ``policy`` like ``fetch``, keeping the status and the headers (a
    cache needs Cache-Control, Expires, Date, Age; a parser needs Content-Type). A redirect
    is still a ``FetchError``; any other status is the caller's to judge."""
    return _get(url, policy, "application/json")


def post_form(url: str, fields: dict[str, str], policy: FetchPolicy) -> int:
    """POST ``fields`` form-encoded to ``url`` under ``policy`` (a back-channel logout
    token); the answer's status. A redirect is a ``FetchError``: it is not followed."""
    body = urlencode(fields).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"}
    return _exchange("POST", url, policy, headers, body, read_body=False).status


def _get(url: str, policy: FetchPolicy, accept: str) -> FetchedDocument:
    return _exchange("GET", url, policy, {"Accept": accept}, None, read_body=True)


def _exchange(
    method: str,
    url: str,
    policy: FetchPolicy,
    headers: dict[str, str],
    body: bytes | None,
    read_body: bool,
) -> FetchedDocument:
    deadline = time.monotonic() + policy.timeout
    parts = urlsplit(url)
    host, port = _target(parts)
    address = _checked_address(host, port, parts.scheme, policy)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connection(parts.scheme, host, port, address, _remaining(deadline))
    watchdog = response = None
    try:
        connection.request(method, path, body, headers={**headers, "User-Agent": "authserver"})
        # Kept here: the connection lets go of its socket when the answer closes it.
        sock = connection.sock
        # Socket timeouts bound each receive, not the exchange: a server trickling its
        # header lines byte by byte is cut off at the deadline by shutting the socket.
        watchdog = threading.Timer(_remaining(deadline), _cut, (sock,))
        watchdog.daemon = True
        watchdog.start()
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise FetchError(
                f"the server answered a redirect ({response.status}); it is not followed"
            )
        headers = _headers(response)
        if response.status != 200 or not read_body:
            return FetchedDocument(b"", response.status, headers)
        body = _read_limited(response, policy.max_bytes, deadline, sock)
        return FetchedDocument(body, response.status, headers)
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError | socket.timeout) or time.monotonic() >= deadline:
            raise FetchError(f"no answer within {policy.timeout:g} seconds") from None
        raise FetchError(f"the request failed ({type(exc).__name__})") from None
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if response is not None:
            # Now, not when collected: an answer left unread holds the socket open.
            response.close()
        connection.close()


def _headers(response) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _cut(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _target(parts) -> tuple[str, int]:
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("the URL must be an absolute http(s) URL")
    if "@" in parts.netloc or parts.fragment:
        raise FetchError("the URL must not contain user information or a fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError("the URL's port is not a number") from None
    return parts.hostname, port


def _checked_address(host: str, port: int, scheme: str, policy: FetchPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError("the host name does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise FetchError("the host name does not resolve")
    loopback = all(address.is_loopback for address in addresses)
    if scheme == "http" and not loopback and not policy.http_anywhere:
        raise FetchError("plain http is allowed only to a loopback host; use https")
    for address in addresses:
        if not _allowed(address, policy):
            raise FetchError(
                "the host resolves to a private or reserved address, which the server does "
                "not fetch from (outside --dev)"
            )
    return str(addresses[0])


def _allowed(address, policy: FetchPolicy) -> bool:
    if address.is_loopback:
        return policy.loopback
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return _allowed(mapped, policy)
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return False
    if address.is_link_local:  # 169.254.169.254: cloud metadata services
        return False
    if address.is_private or not address.is_global:
        return policy.dev
    return True


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _connection(scheme: str, host: str, port: int, address: str, timeout: float):
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return kind(host, port, address, timeout)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _read_limited(response, max_bytes: int, deadline: float, sock) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"the document is larger than {max_bytes} bytes")
    chunks, size = [], 0
    while True:
        sock.settimeout(_remaining(deadline))
        # read1: one receive at a time, so a body trickling in byte by byte still meets
        # the deadline (read(n) would wait for all n bytes, each receive resetting the
        # socket's timeout).
        chunk = response.read1(min(16384, max_bytes + 1 - size))
        if not chunk:
            _check_complete(response, deadline)
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the document is larger than {max_bytes} bytes")


def _check_complete(response, deadline: float) -> None:
    """An empty read also ends a body cut short: by the watchdog at the deadline, or by a
    server closing before its Content-Length (``read1`` does not raise IncompleteRead)."""
    if time.monotonic() >= deadline:
        raise TimeoutError
    if response.length:
        raise FetchError("the document ended before its announced length")
