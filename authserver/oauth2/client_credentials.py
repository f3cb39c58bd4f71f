"""RFC 6749 §4.4 client credentials grant, with Hydra's scope and audience rules."""

from __future__ import annotations

import logging

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidScopeError, grants
from sqlalchemy.exc import IntegrityError

from authserver.domain.grants_allowed import scopes_not_allowed
from authserver.domain.text import safe_description
from authserver.oauth2 import client_auth
from authserver.oauth2.audiences import allowed_audience

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/token"  # the htu of DPoP proofs sent to the token endpoint


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.CONFIDENTIAL_METHODS

    def validate_token_request(self):
        super().validate_token_request()  # authenticates the client, checks the grant type
        client = self.request.client.client
        scope = self.request.payload.scope or ""
        not_allowed = scopes_not_allowed(client, scope.split())
        if not_allowed:
            raise InvalidScopeError(
                safe_description(
                    f"The client is not allowed to request scope '{' '.join(not_allowed)}'."
                )
            )
        audience = allowed_audience(client, self.request.payload)
        self.request.granted_scope = " ".join(scope.split())
        self.request.granted_audience = audience
        self.request.dpop_jkt = self.server.services.dpop.key_for(self.request, TOKEN_PATH, client)

    def create_token_response(self):
        services = self.server.services
        client = self.request.client.client
        try:
            issued = services.access_tokens.issue(
                self.request.db,
                client=client,
                subject=client.client_id,
                scope=self.request.granted_scope,
                audience=self.request.granted_audience,
                ttl=client.lifespan("client_credentials_grant_access_token_lifespan"),
                dpop_jkt=self.request.dpop_jkt,
            )
        except IntegrityError:
            # The client was cached here but another process has deleted it since (the
            # token row's foreign key refuses it): it no longer exists.
            services.clients.forget(client.client_id)
            raise InvalidClientError(status_code=401) from None
        log.info("issued a client_credentials access token to client %s", client.client_id)
        return 200, issued.to_response(), self.TOKEN_RESPONSE_HEADER
