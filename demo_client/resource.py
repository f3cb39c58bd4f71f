"""The resource server's side, without Flask: read the access token from a request, check a
DPoP proof, decide what the introspection answer allows, and build the challenges.

RFC 6750 (Bearer tokens), RFC 9449 (DPoP), RFC 7662 (introspection answers) and RFC 9728
(protected resource metadata). Every refusal is a ``Refusal``, which the view turns into
the JSON body and the ``WWW-Authenticate`` challenges. Nothing here ever logs a token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

DPOP_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
MAX_HEADER = 8 * 1024  # bigger Authorization or DPoP headers: 431
IAT_PAST = 300  # a proof is fresh for 5 minutes…
IAT_FUTURE = 60  # …and may come from a clock up to a minute ahead
SCHEMES = {"bearer": "Bearer", "dpop": "DPoP"}  # the scheme is case-insensitive (RFC 9110)
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Which key type each algorithm needs (a proof's alg and jwk must agree).
KEY_TYPES: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "ES256": (ECKey, "EC", ("P-256",)),
    "RS256": (RSAKey, "RSA", ()),
    "PS256": (RSAKey, "RSA", ()),
    "EdDSA": (OKPKey, "OKP", ("Ed25519", "Ed448")),
}
# RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
_NOT_IN_QUOTED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


@dataclass
class Refusal(Exception):
    """A refused request: the HTTP status, the RFC error code (empty: no credentials were
    sent, so no error code, RFC 6750 §3.1) and which challenge carries it."""

    status: int
    error: str
    description: str
    scheme: str = "Bearer"
    scope: str = ""
    retry_after: int | None = None


def invalid_request(description: str, status: int = 400) -> Refusal:
    return Refusal(status, "invalid_request", description)


def invalid_token(description: str, scheme: str = "Bearer") -> Refusal:
    return Refusal(401, "invalid_token", description, scheme)


def invalid_proof(description: str) -> Refusal:
    return Refusal(401, "invalid_dpop_proof", description, "DPoP")


# -- reading the credentials ---------------------------------------------------------------


def check_sizes(headers: Iterable[str]) -> None:
    if any(len(value) > MAX_HEADER for value in headers):
        raise invalid_request(f"a header is longer than {MAX_HEADER} bytes", 431)


def read_authorization(values: list[str]) -> tuple[str, str]:
    """(the scheme, "Bearer" or "DPoP"; the token) from the Authorization header(s)."""
    if not values:
        raise Refusal(401, "", "no access token: send Authorization: Bearer <token>")
    if len(values) > 1 or "," in values[0]:  # servers join repeated headers with ", "
        raise invalid_request("more than one Authorization header")
    scheme, _, token = values[0].partition(" ")
    token = token.lstrip(" ")  # RFC 9110 §11.4: 1*SP after the scheme
    canonical = SCHEMES.get(scheme.lower()) if scheme.isascii() else None
    if canonical is None:  # not a scheme this API takes: as if no credentials came
        raise Refusal(401, "", "unsupported authorization scheme: use Bearer or DPoP")
    if not B64TOKEN.fullmatch(token):  # also refuses NUL, CR LF, spaces and non-ASCII
        raise invalid_request("the token is not a b64token (RFC 6750 §2.1)", 400)
    return canonical, token


# -- DPoP proofs (RFC 9449 §4.3) ------------------------------------------------------------


class ReplayCache:
    """The jti of every accepted proof, while it could still be fresh: thread-safe,
    bounded (the oldest go first), entries dropped once their proof would be stale."""

    def __init__(self, max_entries: int = 10_000, keep_seconds: float = IAT_PAST + IAT_FUTURE):
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._keep = keep_seconds

    def first_use(self, jti: str, now: float) -> bool:
        """Record ``jti``; False if it was seen already."""
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now:
                self._seen.popitem(last=False)
            if jti in self._seen:
                return False
            self._seen[jti] = now + self._keep
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True


@dataclass(frozen=True)
class ProofContext:
    method: str
    urls: frozenset[str]  # the accepted htu values, normalised
    access_token: str
    now: float


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(the access token)), no padding (RFC 9449 §4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def normalized_url(url: str) -> str:
    """For comparing htu (RFC 9449 §4.3, RFC 3986 §6.2.3): scheme and host lower-cased,
    default port dropped, no query or fragment. Empty if it is no http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return ""
    default = {"http": 80, "https": 443}[scheme]
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _header(proof: str) -> dict:
    segment = proof.split(".", 1)[0]
    decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    if not isinstance(decoded, dict):
        raise ValueError("not an object")
    return decoded


def _jwk_problem(header: dict) -> str:
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        return "the proof's header has no jwk object"
    if PRIVATE_MEMBERS & jwk.keys():
        return "the proof's jwk holds private key material"
    _, kty, curves = KEY_TYPES[header["alg"]]
    if jwk.get("kty") != kty or (curves and jwk.get("crv") not in curves):
        return f"the proof's jwk is not a {kty} key for {header['alg']}"
    return ""


# The header's checks, in order: (what is wrong when the test fails, the test).
HEADER_CHECKS: tuple[tuple[str, Callable[[dict], bool]], ...] = (
    ("typ is not dpop+jwt", lambda h: h.get("typ") == "dpop+jwt"),
    (f"alg is not one of {' '.join(DPOP_ALGS)}", lambda h: h.get("alg") in DPOP_ALGS),
)

# The claims' checks, in order, against the request (the jti's replay check comes last).
CLAIM_CHECKS: tuple[tuple[str, Callable[[dict, ProofContext], bool]], ...] = (
    ("htm is not this request's method", lambda c, x: c.get("htm") == x.method),
    (
        "htu is not this resource's URL",
        lambda c, x: isinstance(c.get("htu"), str) and normalized_url(c["htu"]) in x.urls,
    ),
    (
        "iat is not within 5 minutes before or 60 s after now",
        lambda c, x: (
            type(c.get("iat")) in (int, float)
            and x.now - IAT_PAST <= c["iat"] <= x.now + IAT_FUTURE
        ),
    ),
    ("ath is not the access token's hash", lambda c, x: c.get("ath") == token_hash(x.access_token)),
    (
        "jti is missing or too long",
        lambda c, x: isinstance(c.get("jti"), str) and 0 < len(c["jti"]) <= 256,
    ),
)


def _registry(alg: str) -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[alg])
    registry.max_header_length = MAX_HEADER  # joserfc's 512 bytes cannot hold an RSA jwk
    return registry


def _verified_claims(proof: str, header: dict) -> tuple[dict, str]:
    """(the proof's claims, the RFC 7638 thumbprint of its key), once its signature holds."""
    key_type = KEY_TYPES[header["alg"]][0]
    try:
        key = key_type.import_key(header["jwk"])
        with warnings.catch_warnings():  # joserfc warns that EdDSA is deprecated (RFC 9864)
            warnings.simplefilter("ignore", SecurityWarning)
            signed = jws.deserialize_compact(proof, key, registry=_registry(header["alg"]))
        claims = json.loads(signed.payload)
    except (JoseError, ValueError, TypeError, KeyError):
        raise invalid_proof("the proof's signature does not verify with its jwk") from None
    if not isinstance(claims, dict):
        raise invalid_proof("the proof's payload is not a JSON object")
    return claims, key.thumbprint()


def check_proof(values: list[str], context: ProofContext, replays: ReplayCache) -> str:
    """Check the DPoP header against the request (RFC 9449 §4.3); return the thumbprint of
    the proof's key, for the caller to compare with the token's ``cnf.jkt``."""
    if len(values) != 1 or "," in values[0]:  # no JWS has a comma: headers were joined
        raise invalid_proof("send exactly one DPoP header")
    proof = values[0]
    if not COMPACT_JWS.fullmatch(proof):
        raise invalid_proof("the DPoP header is not a compact JWS")
    try:
        header = _header(proof)
    except (ValueError, UnicodeDecodeError):
        raise invalid_proof("the proof's header is not a JSON object") from None
    for problem, passes in HEADER_CHECKS:
        if not passes(header):
            raise invalid_proof(problem)
    problem = _jwk_problem(header)
    if problem:
        raise invalid_proof(problem)
    claims, thumbprint = _verified_claims(proof, header)
    for problem, passes in CLAIM_CHECKS:
        if not passes(claims, context):
            raise invalid_proof(problem)
    if not replays.first_use(claims["jti"], context.now):
        raise invalid_proof("this proof (its jti) was used before")
    return thumbprint


# -- the introspection answer (RFC 7662 §2.2) ----------------------------------------------


def bound_key(answer: dict) -> str | None:
    """The token's key thumbprint (``cnf.jkt``, RFC 9449 §6.2): "" when the token is DPoP
    without one, None when the token is not DPoP-bound at all."""
    cnf = answer.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if isinstance(jkt, str) and jkt:
        return jkt
    token_type = answer.get("token_type")
    return "" if isinstance(token_type, str) and token_type.lower() == "dpop" else None


def check_active(answer: dict) -> None:
    if answer.get("active") is not True:
        raise invalid_token("the token is not active (expired, revoked or unknown)")
    if answer.get("token_use", "access_token") != "access_token":  # Hydra's member
        raise invalid_token("this is not an access token")


def check_binding(scheme: str, jkt: str | None, thumbprint: str | None) -> None:
    """RFC 9449 §7.1, §7.2: a bound token only with DPoP and a proof by its key."""
    if jkt is not None and scheme != "DPoP":
        raise invalid_token("the token is DPoP-bound: send it with the DPoP scheme", "DPoP")
    if jkt is None and scheme == "DPoP":
        raise invalid_token("the token is not DPoP-bound: send it as Bearer", "DPoP")
    if jkt == "":
        raise invalid_token("the token is DPoP but its introspection has no cnf.jkt", "DPoP")
    if jkt is not None and thumbprint != jkt:
        raise invalid_proof("the proof's key is not the key the token is bound to (cnf.jkt)")


def check_scope(answer: dict, required: str) -> None:
    scope = answer.get("scope")
    granted = scope.split() if isinstance(scope, str) else []
    if required not in granted:
        raise Refusal(
            403, "insufficient_scope", f"the token lacks the scope {required}", scope=required
        )


# -- challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1) --------------------------------


def _quoted(value: str) -> str:
    return '"' + _NOT_IN_QUOTED.sub("", value) + '"'


def challenges(metadata_url: str, refusal: Refusal | None = None) -> list[str]:
    """One Bearer and one DPoP challenge; the refusal's error goes on its scheme's."""
    params = {
        "Bearer": [("resource_metadata", metadata_url)],
        "DPoP": [("algs", " ".join(DPOP_ALGS)), ("resource_metadata", metadata_url)],
    }
    if refusal is not None and refusal.error:
        extra = [("error", refusal.error), ("error_description", refusal.description)]
        if refusal.scope:
            extra.append(("scope", refusal.scope))
        params[refusal.scheme] = extra + params[refusal.scheme]
    return [
        f"{scheme} " + ", ".join(f"{name}={_quoted(value)}" for name, value in pairs)
        for scheme, pairs in params.items()
    ]
