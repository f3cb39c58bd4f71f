"""RFC 7009 token revocation. Revoking a token revokes its whole grant (every access and
refresh token that shares its request id), as Hydra does: a leaked token's siblings are no
safer than it."""

from __future__ import annotations

import logging

from authlib.oauth2.rfc6749 import InvalidRequestError, UnauthorizedClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from sqlalchemy.orm import Session

from authserver.domain.tokens import TokenKind
from authserver.metrics import metrics
from authserver.oauth2 import client_auth
from authserver.storage.grants import AuthorizationCodeRepository, RefreshTokenRepository
from authserver.storage.repositories import AccessTokenRepository


def revoke_replayed(session: Session, request_id: str, what: str) -> None:
    """A code redeemed twice (RFC 6749 §4.1.2; RFC 8628 device codes alike): revoke what
    its first redemption issued."""
    logging.getLogger(__name__).warning("%s replayed: revoking the tokens of its grant", what)
    metrics().replay(what.replace(" ", "_") + "_replay")
    revoke_grant(session, request_id)


def revoke_grant(session: Session, request_id: str) -> None:
    """Every token of the grant, and its authorization code if it was not redeemed yet
    (a consent revoked between the consent and the code exchange must not yield tokens)."""
    AccessTokenRepository(session).deactivate_request(request_id)
    RefreshTokenRepository(session).deactivate_request(request_id)
    AuthorizationCodeRepository(session).consume_request(request_id)


class _RevocableToken:
    def __init__(self, client_id: str, request_id: str):
        self.client_id = client_id
        self.request_id = request_id

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()


def find_revocable(services, session: Session, token: str) -> _RevocableToken | None:
    """The grant of an access or refresh token we issued (its prefix tells which)."""
    if TokenKind.of(token) is TokenKind.REFRESH_TOKEN:
        digest = services.codec.verify(token, TokenKind.REFRESH_TOKEN)
        record = RefreshTokenRepository(session).find(digest) if digest else None
    else:
        record = services.access_tokens.lookup(session, token)
    return _RevocableToken(record.client_id, record.request_id) if record else None


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = client_auth.ALL_METHODS

    def check_params(self, request, client):
        # RFC 7009 §2.1: an unknown token_type_hint may be ignored, and it is.
        if not request.form.get("token"):
            raise InvalidRequestError("The 'token' parameter is missing.")

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        # The hint is only a hint (RFC 7009 §2.1): the token's own prefix decides its kind.
        token = find_revocable(self.server.services, request.db, request.form["token"])
        if token and not token.check_client(client):
            raise UnauthorizedClientError("The token was not issued to this client.")
        return token

    def query_token(self, token_string, token_type_hint):
        # Authlib's authenticate_token calls this; ours (above) reads the request's session.
        raise NotImplementedError("tokens are found with find_revocable(request.db, ...)")

    def revoke_token(self, token, request):
        revoke_grant(request.db, token.request_id)
