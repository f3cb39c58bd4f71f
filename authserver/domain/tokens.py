"""Opaque token format: ``<prefix><random>.<signature>``.

* ``random`` is 32 bytes from the OS CSPRNG, base64url without padding;
* ``signature`` is HMAC-SHA256 over ``<prefix><random>`` under a key derived from the first
  system secret (the prefix is signed, so an access token cannot pose as a refresh token);
* the database keeps only SHA-256 of the signature (``signature_digest``). A copy of the
  database therefore holds nothing that can be presented as a token: the random half never
  leaves the response, and the signature is not even stored as such.

Verification tries every system secret, so tokens survive ``SECRETS_SYSTEM=new,old``.
Garbled or forged strings are rejected here, before any database lookup.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

RANDOM_BYTES = 32
_SIGNATURE_BYTES = 32  # HMAC-SHA256
# base64url of 32 bytes without padding is always 43 characters.
_B64_LENGTH_32 = 43
MAX_TOKEN_LENGTH = 4096
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")  # far above any token we mint; longer input is garbage


class TokenKind(enum.Enum):
    """The kinds of opaque token, each with its own prefix (as Hydra's ``ory_at_`` etc.)."""

    ACCESS_TOKEN = "at"
    REFRESH_TOKEN = "rt"
    AUTHORIZATION_CODE = "ac"
    DEVICE_CODE = "dc"

    @property
    def prefix(self) -> str:
        return f"ory_{self.value}_"

    @classmethod
    def of(cls, token: str) -> TokenKind | None:
        for kind in cls:
            if token.startswith(kind.prefix):
                return kind
        return None


@dataclass(frozen=True)
class MintedToken:
    value: str  # what the client receives; never stored, never logged
    signature_digest: str  # what the database stores


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Strict: only the one canonical base64url spelling of 32 bytes is accepted (the
    decoder alone would also take '+' and '/' and ignore the last character's spare bits,
    letting several strings name the same signature)."""
    if len(text) != _B64_LENGTH_32 or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=")
    except (binascii.Error, ValueError):
        return None
    return raw if _b64encode(raw) == text else None


def signature_digest(signature: str) -> str:
    """The database key of a token: SHA-256 of its signature part, hex."""
    return hashlib.sha256(signature.encode("ascii")).hexdigest()


class OpaqueTokenCodec:
    """Mints and verifies opaque tokens with the HMAC keys from ``SystemSecrets``."""

    def __init__(self, hmac_keys: Sequence[bytes]):
        if not hmac_keys:
            raise ValueError("at least one HMAC key is required")
        self._keys = tuple(hmac_keys)

    def mint(self, kind: TokenKind) -> MintedToken:
        body = kind.prefix + _b64encode(secrets.token_bytes(RANDOM_BYTES))
        signature = _b64encode(self._sign(self._keys[0], body))
        return MintedToken(
            value=f"{body}.{signature}", signature_digest=signature_digest(signature)
        )

    def verify(self, token: str, kind: TokenKind) -> str | None:
        """Return the signature digest if ``token`` is an authentic token of ``kind``, else None."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return None
        if not token.startswith(kind.prefix):
            return None
        body, dot, signature = token.rpartition(".")
        if not dot or _b64decode(body[len(kind.prefix) :]) is None:
            return None
        presented = _b64decode(signature)
        if presented is None:
            return None
        for key in self._keys:
            if hmac.compare_digest(self._sign(key, body), presented):
                return signature_digest(signature)
        return None

    @staticmethod
    def _sign(key: bytes, body: str) -> bytes:
        return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
