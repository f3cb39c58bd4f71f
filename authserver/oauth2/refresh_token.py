"""RFC 6749 §6 refresh token grant with rotation and reuse detection.

Every refresh deactivates the presented token and issues a new one in the same grant. A
refresh token presented again after it was rotated (or revoked) is a sign of theft: the
request fails with ``invalid_grant`` and every token of the grant is revoked. Of two
concurrent refreshes with one token, exactly one wins (an atomic compare-and-set).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from authlib.oauth2.rfc6749 import InvalidScopeError, grants

from authserver.domain.tokens import TokenKind
from authserver.metrics import metrics
from authserver.oauth2 import client_auth
from authserver.oauth2.audiences import narrowed_audience
from authserver.oauth2.client_credentials import TOKEN_PATH
from authserver.oauth2.revocation import revoke_grant
from authserver.oauth2.token_sets import issue_token_set
from authserver.storage.grants import RefreshTokenRepository

log = logging.getLogger(__name__)


class _RefreshToken:
    def __init__(self, record):
        self.record = record

    def check_client(self, client) -> bool:
        return self.record.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.record.session.scope_string


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str):
        services = self.server.services
        digest = services.codec.verify(refresh_token, TokenKind.REFRESH_TOKEN)
        if digest is None:
            return None
        tokens = RefreshTokenRepository(self.request.db)
        record = tokens.find(digest)
        if record is None or record.client_id != self.request.client.get_client_id():
            return None
        if record.is_expired(services.clock.now()):
            return None
        # Check a narrower scope before rotating, so a bad request does not cost the token.
        requested = set((self.request.payload.scope or "").split())
        if not requested <= set(record.session.scope):
            raise InvalidScopeError("The requested scope exceeds the scope originally granted.")
        # RFC 8707 §2.2: a resource names part of the grant's audience.
        self.request.granted_audience = narrowed_audience(
            record.session.audience, self.request.payload
        )
        # RFC 9449 §5: a public client's refresh token works only with its DPoP key.
        self.request.dpop_jkt = services.dpop.key_for(
            self.request, TOKEN_PATH, self.request.client.client, record.dpop_jkt
        )
        if not record.active or not tokens.consume(digest):
            log.warning("refresh token reused: revoking every token of its grant")
            metrics().replay("refresh_token_reuse")
            revoke_grant(self.request.db, record.request_id)
            return None
        return _RefreshToken(record)

    def authenticate_user(self, refresh_token):
        return refresh_token.record.session

    def revoke_old_credential(self, refresh_token):
        """Nothing to do: the token was deactivated when it was redeemed."""

    def create_token_response(self):
        record = self.request.refresh_token.record
        grant = record.session
        requested = (self.request.payload.scope or "").split()
        if requested:
            grant = grant.narrowed(tuple(scope for scope in grant.scope if scope in requested))
        grant = replace(grant, audience=self.request.granted_audience)
        response = issue_token_set(
            self.server.services,
            self.request.db,
            client=self.request.client.client,
            grant=grant,
            request_id=record.request_id,
            grant_type="refresh_token",
            with_nonce=False,
            refresh_grant=record.session,
            dpop_jkt=self.request.dpop_jkt,
        )
        return 200, response, self.TOKEN_RESPONSE_HEADER
