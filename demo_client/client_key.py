"""The client's own key pair for ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9).

Instead of a shared secret, the client proves who it is with a short JWT signed by its
private key — a *client assertion* — and the server verifies it with the public key
registered in the client's ``jwks``. The private key never leaves this process: it is read
from ``DEMO_CLIENT_PRIVATE_KEY_FILE`` (a private JWK or a PEM file) or generated at start
and kept in memory (``--register`` then registers its public half), and it is never
printed, logged or shown. The signing goes through Authlib's ``PrivateKeyJWT``.

Nothing here does I/O but ``read_key_file``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

PRIVATE_KEY_JWT = "private_key_jwt"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
# Seconds an assertion is valid. It is made for one request and sent at once: a short life
# leaves little to replay, and the server keeps its jti only until it expires.
ASSERTION_LIFETIME = 60
MIN_RSA_BITS = 2048
MAX_KEY_FILE_BYTES = 64 * 1024
# The algorithm each key signs with, unless the JWK names another it can use.
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
KEY_TYPES = "an RSA key (2048 bits or more) or an EC key on P-256, P-384 or P-521"


class KeyFileError(ValueError):
    """The key file cannot be used; the message says why, never what the file holds."""


@dataclass(frozen=True)
class ClientKey:
    """The private key, its ``kid`` and the algorithm it signs with."""

    key: RSAKey | ECKey = field(repr=False)
    alg: str
    kid: str
    generated: bool = False  # made at start, kept in memory only

    def public_jwk(self) -> dict:
        """The public half as a JWK (RFC 7517 §4): what the server verifies with."""
        return {
            **self.key.as_dict(private=False),
            "kid": self.kid,
            "alg": self.alg,
            "use": "sig",
        }

    def public_jwks(self) -> dict:
        """The client's ``jwks`` client metadata (RFC 7591 §2): a JWK Set of one key."""
        return {"keys": [self.public_jwk()]}

    def auth(self, audience: str) -> AssertionAuth:
        """Authlib's client authentication that signs a fresh assertion for ``audience``
        on every request it authenticates."""
        return AssertionAuth(audience, headers={"kid": self.kid}, alg=self.alg)

    def sign_assertion(self, client_id: str, audience: str) -> str:
        """One client assertion, as ``auth`` would send it (for requests sent without
        Authlib's session: the device authorization request and the device polls)."""
        return self.auth(audience).sign(_Signer(client_id, self.key), audience)


class AssertionAuth(PrivateKeyJWT):
    """``PrivateKeyJWT`` with a short life and a new ``jti`` for each assertion.

    Authlib's own defaults are an ``exp`` an hour ahead (the longest the server accepts)
    and, given extra claims, a ``jti`` kept in them and so reused: here neither."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            header=dict(self.headers or {}),
            alg=self.alg,
            expires_in=ASSERTION_LIFETIME,
        )


@dataclass(frozen=True)
class _Signer:
    """What ``PrivateKeyJWT.sign`` reads of Authlib's client: the id and the key."""

    client_id: str
    client_secret: RSAKey | ECKey = field(repr=False)


def generate_key() -> ClientKey:
    """A new RSA key pair (RS256, like the ID tokens), for this process only."""
    key = RSAKey.generate_key(MIN_RSA_BITS, private=True)
    return ClientKey(key, "RS256", key.thumbprint(), generated=True)


def read_key_file(path: str) -> ClientKey:
    """The private key in ``path``: a JWK (JSON) or PEM. Raises KeyFileError."""
    name = repr(path)  # one line, whatever the path holds
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(
            f"cannot read {name}: {exc.strerror or exc.__class__.__name__}"
        ) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{name} is too large for a key ({MAX_KEY_FILE_BYTES} bytes at most)")
    return parse_key(data, name)


def parse_key(data: bytes, name: str = "the key file") -> ClientKey:
    """A private JWK (JSON) or PEM key. Raises KeyFileError, never quoting ``data``."""
    text = data.strip()
    if text.startswith(b"{"):
        return _from_jwk(text, name)
    if text.startswith(b"-----BEGIN"):
        return _from_pem(text, name)
    raise KeyFileError(f"{name} holds neither a JWK (JSON) nor a PEM key")


def _from_jwk(text: bytes, name: str) -> ClientKey:
    try:
        document = json.loads(text)
    except (ValueError, UnicodeError):
        raise KeyFileError(f"{name} is not valid JSON") from None
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        if len(document["keys"]) != 1:
            raise KeyFileError(f"{name} is a JWK Set: it must hold exactly one key")
        document = document["keys"][0]
    if not isinstance(document, dict):
        raise KeyFileError(f"{name} is not a JWK (a JSON object)")
    kind = {"RSA": RSAKey, "EC": ECKey}.get(str(document.get("kty")))
    if kind is None:
        raise KeyFileError(f"{name}: use {KEY_TYPES}")
    if "d" not in document:
        raise KeyFileError(f"{name} holds a public key: private_key_jwt signs with the private one")
    if kind is RSAKey:  # before joserfc, which warns about a short key as it imports it
        _check_rsa_bits(_jwk_bits(document.get("n")), name)
    try:
        key = kind.import_key(document)
    except (JoseError, ValueError, TypeError, KeyError):
        raise KeyFileError(f"{name} is not a usable {document['kty']} JWK") from None
    alg, kid = document.get("alg"), document.get("kid")
    return _checked(key, alg if isinstance(alg, str) else None, kid, name)


def _jwk_bits(modulus: object) -> int:
    try:
        raw = base64.urlsafe_b64decode(str(modulus) + "=" * (-len(str(modulus)) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _from_pem(text: bytes, name: str) -> ClientKey:
    if b"PRIVATE KEY" not in text:
        raise KeyFileError(f"{name} holds no private key: private_key_jwt signs with it")
    try:
        loaded = serialization.load_pem_private_key(text, password=None)
    except TypeError:
        raise KeyFileError(f"{name} is an encrypted PEM key; give an unencrypted one") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{name} is not a readable PEM private key") from None
    if isinstance(loaded, rsa.RSAPrivateKey):
        _check_rsa_bits(loaded.key_size, name)
        kind = RSAKey
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        kind = ECKey
    else:
        raise KeyFileError(f"{name}: use {KEY_TYPES}")
    try:
        key = kind.import_key(text)
    except (JoseError, ValueError, TypeError):
        raise KeyFileError(f"{name}: use {KEY_TYPES}") from None
    return _checked(key, None, None, name)


def _check_rsa_bits(bits: int, name: str) -> None:
    if bits < MIN_RSA_BITS:
        raise KeyFileError(f"{name}: an RSA key of {bits} bits is too short (2048 at least)")


def _checked(key: RSAKey | ECKey, alg: str | None, kid: object, name: str) -> ClientKey:
    if isinstance(key, RSAKey):
        allowed = RSA_ALGORITHMS
    else:
        curve = key.curve_name
        if curve not in EC_ALGORITHMS:
            raise KeyFileError(f"{name}: the EC curve {curve} cannot be used; use {KEY_TYPES}")
        allowed = (EC_ALGORITHMS[curve],)
    if alg is not None and alg not in allowed:
        raise KeyFileError(f"{name}: its alg {alg[:20]!r} does not fit the key; use {allowed[0]}")
    kid = kid if isinstance(kid, str) and kid else key.thumbprint()  # RFC 7638
    return ClientKey(key, alg or allowed[0], kid)
