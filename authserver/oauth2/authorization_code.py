"""RFC 6749 §4.1.3 (token request of the authorization code grant) with RFC 7636 PKCE.

Authlib checks the client, the code's binding to client and redirect_uri, and the PKCE
verifier; the hooks below read codes by signature digest. The code is consumed only
after every check passed, in the transaction that issues the tokens: a request with the
right code and a wrong ``code_verifier`` or ``redirect_uri`` fails without burning the
code, so whoever stole a code cannot deny the user's login with it. (Hydra burns the
code on any failed redemption.) Consuming is an atomic compare-and-set: of concurrent
redemptions exactly one wins. A code presented again after it was used (or by a loser
of the race) fails with ``invalid_grant`` and revokes every token the first redemption
issued (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from dataclasses import replace

from authlib.oauth2.rfc6749 import InvalidGrantError, grants
from authlib.oauth2.rfc7636 import CodeChallenge

from authserver.domain.tokens import TokenKind
from authserver.oauth2 import client_auth
from authserver.oauth2.audiences import narrowed_audience
from authserver.oauth2.client_credentials import TOKEN_PATH
from authserver.oauth2.revocation import revoke_replayed
from authserver.oauth2.token_sets import issue_token_set
from authserver.storage.grants import AuthorizationCodeRepository


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only. (The authorization endpoint already refused ``plain`` and a
    missing method; this is the token-side check of RFC 7636 §4.6.)"""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class _Code:
    """Authlib's view of a stored code."""

    def __init__(self, record):
        self.record = record
        self.code_challenge = record.code_challenge or None
        self.code_challenge_method = record.code_challenge_method or None

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.session.scope_string


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ALL_METHODS

    def query_authorization_code(self, code: str, client):
        services = self.server.services
        digest = services.codec.verify(code, TokenKind.AUTHORIZATION_CODE)
        if digest is None:
            return None
        codes = AuthorizationCodeRepository(self.request.db)
        record = codes.find(digest)
        if record is None or record.client_id != client.get_client_id():
            return None
        if record.used:
            revoke_replayed(self.request.db, record.request_id, "authorization code")
            return None
        if record.is_expired(services.clock.now()):
            return None
        return _Code(record)

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: the code is consumed in ``create_token_response``."""

    def authenticate_user(self, authorization_code):
        return authorization_code.record.session

    def create_token_response(self):
        code = self.request.authorization_code.record
        # RFC 8707 §2.2: checked before the code is used up, so a bad resource costs nothing.
        audience = narrowed_audience(code.session.audience, self.request.payload)
        client = self.request.client.client
        jkt = self.server.services.dpop.key_for(self.request, TOKEN_PATH, client, code.dpop_jkt)
        if not AuthorizationCodeRepository(self.request.db).consume(code.signature_digest):
            # A concurrent redemption won the compare-and-set.
            revoke_replayed(self.request.db, code.request_id, "authorization code")
            raise InvalidGrantError("The authorization code was already used.")
        response = issue_token_set(
            self.server.services,
            self.request.db,
            client=client,
            grant=replace(code.session, audience=audience),
            request_id=code.request_id,
            grant_type="authorization_code",
            with_nonce=True,
            refresh_grant=code.session,
            dpop_jkt=jkt,
        )
        return 200, response, self.TOKEN_RESPONSE_HEADER
