"""The client's DPoP key and its proofs (RFC 9449).

A DPoP proof is a short JWT signed with a key pair of the client's own, sent in the
``DPoP`` header of one request: the server binds the tokens to that key's RFC 7638
thumbprint (``cnf.jkt``), so a stolen token is useless without the private key. The key is
ES256 (P-256), generated at start and kept in memory: only its public JWK and thumbprint
are ever shown, and no proof carries more than the public half. No I/O here.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field

from joserfc import jws
from joserfc.jwk import ECKey

from demo_client.resource import token_hash
from demo_client.transport import Exchange

DPOP_ALG = "ES256"
USE_NONCE = "use_dpop_nonce"  # RFC 9449 §8, §9: retry with the server's DPoP-Nonce


@dataclass(frozen=True)
class DpopKey:
    key: ECKey = field(repr=False)  # the private key: never printed, logged or shown

    @property
    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint: the ``dpop_jkt`` sent, the ``cnf.jkt`` expected."""
        return self.key.thumbprint()

    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)

    def proof(
        self, method: str, url: str, access_token: str | None = None, nonce: str | None = None
    ) -> str:
        """One proof for one request: a new ``jti``, ``iat`` now, ``htu`` without query or
        fragment (§4.2), and ``ath`` when a token is presented with it (§7.1)."""
        claims: dict = {
            "jti": secrets.token_urlsafe(24),
            "htm": method,
            "htu": url.split("?", 1)[0].split("#", 1)[0],
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": DPOP_ALG, "jwk": self.public_jwk()}
        return jws.serialize_compact(header, json.dumps(claims), self.key)


def generate_dpop_key() -> DpopKey:
    return DpopKey(ECKey.generate_key("P-256", private=True))


def nonce_asked(exchange: Exchange) -> str:
    """The server's nonce when it answered ``use_dpop_nonce`` (in the JSON body at the token
    and PAR endpoints, §8; in the DPoP challenge at a resource, §9), else ""."""
    body = exchange.body if isinstance(exchange.body, dict) else {}
    asked = body.get("error") == USE_NONCE or USE_NONCE in exchange.www_authenticate
    return exchange.dpop_nonce if asked else ""
