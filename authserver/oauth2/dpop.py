"""DPoP proofs (RFC 9449, OAuth 2.0 Demonstrating Proof of Possession): verification.

A DPoP proof is a JWT the client signs with a key of its own and sends in the ``DPoP``
header of each request; the server binds tokens to that key's thumbprint (RFC 7638), so
a stolen token is useless without the private key. ``verify_proof`` runs the checks of
RFC 9449 §4.3 as a table (``_CHECKS``), read top to bottom, each a small function that
either returns or raises ``DpopError``:

1. exactly one header value, short, printable ASCII, a compact JWS (no JWE, no JSON
   serialization): cheap refusals before anything is parsed;
2. the protected header: ``typ`` is ``dpop+jwt`` (so no other JWT can pass for a
   proof), ``alg`` is an asymmetric algorithm we allow (``none`` and HMAC can prove no
   possession), ``jwk`` is a public key of the type the algorithm needs (a private
   member means the client leaked its key; RSA below 2048 bits is too weak);
3. the signature verifies with that very ``jwk`` (only its thumbprinted members are
   imported: the key that verifies is exactly the key a token gets bound to);
4. the claims ``jti``, ``htm``, ``htu`` and ``iat`` are present and well typed;
5. ``htm`` and 6. ``htu`` name this request (§4.3 checks 8-9: a proof made for one
   endpoint cannot be replayed at another);
7. ``iat`` is recent (§4.3 check 11, §11.1; proofs are short-lived by design);
8. a server nonce, when the caller asks for one (§4.3 check 10, §8): a missing or stale
   one is the ``use_dpop_nonce`` error, which carries a fresh nonce for the
   ``DPoP-Nonce`` header;
9. ``ath`` is the hash of the access token presented with it (§4.3 check 12, §7.1);
10. the key is the one the token is bound to (§4.3 check 12);
11. the ``jti`` is used once (§11.1), last, so that only valid proofs consume one.

Whatever the input, the only exception is ``DpopError``; its description is fixed text
(never an echo of the input), safe for an RFC 6749 ``error_description``.
``NonceSource`` makes stateless nonces (an HMAC over a time window), so that several
processes sharing a key accept each other's nonces without shared storage.

This module knows nothing of Flask or the database: the caller passes the header
values, the request's method and URL, and a ``use_once`` callback for replay records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

DPOP_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")

INVALID_PROOF = "invalid_dpop_proof"
USE_NONCE = "use_dpop_nonce"

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # bounds the cost of an RSA verification an attacker can make us do
MAX_JTI_LENGTH = 512
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# RFC 7638 §3.2 (and RFC 8037 §2 for OKP): the members a thumbprint covers, per kty.
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
# What each algorithm needs of the key: kty, and crv (None for RSA).
KEY_FOR_ALG = {
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
KEY_NAMES = {"EC": "an EC P-256 key", "RSA": "an RSA key", "OKP": "an OKP Ed25519 key"}
KEY_CLASSES = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_SAFE_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DpopError(Exception):
    """error: ``invalid_dpop_proof`` or ``use_dpop_nonce``; description: printable ASCII
    without ``"`` or ``\\`` (RFC 6749 §5.2); nonce: a fresh nonce for the ``DPoP-Nonce``
    response header, or None."""

    def __init__(self, error: str, description: str, nonce: str | None = None):
        # Descriptions are our own text; the substitution only guards against a mistake.
        description = _SAFE_DESCRIPTION.sub("?", description)
        # A sentence, as every other error description of the server.
        description = description[:1].upper() + description[1:]
        if not description.endswith("."):
            description += "."
        super().__init__(description)
        self.error = error
        self.description = description
        self.nonce = nonce


def _refuse(description: str) -> DpopError:
    return DpopError(INVALID_PROOF, description)


@dataclass(frozen=True)
class DpopProof:
    jkt: str  # RFC 7638 SHA-256 JWK thumbprint (base64url, no padding) of the header's jwk
    jti: str
    iat: int
    htm: str
    htu: str


@dataclass(frozen=True)
class DpopRules:
    max_age: int = 300  # iat may be at most this old (seconds)
    leeway: int = 60  # and at most this far in the future
    algorithms: tuple[str, ...] = DPOP_ALGORITHMS
    max_length: int = 8192  # a longer header value is refused before parsing


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(part: str) -> bytes:
    """Strict base64url without padding; ValueError otherwise."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class NonceSource:
    """Stateless server nonces (RFC 9449 §8): an HMAC under a key of at least 32 bytes
    over a time window, so that several processes sharing the key accept each other's
    nonces without storage. A nonce stays valid for the current and the previous window
    (a nonce fetched just before a window ends still works for one more window)."""

    def __init__(
        self,
        key: bytes,
        window: int = 300,
        clock: Callable[[], int] = lambda: int(time.time()),
    ):
        if not isinstance(key, bytes) or len(key) < 32:
            raise ValueError("a DPoP nonce key must be at least 32 bytes")
        if window < 1:
            raise ValueError("a DPoP nonce window must be at least one second")
        self._key = key
        self._window = window
        self._clock = clock

    def _nonce(self, index: int) -> str:
        message = b"dpop-nonce\x00" + str(index).encode("ascii")
        return _b64url(hmac.new(self._key, message, hashlib.sha256).digest())

    def _index(self) -> int:
        return int(self._clock()) // self._window

    def current(self) -> str:
        return self._nonce(self._index())

    def accepts(self, nonce: str) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        # Bytes, because compare_digest refuses str with non-ASCII characters.
        given = nonce.encode("utf-8", "surrogatepass")
        index = self._index()
        return any(
            hmac.compare_digest(given, self._nonce(i).encode("ascii")) for i in (index, index - 1)
        )


def thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC, RSA or OKP key (base64url, no padding)."""
    kty = jwk.get("kty") if isinstance(jwk, dict) else None
    members = THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise _refuse("the jwk must be an EC, RSA or OKP key")
    if not all(isinstance(jwk.get(name), str) and jwk[name] for name in members):
        raise _refuse("the jwk lacks a required member (crv, x, y, n or e)")
    # Members in lexicographic order, no whitespace, UTF-8 (RFC 7638 §3.3).
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), ensure_ascii=False
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest())


def access_token_hash(token: str) -> str:
    """The ``ath`` claim: base64url SHA-256 of the token's ASCII form (RFC 9449 §4.2)."""
    return _b64url(hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest())


def normalize_htu(url: str) -> str:
    """RFC 9449 §4.3 check 9 (with RFC 3986 §6.2.2-6.2.3): scheme and host lowercased,
    the default port dropped, an empty path made ``/``; no query, no fragment."""
    bad = _refuse("htu must be an absolute http or https URL")
    if not isinstance(url, str) or not url.isascii() or not url.isprintable():
        raise bad
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc or " " in url:
        raise bad
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


# --- the checks -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """What the caller told us about the request the proof must match."""

    header_values: Any
    method: str
    url: str
    now: int
    rules: DpopRules
    access_token: str | None
    expected_jkt: str | None
    nonces: NonceSource | None
    use_once: Callable[[str, int], bool] | None


class _Proof:
    """What the checks have read so far; each check fills in what the next ones use."""

    compact: str = ""
    parts: list[str]
    header: dict
    jwk: dict
    alg: str = ""
    jkt: str = ""
    claims: dict


def _strict_json_object(data: bytes, what: str) -> dict:
    """A JSON object, refusing duplicate names, NaN/Infinity and absurd nesting."""

    def no_duplicates(pairs):
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError("duplicate member")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(name)

    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _refuse(f"the proof's {what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _refuse(f"the proof's {what} is not a JSON object")
    return value


def _check_one_value(proof: _Proof, request: _Request) -> None:
    values = request.header_values
    if not isinstance(values, list | tuple) or len(values) != 1:
        raise _refuse("exactly one DPoP header is required")
    value = values[0]
    if not isinstance(value, str):
        raise _refuse("the DPoP header must be text")
    if not value.strip():
        raise _refuse("the DPoP header is empty")
    if len(value) > request.rules.max_length:
        raise _refuse("the DPoP header is too long")
    if not all(" " <= char <= "~" for char in value):
        raise _refuse("the DPoP header must be printable ASCII")
    proof.compact = value.strip()


def _check_compact_form(proof: _Proof, request: _Request) -> None:
    if proof.compact.startswith("{"):
        raise _refuse("the proof must be a compact JWS, not a JSON serialization")
    parts = proof.compact.split(".")
    if len(parts) == 5:
        raise _refuse("the proof must be a signed JWT, not an encrypted one (JWE)")
    if len(parts) != 3 or not all(_B64URL.fullmatch(part) for part in parts):
        raise _refuse("the proof must be a compact JWS of three base64url parts")
    proof.parts = parts


def _check_header(proof: _Proof, request: _Request) -> None:
    try:
        raw = _b64url_decode(proof.parts[0])
    except (ValueError, binascii.Error):
        raise _refuse("the proof's header is not base64url") from None
    header = _strict_json_object(raw, "header")
    if header.get("typ") != "dpop+jwt":
        raise _refuse("the proof's typ must be dpop+jwt")
    if "crit" in header:
        raise _refuse("the proof uses critical header parameters (crit), not supported here")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg == "none" or alg.upper().startswith("HS"):
        raise _refuse(
            "the proof's alg must be an asymmetric signature algorithm (not none, not HS*)"
        )
    if alg not in request.rules.algorithms or alg not in KEY_FOR_ALG:
        raise _refuse(
            "the proof's alg is not accepted; use one of " + ", ".join(request.rules.algorithms)
        )
    proof.header, proof.alg = header, alg


def _check_jwk(proof: _Proof, request: _Request) -> None:
    jwk = proof.header.get("jwk")
    if not isinstance(jwk, dict):
        raise _refuse("the proof's header must carry the public key as a jwk object")
    if any(name in jwk for name in PRIVATE_MEMBERS) or jwk.get("kty") == "oct":
        raise _refuse(
            "the proof's jwk must be a public key (it carries private or symmetric material)"
        )
    kty, crv = KEY_FOR_ALG[proof.alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise _refuse(f"the proof's alg {proof.alg} needs {KEY_NAMES[kty]} as its jwk")
    proof.jkt = thumbprint(jwk)  # also checks the members are there and are strings
    if kty == "RSA":
        _check_rsa_size(jwk)
    proof.jwk = {name: jwk[name] for name in THUMBPRINT_MEMBERS[kty]}


def _check_rsa_size(jwk: dict) -> None:
    try:
        modulus = _b64url_decode(jwk["n"]).lstrip(b"\x00")
    except (ValueError, binascii.Error):
        raise _refuse("the proof's RSA key is malformed") from None
    bits = int.from_bytes(modulus, "big").bit_length()
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        raise _refuse(f"the proof's RSA key must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")


def _registry(alg: str, rules: DpopRules) -> jws.JWSRegistry:
    """joserfc's rules for this proof: only ``alg``; sizes bounded by our own limit
    (its default 512-byte header is too small for an RSA jwk); header members it does
    not know are allowed (RFC 7515 §4.2), those it knows are still type-checked."""
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_header_length = registry.max_signature_length = rules.max_length
    return registry


def _check_signature(proof: _Proof, request: _Request) -> None:
    registry = _registry(proof.alg, request.rules)
    with warnings.catch_warnings():
        # RFC 9864 deprecates the "EdDSA" name, yet RFC 9449 clients use it.
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        try:
            key = KEY_CLASSES[proof.jwk["kty"]].import_key(proof.jwk)
            jws.deserialize_compact(proof.compact, key, algorithms=[proof.alg], registry=registry)
        except Exception:  # hostile key material fails in many ways; each means no
            raise _refuse("the proof's signature does not verify with its jwk") from None


def _check_claims(proof: _Proof, request: _Request) -> None:
    try:
        raw = _b64url_decode(proof.parts[1])
    except (ValueError, binascii.Error):
        raise _refuse("the proof's payload is not base64url") from None
    claims = _strict_json_object(raw, "payload")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise _refuse(f"the proof needs a jti: a string of 1 to {MAX_JTI_LENGTH} characters")
    if not isinstance(claims.get("htm"), str) or not isinstance(claims.get("htu"), str):
        raise _refuse("the proof needs htm and htu claims (strings)")
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise _refuse("the proof needs an iat claim: an integer (seconds)")
    proof.claims = claims


def _check_method(proof: _Proof, request: _Request) -> None:
    if proof.claims["htm"] != request.method:
        raise _refuse("the proof's htm does not match the request's method")


def _check_url(proof: _Proof, request: _Request) -> None:
    if normalize_htu(proof.claims["htu"]) != normalize_htu(request.url):
        raise _refuse("the proof's htu does not match the request's URL")


def _check_iat(proof: _Proof, request: _Request) -> None:
    iat, now, rules = proof.claims["iat"], request.now, request.rules
    if iat < now - rules.max_age:
        raise _refuse("the proof is too old (iat)")
    if iat > now + rules.leeway:
        raise _refuse("the proof was issued in the future (iat)")


def _check_nonce(proof: _Proof, request: _Request) -> None:
    nonces = request.nonces
    if nonces is None:
        return
    nonce = proof.claims.get("nonce")
    if nonce is None:
        raise DpopError(
            USE_NONCE, "the authorization server requires a nonce in DPoP proofs", nonces.current()
        )
    if not nonces.accepts(nonce):
        raise DpopError(USE_NONCE, "the proof's nonce is unknown or has expired", nonces.current())


def _check_ath(proof: _Proof, request: _Request) -> None:
    if request.access_token is None:
        return  # an ath on a proof sent without a token binds nothing; ignored
    ath = proof.claims.get("ath")
    if not isinstance(ath, str):
        raise _refuse("the proof must carry ath, the hash of the access token")
    expected = access_token_hash(request.access_token).encode("ascii")
    if not hmac.compare_digest(ath.encode("utf-8", "surrogatepass"), expected):
        raise _refuse("the proof's ath does not match the access token")


def _check_key_binding(proof: _Proof, request: _Request) -> None:
    expected = request.expected_jkt
    if expected is None:
        return
    if not hmac.compare_digest(
        proof.jkt.encode("ascii"), str(expected).encode("utf-8", "surrogatepass")
    ):
        raise _refuse("the proof's key is not the one the token is bound to")


def replay_key(jkt: str, jti: str) -> str:
    """The replay record's key: a jti is unique per key (two clients may pick the same
    string). JSON keeps the join unambiguous whatever the jti contains."""
    return hashlib.sha256(json.dumps(["dpop", jkt, jti]).encode("ascii")).hexdigest()


def _check_replay(proof: _Proof, request: _Request) -> None:
    if request.use_once is None:
        return
    # The proof is acceptable until iat + max_age; the leeway covers a clock ahead of ours.
    expires_at = proof.claims["iat"] + request.rules.max_age + request.rules.leeway
    if not request.use_once(replay_key(proof.jkt, proof.claims["jti"]), expires_at):
        raise _refuse("the proof was replayed (its jti was used before)")


_CHECKS: tuple[Callable[[_Proof, _Request], None], ...] = (
    _check_one_value,
    _check_compact_form,
    _check_header,
    _check_jwk,
    _check_signature,
    _check_claims,
    _check_method,
    _check_url,
    _check_iat,
    _check_nonce,
    _check_ath,
    _check_key_binding,
    _check_replay,  # last: only a proof that passed everything consumes its jti
)


def verify_proof(
    header_values: list[str],
    *,
    method: str,
    url: str,
    now: int,
    rules: DpopRules = DpopRules(),  # noqa: B008 - frozen, so sharing the default is safe
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonces: NonceSource | None = None,
    use_once: Callable[[str, int], bool] | None = None,
) -> DpopProof:
    """The proof in the ``DPoP`` header values, checked against the request (RFC 9449
    §4.3); raises ``DpopError`` if any check fails."""
    request = _Request(
        header_values, method, url, now, rules, access_token, expected_jkt, nonces, use_once
    )
    proof = _Proof()
    for check in _CHECKS:
        check(proof, request)
    claims = proof.claims
    return DpopProof(
        jkt=proof.jkt, jti=claims["jti"], iat=claims["iat"], htm=claims["htm"], htu=claims["htu"]
    )
