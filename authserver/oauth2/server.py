"""The Authlib authorization server, wired to our storage and token formats.

The way in (a Flask view or the hot path) passes the request's database handle
(``storage.handles.SessionHandle``) with the request; grants and endpoints read it as
``request.db``. Nothing here looks the session up from a context."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2 import AuthorizationServer as CoreAuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from flask import request as flask_request

from authserver.domain.client_keys import ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS
from authserver.domain.text import COMPACT_SEPARATORS, safe_description
from authserver.oauth2 import client_auth
from authserver.oauth2.assertions import AssertionRules, audiences_for
from authserver.oauth2.authorization_code import AuthorizationCodeGrant, S256CodeChallenge
from authserver.oauth2.client_credentials import ClientCredentialsGrant
from authserver.oauth2.client_documents import ClientDocumentError
from authserver.oauth2.client_model import AuthlibClient
from authserver.oauth2.device_authorization import DeviceAuthorizationEndpoint
from authserver.oauth2.device_code import DeviceCodeGrant
from authserver.oauth2.jwt_bearer import JwtBearerGrant
from authserver.oauth2.pushed_authorization import PushedAuthorizationEndpoint
from authserver.oauth2.refresh_token import RefreshTokenGrant
from authserver.oauth2.revocation import RevocationEndpoint
from authserver.oauth2.token_exchange import TokenExchangeGrant
from authserver.storage.repositories import ClientRepository
from authserver.storage.trust import JtiRepository

if TYPE_CHECKING:
    from authserver.services import Services
    from authserver.storage.handles import SessionHandle


class _WithDatabase:
    """The request's database handle, opened by the first grant that needs it."""

    _database: SessionHandle

    @property
    def db(self):
        return self._database.get()


class _TransportCheckedRequest(_WithDatabase, FlaskOAuth2Request):
    """Authlib refuses plain-http URLs unless a process-wide environment variable is set.
    Our apps check transport security themselves (``web.transport``: --dev, loopback, and
    trusted TLS-terminating proxies), so the URL handed to Authlib is marked as secure."""

    def __init__(self, request, database: SessionHandle):
        # Authlib uses the URI only for that scheme check, so skip building the full URL
        # (and never parse the client's Host header: "[::1" alone is a ValueError).
        uri = "https://authserver" + request.path
        OAuth2Request.__init__(self, method=request.method, uri=uri, headers=request.headers)
        self._request = request
        self._database = database
        self.payload = FlaskOAuth2Payload(request)


# The URL of each endpoint that authenticates clients: an assertion's aud may name it.
_ENDPOINT_PATHS = {
    "token": "/oauth2/token",
    "revocation": "/oauth2/revoke",
    "device_authorization": "/oauth2/device/auth",
    "pushed_authorization_request": "/oauth2/par",
}
# How far ahead a client assertion's exp may be (OIDC Core §9 asks for short-lived ones).
MAX_CLIENT_ASSERTION_LIFETIME = 3600


class _OurClients:
    """Client lookup and authentication shared by both servers below (it is also the
    ``client_auth.AssertionChecks`` that client assertions are checked with)."""

    services: Services

    def find_client(self, session, client_id: str) -> AuthlibClient | None:
        try:
            stored = self.services.client_finder.find(session, client_id)
        except ClientDocumentError as exc:
            raise InvalidClientError(description=exc.description, status_code=401) from None
        if stored is None:
            return None
        return AuthlibClient(stored, self.services.secret_hasher, self.services.secrets)

    def query_client(self, client_id: str):
        # Authlib calls this only from code paths we replace (its client authentication,
        # its authorization endpoint); ours look clients up in the request's session.
        raise NotImplementedError("clients are found with find_client(request.db, ...)")

    def save_token(self, token, request):  # tokens are stored by AccessTokens.issue
        raise NotImplementedError

    def handle_error_response(self, request, error):
        # Some of Authlib's errors carry no description; every error of ours has one.
        if isinstance(error, UnsupportedGrantTypeError):
            supported = [grant.GRANT_TYPE for grant, _ in self._token_grants]
            error.description = unsupported_grant_type(error.grant_type, supported)
        elif not error.description:
            error.description = safe_description(_describe(error))
        return super().handle_error_response(request, error)

    def authenticate_client(self, request, methods, endpoint="token"):
        # One method per request, decoded strictly (see ``client_auth``), not Authlib's
        # method-after-method fallback.
        def find(client_id: str) -> AuthlibClient | None:
            return self.find_client(request.db, client_id)

        client = client_auth.authenticate(find, request, methods, endpoint, self)
        if client.stored.registered and client.stored.first_used_at is None:
            # A registered client that never got this far is one the janitor may remove.
            ClientRepository(request.db).mark_used(client.client_id, self.services.clock.now())
        return client

    def rules(self, method: str, endpoint: str) -> AssertionRules:
        settings = self.services.settings
        base = settings.public_url.rstrip("/")
        urls = {base + "/oauth2/token", base + _ENDPOINT_PATHS.get(endpoint, "/oauth2/token")}
        return AssertionRules(
            purpose="client_assertion",
            audiences=audiences_for(settings.issuer, *urls),
            algorithms=SYMMETRIC_ALGORITHMS
            if method == "client_secret_jwt"
            else ASYMMETRIC_ALGORITHMS,
            max_lifetime=MAX_CLIENT_ASSERTION_LIFETIME,
        )

    def public_keys(self, client, kid: str | None) -> list:
        return self.services.client_keys.keys(client, kid)

    def use_once(self, request):
        return JtiRepository(request.db).use_once

    def now(self) -> int:
        return self.services.clock.now()


# RFC 6749 §5.2's meanings, for the errors Authlib raises without a description.
_DESCRIPTIONS = {
    "invalid_request": "The request is missing a parameter, or is otherwise malformed.",
    "invalid_client": "Client authentication failed.",
    "invalid_grant": (
        "The authorization code, device code or refresh token is invalid, expired, revoked, "
        "or was issued to another client."
    ),
    "unauthorized_client": "The client may not use this grant type.",
    "invalid_scope": "The requested scope is invalid, unknown or not allowed.",
    "unsupported_token_type": "This token type cannot be revoked here.",
}


MAX_SHOWN_GRANT_TYPE = 60


def unsupported_grant_type(asked: str | None, supported: list[str]) -> str:
    """Names the grant type asked for (cleaned and shortened: it is the client's input)
    and the ones this server has."""
    shown = (asked or "")[:MAX_SHOWN_GRANT_TYPE]
    if len(asked or "") > MAX_SHOWN_GRANT_TYPE:
        shown += "..."
    return safe_description(
        f"The grant type '{shown}' is not supported; use {client_auth.listed(supported)}."
    )


def compact(body: dict) -> str:
    """Authlib's answers as compact JSON, as every other answer of the server."""
    return json.dumps(body, separators=COMPACT_SEPARATORS)


def _describe(error) -> str:
    specific = getattr(error, "get_error_description", None)
    text = specific() if specific is not None else ""
    return text or _DESCRIPTIONS.get(error.error, "The request was refused.")


class AuthorizationServer(_OurClients, FlaskAuthorizationServer):
    """Every grant and the revocation endpoint, inside the Flask app. The view passes the
    request's database handle where Authlib takes a request:
    ``create_token_response(handle)``, ``create_endpoint_response("revocation", handle)``."""

    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(DeviceCodeGrant)
        self.register_grant(JwtBearerGrant)
        self.register_grant(TokenExchangeGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(DeviceAuthorizationEndpoint)
        self.register_endpoint(PushedAuthorizationEndpoint)

    def create_oauth2_request(self, database: SessionHandle):
        return _TransportCheckedRequest(flask_request, database)

    def handle_response(self, status_code, payload, headers):
        if isinstance(payload, dict):
            payload = compact(payload)
        return super().handle_response(status_code, payload, headers)


class FormPayload(OAuth2Payload):
    """Form parameters already parsed by the hot path (first values, and every value)."""

    def __init__(self, first: dict[str, str], lists: dict[str, list[str]]):
        self._first = first
        self._lists = lists

    @property
    def data(self) -> dict[str, str]:
        return self._first

    @property
    def datalist(self) -> defaultdict[str, list]:
        return defaultdict(list, self._lists)


class _HotRequest(_WithDatabase, OAuth2Request):
    """Authlib's request with the form the hot path parsed (Authlib reads ``form`` for
    client_secret_post; there is never a query string on this path)."""

    def __init__(self, headers: dict[str, str], payload: FormPayload, database: SessionHandle):
        # The transport was checked by the hot path; Authlib only looks at the scheme.
        super().__init__("POST", "https://hot-path/oauth2/token", headers=headers)
        self.payload = payload
        self._database = database

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


class ClientCredentialsServer(_OurClients, CoreAuthorizationServer):
    """The client-credentials grant alone, for the token endpoint's hot path
    (``web.hotpath``): Authlib's framework-independent server, no Flask request."""

    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        self.register_grant(ClientCredentialsGrant)

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # built by oauth2_request() below

    @staticmethod
    def oauth2_request(
        environ, first: dict[str, str], lists: dict[str, list[str]], database: SessionHandle
    ):
        headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", "")}
        if "HTTP_DPOP" in environ:  # RFC 9449: the proof of a DPoP-bound token request
            headers["DPoP"] = environ["HTTP_DPOP"]
        return _HotRequest(headers, FormPayload(first, lists), database)

    def handle_response(self, status, body, headers):
        return status, body, headers  # the hot path encodes the body, compact too

    def send_signal(self, name, *args, **kwargs):
        pass  # nobody subscribes (the Flask server's blinker signals are unused too)
