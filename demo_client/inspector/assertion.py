"""A client assertion (``private_key_jwt``, RFC 7523 §2.2, OIDC Core §9) decoded for the
inspector: its header and claims, each with what it proves, and its signature shortened.

Decoding is not verifying: these are the values this client sent, read back from the
request; the server checks the signature with the public key registered for the client,
then the claims, then records the ``jti``. The assertion itself is never shown whole (it is
short-lived and single-use, but still a credential until it expires), and the private key
that signed it is not here at all. No I/O, no Flask.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from demo_client.id_token import when
from demo_client.inspector.glossary import ASSERTION_CLAIMS, CLAIMS, TIME_CLAIMS
from demo_client.inspector.redaction import short, show
from demo_client.transport import Exchange

ASSERTION_REF = "RFC 7523 §2.2, §3; OIDC Core §9"
HEADER_ORDER = ("alg", "kid", "typ")
CLAIM_ORDER = ("iss", "sub", "aud", "iat", "exp", "jti")


@dataclass
class AssertionRow:
    part: str  # "header", "claims" or "signature"
    name: str
    value: str
    meaning: str = ""


@dataclass
class DecodedAssertion:
    rows: list[AssertionRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: str = ""  # set when the value sent could not be decoded

    def row(self, part: str, name: str) -> AssertionRow | None:
        return next((r for r in self.rows if (r.part, r.name) == (part, name)), None)


def sent_assertion(exchange: Exchange) -> str | None:
    """The client_assertion the request carried in its form body, if any."""
    for name, value in exchange.params:
        if name == "client_assertion":
            return value
    return None


def client_assertion_auth(exchange: Exchange) -> tuple[str, str, str] | None:
    """The "client authentication" row for a request with an assertion: (value, meaning,
    reference), or None when the request authenticated otherwise."""
    if sent_assertion(exchange) is None:
        return None
    return (
        "private_key_jwt: client_assertion in the body, a JWT signed with the client's "
        "private key (decoded below); no secret is sent",
        "The client proves who it is with its private key; the server holds only the "
        "public key, so no shared secret exists to leak.",
        ASSERTION_REF,
    )


def decode_assertion(exchange: Exchange) -> DecodedAssertion | None:
    """The assertion the request carried, decoded; None when it carried none."""
    compact = sent_assertion(exchange)
    if compact is None:
        return None
    try:
        header, claims, signature = jwt_parts(compact)
    except ValueError:
        return DecodedAssertion(
            problem="The client_assertion sent is not a compact JWT (header.claims.signature)."
        )
    rows = [_row("header", name, header[name]) for name in ordered(header, HEADER_ORDER)]
    rows += [_row("claims", name, claims[name], claims) for name in ordered(claims, CLAIM_ORDER)]
    rows.append(
        AssertionRow("signature", "signature", short(signature), ASSERTION_CLAIMS["signature"])
    )
    return DecodedAssertion(rows=rows, notes=_notes(claims))


def jwt_parts(compact: str) -> tuple[dict, dict, str]:
    pieces = compact.split(".")
    if len(pieces) != 3:
        raise ValueError("not three parts")
    header, claims = (_json(piece) for piece in pieces[:2])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not JSON objects")
    return header, claims, pieces[2]


def _json(piece: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError):
        raise ValueError("not base64url JSON") from None


def ordered(values: dict, first: tuple[str, ...]) -> list[str]:
    return [name for name in first if name in values] + [
        name for name in values if name not in first
    ]


def _row(part: str, name: str, value: object, claims: dict | None = None) -> AssertionRow:
    meaning = ASSERTION_CLAIMS.get(name) or CLAIMS.get(name, "")
    if part == "claims" and name in TIME_CLAIMS:
        shown = when(value)
        iat = (claims or {}).get("iat")
        if name == "exp" and _number(value) and _number(iat):
            shown += f", {int(value) - int(iat)} s after iat"
        return AssertionRow(part, name, shown, meaning)
    return AssertionRow(part, name, show(name, value), meaning)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _notes(claims: dict) -> list[str]:
    notes = [
        "Decoded here from what was sent (decoding is not verifying): the server checks the "
        "signature with the public key registered in the client's jwks, then iss = sub = the "
        "client_id, aud, exp and iat.",
        "The server records the jti until exp: the same assertion sent again is refused as a "
        "replay, so each request carries a new one (RFC 7523 §3).",
    ]
    if claims.get("iss") != claims.get("sub"):
        notes.append("✗ iss and sub differ: both must be the client_id (RFC 7523 §3).")
    return notes
