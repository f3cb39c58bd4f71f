"""OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6): signed with the newest key of the
``hydra.openid.id-token`` set of the client's ``id_token_signed_response_alg`` (RS256 by
default), verifiable at ``/.well-known/jwks.json``."""

from __future__ import annotations

import uuid
from typing import Any

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from authserver.domain.clock import Clock
from authserver.domain.sessions import GrantSession
from authserver.oauth2.keys import ID_TOKEN_SET, SIGNING_ALGORITHMS, KeyManager

# OIDC Registration §2: a client that registered no id_token_signed_response_alg expects it.
DEFAULT_ALG = "RS256"


class IdTokens:
    def __init__(self, keys: KeyManager, issuer: str, default_ttl: int, clock: Clock):
        self._keys = keys
        self._issuer = issuer
        self._default_ttl = default_ttl
        self._clock = clock

    def issue(
        self,
        session: Session,
        *,
        client_id: str,
        grant: GrantSession,
        subject: str,
        access_token: str | None,
        with_nonce: bool,
        ttl: int | None = None,
        alg: str = "",
    ) -> str:
        """``subject``: the ``sub`` this client sees (``token_sets.client_subject``; a
        pairwise identifier for a pairwise client), not necessarily ``grant.subject``.
        ``alg``: the client's ``id_token_signed_response_alg`` (empty: RS256, OIDC
        Registration §2's default); the newest key of that algorithm signs."""
        key = self._keys.signing_key_made_if_missing(session, ID_TOKEN_SET, alg or DEFAULT_ALG)
        now = self._clock.now()
        claims: dict[str, Any] = {
            **grant.id_token_claims,  # reserved names were removed when consent was accepted
            "iss": self._issuer,
            "sub": subject,
            "aud": [client_id],
            "iat": now,
            "exp": now + (ttl or self._default_ttl),
            "jti": str(uuid.uuid4()),
        }
        if grant.auth_time is not None:
            claims["auth_time"] = grant.auth_time
        if grant.requested_at is not None:
            claims["rat"] = grant.requested_at
        if with_nonce and grant.nonce:
            claims["nonce"] = grant.nonce
        if grant.acr:
            claims["acr"] = grant.acr
        if grant.amr:
            claims["amr"] = list(grant.amr)
        if grant.sid:
            claims["sid"] = grant.sid
        if access_token:
            at_hash = create_half_hash(access_token, key.alg)
            if at_hash is not None:
                claims["at_hash"] = at_hash.decode("ascii")
        header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key.private, algorithms=[key.alg])

    def verify_hint(self, session: Session, token: str) -> dict[str, Any] | None:
        """Claims of an ID token we issued (signature and issuer checked; an expired hint is
        still a valid hint, OIDC Core §3.1.2.1). None if it is not ours."""
        for max_age in (None, 1.0):
            keyset = self._keys.verification_keyset(session, ID_TOKEN_SET, max_age)
            try:
                claims = jwt.decode(token, keyset, algorithms=SIGNING_ALGORITHMS).claims
            except (JoseError, ValueError, KeyError, TypeError):
                continue
            if claims.get("iss") != self._issuer or not isinstance(claims.get("sub"), str):
                return None
            return claims
        return None
