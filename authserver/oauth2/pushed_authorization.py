"""``POST /oauth2/par``: pushed authorization requests (RFC 9126).

The client sends its authorization request's parameters straight to the server, with
client authentication (the token endpoint's, ``client_auth``), and gets a short-lived,
single-use ``request_uri``; the browser then carries only ``client_id`` and that
reference to ``/oauth2/auth`` (see ``login_consent.AuthorizationFlow.start_pushed``).
Nothing of the request travels through the browser, where it could be read or changed,
and the client is authenticated before the user sees anything.

Every check ``/oauth2/auth`` makes runs here too (``domain.authorization``), and errors are
answered directly as JSON (§2.3), not by redirecting. They run again when the reference is
redeemed: the client may have changed in between.
"""

from __future__ import annotations

import logging

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, OAuth2Error
from sqlalchemy.exc import IntegrityError

from authserver.domain.authorization import (
    AuthorizationError,
    AuthorizationRequest,
    validate_authorization_request,
)
from authserver.domain.pushed_requests import PushedRequest, new_request_uri
from authserver.domain.text import safe_description
from authserver.oauth2 import client_auth
from authserver.oauth2.dpop import INVALID_PROOF
from authserver.oauth2.dpop_binding import DpopProofError, header_values
from authserver.storage.pushed_requests import PushedRequestRepository

log = logging.getLogger(__name__)

PAR_PATH = "/oauth2/par"

# Client authentication is not part of the authorization request: never stored.
_AUTHENTICATION_PARAMETERS = frozenset(
    {"client_secret", "client_assertion", "client_assertion_type"}
)
# No-store: the answer names a (short-lived) credential for the front channel.
_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


class _AuthorizationRequestError(OAuth2Error):
    """An authorization request's error, answered as JSON (RFC 9126 §2.3)."""

    def __init__(self, error: str, description: str):
        super().__init__(safe_description(description))
        self.error = error


class PushedAuthorizationEndpoint:
    ENDPOINT_NAME = "pushed_authorization_request"
    CLIENT_AUTH_METHODS = client_auth.ALL_METHODS

    def __init__(self, server):
        self.server = server

    def create_endpoint_request(self, request):
        return self.server.create_oauth2_request(request)

    def __call__(self, request):
        client = self.server.authenticate_client(
            request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME
        ).client
        parameters = authorization_parameters(request.payload.datalist, client.client_id)
        self._bind_to_proof(request, client, parameters)
        validated = self._validate(parameters, client)
        self._check_id_token_hint(request, validated)
        return 201, self._store(request, client.client_id, parameters), _HEADERS

    def _bind_to_proof(self, request, client, parameters: dict[str, list[str]]) -> None:
        """RFC 9449 §10.1: a DPoP proof at PAR binds the code to its key, as ``dpop_jkt``
        would; when both are sent they must name the same key."""
        if not header_values(request.headers):
            return
        jkt = self.server.services.dpop.key_for(request, PAR_PATH, client)
        if parameters.get("dpop_jkt", [jkt]) != [jkt]:
            raise DpopProofError(INVALID_PROOF, "dpop_jkt does not name the key of the DPoP proof.")
        parameters["dpop_jkt"] = [jkt]

    def _validate(self, parameters, client) -> AuthorizationRequest:
        settings = self.server.services.settings
        try:
            return validate_authorization_request(
                parameters,
                client,
                pkce_enforced=settings.pkce_enforced,
                pkce_enforced_for_public_clients=settings.pkce_enforced_for_public_clients,
                pushed=True,
            )
        except AuthorizationError as exc:
            raise _AuthorizationRequestError(exc.error, exc.description) from None

    def _check_id_token_hint(self, request, validated: AuthorizationRequest) -> None:
        hint = validated.id_token_hint
        if hint and self.server.services.id_tokens.verify_hint(request.db, hint) is None:
            raise InvalidRequestError("The id_token_hint is not an ID token issued here.")

    def _store(self, request, client_id: str, parameters: dict[str, list[str]]) -> dict:
        services = self.server.services
        ttl = services.settings.par_ttl
        request_uri, digest = new_request_uri()
        pushed = PushedRequest(digest, client_id, parameters, services.clock.now() + ttl)
        try:
            with request.db.begin_nested():
                PushedRequestRepository(request.db).add(pushed)
        except IntegrityError:
            # Cached here, deleted by another process since (the row's foreign key).
            services.clients.forget(client_id)
            raise InvalidClientError(status_code=401) from None
        log.info("stored a pushed authorization request of client %s", client_id)
        return {"request_uri": request_uri, "expires_in": ttl}


def authorization_parameters(datalist, client_id: str) -> dict[str, list[str]]:
    """The pushed parameters without client authentication; a ``client_id`` in the body
    must name the authenticated client (RFC 9126 §2.1)."""
    parameters = {
        name: list(values)
        for name, values in datalist.items()
        if name not in _AUTHENTICATION_PARAMETERS
    }
    named = parameters.get("client_id") or [client_id]
    if named != [client_id]:
        raise InvalidRequestError("The client_id parameter does not name the authenticated client.")
    parameters["client_id"] = [client_id]
    return parameters
