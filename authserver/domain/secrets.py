"""Keys derived from the system secrets (``SECRETS_SYSTEM``).

The first secret signs and encrypts; every secret verifies and decrypts. Rotating is
therefore ``SECRETS_SYSTEM=new,old``: tokens signed and keys encrypted under ``old`` stay
valid, everything new uses ``new``. Each purpose gets its own key through HKDF (RFC 5869),
so the HMAC key for tokens never doubles as the encryption key.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_HMAC_PURPOSE = b"authserver/v1/token-hmac"
ENCRYPTION_PURPOSE = b"authserver/v1/encryption-at-rest"
COOKIE_PURPOSE = b"authserver/v1/cookie"


class DecryptionError(Exception):
    """No configured system secret can decrypt the value (wrong or rotated-out secret)."""


def derive_key(secret: str, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(
        secret.encode("utf-8")
    )


class SystemSecrets:
    """The keys every part of the server derives from ``SECRETS_SYSTEM``."""

    def __init__(self, secrets: Sequence[str]):
        if not secrets:
            raise ValueError("at least one system secret is required")
        self._secrets = tuple(secrets)

    @cached_property
    def token_hmac_keys(self) -> tuple[bytes, ...]:
        """HMAC keys for opaque tokens: index 0 signs, all verify."""
        return tuple(derive_key(secret, TOKEN_HMAC_PURPOSE) for secret in self._secrets)

    @cached_property
    def dpop_nonce_key(self) -> bytes:
        """The key of the server's DPoP nonces (RFC 9449 §8): every process derives the
        same, so a nonce from one is accepted by all."""
        return derive_key(self._secrets[0], b"authserver dpop nonce")

    @cached_property
    def _fernet(self) -> MultiFernet:
        # Fernet is AES-128-CBC + HMAC-SHA256 with a timestamp; MultiFernet encrypts with the
        # first key and tries each key in turn to decrypt: exactly our rotation rule.
        return MultiFernet(
            [
                Fernet(base64.urlsafe_b64encode(derive_key(secret, ENCRYPTION_PURPOSE)))
                for secret in self._secrets
            ]
        )

    def encrypt(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode("ascii")

    def decrypt(self, ciphertext: str) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, ValueError):
            raise DecryptionError(
                "none of the configured system secrets decrypts this value"
            ) from None
