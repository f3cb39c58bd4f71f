"""Pushed authorization requests (RFC 9126): what is kept of one, and its reference.

A client posts its authorization request's parameters to ``/oauth2/par`` and gets a
``request_uri`` (``urn:ietf:params:oauth:request_uri:`` and 32 random bytes); the browser
then carries only ``client_id`` and that reference. Only SHA-256 of the random part is
stored, as for every other credential-like value: a copy of the database names no usable
reference. A reference is single use and short-lived (RFC 9126 §4, §7.3). No I/O here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# 32 random bytes, base64url: 43 characters. Anything else is no reference of ours.
_REFERENCE_LENGTH = 43
_REFERENCE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class PushedRequest:
    digest: str
    client_id: str
    parameters: dict[str, list[str]]  # as pushed, minus client authentication
    expires_at: int
    used: bool = False


def new_request_uri() -> tuple[str, str]:
    """A fresh ``request_uri`` and the digest under which it is stored."""
    reference = secrets.token_urlsafe(32)
    return REQUEST_URI_PREFIX + reference, _digest(reference)


def request_uri_digest(request_uri: str) -> str | None:
    """The stored digest of a ``request_uri`` we could have issued; None for any other."""
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        return None
    reference = request_uri[len(REQUEST_URI_PREFIX) :]
    if len(reference) != _REFERENCE_LENGTH or not set(reference) <= _REFERENCE_ALPHABET:
        return None
    return _digest(reference)


def _digest(reference: str) -> str:
    return hashlib.sha256(reference.encode("ascii")).hexdigest()
