"""The Authlib authorization server, wired to our storage and token formats."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request
from flask import request as flask_request

from authserver.oauth2.authorization_code import AuthorizationCodeGrant, S256CodeChallenge
from authserver.oauth2.client_credentials import ClientCredentialsGrant
from authserver.oauth2.client_model import AuthlibClient
from authserver.oauth2.refresh_token import RefreshTokenGrant
from authserver.oauth2.revocation import RevocationEndpoint
from authserver.web.transaction import db_session


class _TransportCheckedRequest(FlaskOAuth2Request):
    """Authlib refuses plain-http URLs unless a process-wide environment variable is set.
    Our apps check transport security themselves (``web.transport``: --dev, loopback, and
    trusted TLS-terminating proxies), so the URL handed to Authlib is marked as secure."""

    def __init__(self, request):
        # Authlib uses the URI only for that scheme check, so skip building the full URL.
        uri = "https://" + request.environ.get("HTTP_HOST", "-") + request.path
        OAuth2Request.__init__(self, method=request.method, uri=uri, headers=request.headers)
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


class AuthorizationServer(FlaskAuthorizationServer):
    def __init__(self, services):
        super().__init__()
        self.services = services
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RevocationEndpoint)

    def query_client(self, client_id: str) -> AuthlibClient | None:
        stored = self.services.clients.find(db_session(), client_id)
        if stored is None:
            return None
        return AuthlibClient(stored.client, stored.secret_hash, self.services.secret_hasher)

    def save_token(self, token, request):  # tokens are stored by AccessTokens.issue
        raise NotImplementedError

    def authenticate_client(self, request, methods, endpoint="token"):
        try:
            return super().authenticate_client(request, methods, endpoint)
        except UnicodeDecodeError:
            # Authlib decodes HTTP Basic credentials as UTF-8 and lets a failure escape.
            raise InvalidClientError(
                status_code=401, description="The HTTP Basic credentials are not valid UTF-8."
            ) from None

    def create_oauth2_request(self, request):
        return _TransportCheckedRequest(flask_request)
