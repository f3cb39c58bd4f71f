"""A DPoP proof (RFC 9449 §4.2) decoded for the inspector: its header with the public JWK
and that key's thumbprint, its claims, each with what it proves, the signature shortened.

A proof is public-key signed, made for one request and single-use, so unlike a client
assertion it is shown whole; the private key that signed it is not here at all. No I/O.
"""

from __future__ import annotations

import json

from demo_client.id_token import when
from demo_client.inspector.assertion import (
    AssertionRow,
    DecodedAssertion,
    jwt_parts,
    ordered,
)
from demo_client.inspector.glossary import DPOP_CLAIMS
from demo_client.inspector.redaction import short, show
from demo_client.resource import token_hash
from demo_client.transport import Exchange

DPOP_REF = "RFC 9449 §4.2, §4.3"
HEADER_ORDER = ("typ", "alg", "jwk")
CLAIM_ORDER = ("jti", "htm", "htu", "iat", "ath", "nonce")
PROOF_NOTES = (
    "The proof is shown whole: it is signed with the public key in its header, made for "
    "this one request and single-use (the server records its jti).",
    "Decoded here from what was sent; the server checks the signature with the jwk, then "
    "htm, htu, iat, ath and the jti (RFC 9449 §4.3).",
)


def decode_proof(exchange: Exchange) -> DecodedAssertion | None:
    """The DPoP proof the request carried, decoded; None when it carried none."""
    if not exchange.dpop_proof:
        return None
    try:
        header, claims, signature = jwt_parts(exchange.dpop_proof)
    except ValueError:
        return DecodedAssertion(problem="The DPoP header sent is not a compact JWS.")
    rows = [_row("header", name, header[name]) for name in ordered(header, HEADER_ORDER)]
    if isinstance(header.get("jwk"), dict):
        rows.append(_row("header", "→ thumbprint", jwk_thumbprint(header["jwk"])))
    rows += [_row("claims", name, claims[name]) for name in ordered(claims, CLAIM_ORDER)]
    rows.append(_row("signature", "signature", short(signature)))
    return DecodedAssertion(rows=rows, notes=list(PROOF_NOTES))


def _row(part: str, name: str, value: object) -> AssertionRow:
    shown = when(value) if name == "iat" else show(name, value)
    return AssertionRow(part, name, shown, DPOP_CLAIMS.get(name, ""))


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC, RSA or OKP public key ("" if it is none)."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    names = members.get(str(jwk.get("kty")))
    if names is None or not all(isinstance(jwk.get(name), str) for name in names):
        return ""
    canonical = json.dumps({name: jwk[name] for name in names}, separators=(",", ":"))
    return token_hash(canonical)
