"""RFC 7009 token revocation. Revoking a token revokes its whole grant (every token that
shares its request id), as Hydra does: a leaked token's siblings are no safer than it."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError, UnauthorizedClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from authserver.storage.repositories import AccessTokenRepository
from authserver.web.transaction import db_session


class _RevocableToken:
    def __init__(self, record):
        self.record = record

    def check_client(self, client) -> bool:
        return self.record.client_id == client.get_client_id()


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def check_params(self, request, client):
        # RFC 7009 §2.1: an unknown token_type_hint may be ignored, and it is.
        if not request.form.get("token"):
            raise InvalidRequestError("The 'token' parameter is missing.")

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token and not token.check_client(client):
            raise UnauthorizedClientError("The token was not issued to this client.")
        return token

    def query_token(self, token_string, token_type_hint):
        # The hint is only a hint (RFC 7009 §2.1): the token's own prefix decides its kind.
        record = self.server.services.access_tokens.lookup(db_session(), token_string)
        return _RevocableToken(record) if record else None

    def revoke_token(self, token, request):
        AccessTokenRepository(db_session()).deactivate_request(token.record.request_id)
