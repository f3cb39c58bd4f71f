"""Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): what the server POSTs to a
client's ``backchannel_logout_uri`` when a login session the client took part in ends.

A logout token is a JWT signed like an ID token (the ``hydra.openid.id-token`` set, so a
client verifies it with the keys it already trusts), but made so that it can never pass
for one: header ``typ: logout+jwt`` (§2.4, RFC 8417's explicit typing), no ``nonce``
(§2.4 forbids it: a client that mixes the two up refuses it), and an ``events`` claim with
the back-channel-logout event. It names the user (``sub``, the one this client sees) and/or
the session (``sid``); a client with ``backchannel_logout_session_required`` gets ``sid``
always. It is short-lived (``exp`` two minutes ahead) and has a ``jti`` the client may use
to refuse a replay (§2.6).
"""

from __future__ import annotations

import uuid
from typing import Any

from joserfc import jwt
from sqlalchemy.orm import Session

from authserver.domain.clock import Clock
from authserver.oauth2.keys import ID_TOKEN_SET, KeyManager

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
LOGOUT_TOKEN_TTL = 120


class LogoutTokens:
    def __init__(self, keys: KeyManager, issuer: str, clock: Clock):
        self._keys = keys
        self._issuer = issuer
        self._clock = clock

    def issue(
        self, session: Session, *, client_id: str, subject: str, sid: str, alg: str = ""
    ) -> str:
        """``subject``: the ``sub`` this client sees; ``sid``: the session's id, as in the
        client's ID tokens. Either may be empty, not both (§2.4). ``alg``: the client's
        ID-token algorithm, whose key signed its ID tokens (§2.4: the same keys)."""
        if not subject and not sid:
            raise ValueError("a logout token names a subject, a session, or both")
        # The client's ID tokens made that key; a read-only caller makes none.
        key = self._keys.signing_key(session, ID_TOKEN_SET, alg or "RS256") or (
            self._keys.signing_key_made_if_missing(session, ID_TOKEN_SET)
        )
        now = self._clock.now()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": [client_id],
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": str(uuid.uuid4()),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        if subject:
            claims["sub"] = subject
        if sid:
            claims["sid"] = sid
        header = {"alg": key.alg, "kid": key.kid, "typ": LOGOUT_TOKEN_TYPE}
        return jwt.encode(header, claims, key.private, algorithms=[key.alg])
