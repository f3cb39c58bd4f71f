"""Issuing and reading access tokens, opaque or JWT (RFC 9068).

Both formats are recorded the same way: a row keyed by SHA-256 of the token's signature
part, which makes revocation and introspection identical for the two.
"""

from __future__ import annotations

import uuid
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from authserver.domain.access_tokens import AccessTokenRecord, IssuedAccessToken
from authserver.domain.clients import Client
from authserver.domain.clock import Clock
from authserver.domain.tokens import OpaqueTokenCodec, TokenKind, signature_digest
from authserver.oauth2.keys import ACCESS_TOKEN_SET, SIGNING_ALGORITHMS, KeyManager
from authserver.storage.repositories import AccessTokenRepository

_JWT_SHAPE_DOTS = 2


class AccessTokens:
    def __init__(
        self,
        codec: OpaqueTokenCodec,
        keys: KeyManager,
        issuer: str,
        default_strategy: str,
        default_ttl: int,
        clock: Clock,
    ):
        self._codec = codec
        self._keys = keys
        self._issuer = issuer
        self._default_strategy = default_strategy
        self._default_ttl = default_ttl
        self._clock = clock

    def strategy_for(self, client: Client) -> str:
        """``opaque`` or ``jwt``: the client's own choice, else the server's."""
        return client.access_token_strategy or self._default_strategy

    def issue(
        self,
        session: Session,
        *,
        client: Client,
        subject: str,
        scope: str,
        audience: tuple[str, ...],
        request_id: str | None = None,
        ttl: int | None = None,
        extra: dict[str, Any] | None = None,
        dpop_jkt: str | None = None,
        act: dict[str, Any] | None = None,
        strategy: str | None = None,
    ) -> IssuedAccessToken:
        """Mint a token, store its record in the caller's transaction, return the response.

        ``dpop_jkt``: bind the token to that DPoP key (RFC 9449 §6: stored, and in a JWT as
        the ``cnf`` claim). ``act``: the actor of a delegated token (RFC 8693 §4.1).
        ``strategy``: the format asked for, over the client's and the server's."""
        now = self._clock.now()
        ttl = ttl or self._default_ttl
        strategy = strategy or self.strategy_for(client)
        if strategy == "jwt":
            more = {"cnf": {"jkt": dpop_jkt} if dpop_jkt else None, "act": act}
            value = self._mint_jwt(session, client, subject, scope, audience, now, ttl, extra, more)
            digest = signature_digest(value.rsplit(".", 1)[1])
        else:
            minted = self._codec.mint(TokenKind.ACCESS_TOKEN)
            value, digest = minted.value, minted.signature_digest
        AccessTokenRepository(session).add(
            AccessTokenRecord(
                signature_digest=digest,
                request_id=request_id or uuid.uuid4().hex,
                client_id=client.client_id,
                subject=subject,
                scope=scope,
                audience=audience,
                issued_at=now,
                expires_at=now + ttl,
                format=strategy,
                extra=extra or None,
                dpop_jkt=dpop_jkt,
                act=act,
            )
        )
        return IssuedAccessToken(
            access_token=value, expires_in=ttl, scope=scope, dpop_bound=dpop_jkt is not None
        )

    def lookup(self, session: Session, token: str) -> AccessTokenRecord | None:
        """The record of an authentic access token (active or not), else None."""
        digest = self.digest_of(session, token)
        if digest is None:
            return None
        return AccessTokenRepository(session).find(digest)

    def digest_of(self, session: Session, token: str) -> str | None:
        """Verify the token's signature (HMAC or JWS) and return its database key."""
        if not isinstance(token, str) or not token:
            return None
        if token.startswith(TokenKind.ACCESS_TOKEN.prefix):
            return self._codec.verify(token, TokenKind.ACCESS_TOKEN)
        if token.count(".") == _JWT_SHAPE_DOTS and len(token) < 8192:
            return self._verify_jwt(session, token)
        return None

    def _mint_jwt(
        self, session, client, subject, scope, audience, now, ttl, extra, more=None
    ) -> str:
        key = self._keys.signing_key_made_if_missing(session, ACCESS_TOKEN_SET)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "aud": list(audience),
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "scope": scope,
            "scp": scope.split(),
        }
        if extra:
            claims["ext"] = extra
        # cnf (RFC 9449 §6.1) and act (RFC 8693 §4.1), when the token has them.
        claims.update({name: value for name, value in (more or {}).items() if value})
        header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, key.private, algorithms=[key.alg])

    def _verify_jwt(self, session: Session, token: str) -> str | None:
        # A key made moments ago by another process may be missing from the cache: on
        # failure, retry once with the set re-read (at most once a second).
        for max_age in (None, 1.0):
            keyset = self._keys.verification_keyset(session, ACCESS_TOKEN_SET, max_age)
            if not keyset.keys:
                return None
            try:
                jwt.decode(token, keyset, algorithms=SIGNING_ALGORITHMS)
            except (JoseError, ValueError, KeyError, TypeError):
                continue
            return signature_digest(token.rsplit(".", 1)[1])
        return None
