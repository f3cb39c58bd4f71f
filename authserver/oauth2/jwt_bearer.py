"""RFC 7523 §2.1: a JWT from a trusted issuer exchanged for an access token (Hydra's
``urn:ietf:params:oauth:grant-type:jwt-bearer``).

The issuer is trusted through the admin API (``/admin/trust/grants/jwt-bearer/issuers``):
one public key, one subject or any, a set of scopes, an expiry. The assertion is checked
by ``oauth2.assertions`` (signature, ``aud``, ``exp`` within ``OAUTH2_GRANT_JWT_MAX_TTL``,
``iat`` unless ``OAUTH2_GRANT_JWT_IAT_OPTIONAL``, a single-use ``jti`` unless
``OAUTH2_GRANT_JWT_JTI_OPTIONAL``); the scope asked for must be within both the trust
relationship's and the client's. Every refusal of the assertion is ``invalid_grant``
(RFC 7523 §3.1). The token is an access token for the assertion's subject; no refresh
token (the client can present a fresh assertion), as Hydra.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    grants,
)

from authserver.domain.client_keys import ASYMMETRIC_ALGORITHMS, parse_public_jwks
from authserver.domain.clients import JWT_BEARER_GRANT
from authserver.domain.grants_allowed import scopes_not_allowed
from authserver.domain.text import safe_description
from authserver.domain.trust import TrustedIssuer
from authserver.oauth2 import client_auth
from authserver.oauth2.assertions import (
    AssertionRefused,
    AssertionRules,
    UnverifiedAssertion,
    audiences_for,
    check_claims,
    read_unverified,
    record_jti,
    verify_signature,
)
from authserver.oauth2.audiences import allowed_audience
from authserver.oauth2.client_credentials import TOKEN_PATH
from authserver.storage.trust import JtiRepository, TrustedIssuerRepository

log = logging.getLogger(__name__)


class JwtBearerGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    GRANT_TYPE = JWT_BEARER_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ALL_METHODS

    def validate_token_request(self):
        client = client_auth.client_for_grant(self)
        raw = self.request.payload.data.get("assertion")
        if not raw:
            raise InvalidRequestError(
                "The 'assertion' parameter is missing (RFC 7523 section 2.1)."
            )
        try:
            assertion = read_unverified(raw)
            now = self.server.services.clock.now()
            trusted = trusted_signer(self.request.db, now, assertion, self._rules())
            expires_at = check_claims(assertion, self._rules(), self.server.services.clock.now())
        except AssertionRefused as exc:
            raise InvalidGrantError(safe_description(str(exc))) from None
        scope = (self.request.payload.scope or "").split()
        self._check_scope(client.client, trusted, scope)
        audience = allowed_audience(client.client, self.request.payload)
        try:
            record_jti(
                JtiRepository(self.request.db).use_once,
                assertion,
                self._rules(),
                trusted.issuer,
                expires_at,
            )
        except AssertionRefused as exc:
            raise InvalidGrantError(safe_description(str(exc))) from None
        self.request.subject = assertion.claim("sub")
        self.request.granted_scope = " ".join(dict.fromkeys(scope))
        self.request.granted_audience = audience

    def _rules(self) -> AssertionRules:
        settings = self.server.services.settings
        token_url = settings.public_url.rstrip("/") + "/oauth2/token"
        return AssertionRules(
            purpose="jwt_bearer",
            audiences=audiences_for(settings.issuer, token_url),
            algorithms=ASYMMETRIC_ALGORITHMS,
            max_lifetime=settings.jwt_grant_max_ttl,
            jti_required=not settings.jwt_grant_jti_optional,
            iat_required=not settings.jwt_grant_iat_optional,
        )

    @staticmethod
    def _check_scope(client, trusted: TrustedIssuer, scope: list[str]) -> None:
        beyond_trust = [item for item in scope if item not in trusted.scope]
        if beyond_trust:
            raise InvalidScopeError(
                safe_description(
                    f"The trust relationship does not allow scope '{' '.join(beyond_trust)}'."
                )
            )
        not_allowed = scopes_not_allowed(client, scope)
        if not_allowed:
            raise InvalidScopeError(
                safe_description(
                    f"The client is not allowed to request scope '{' '.join(not_allowed)}'."
                )
            )

    def create_token_response(self):
        client = self.request.client.client
        jkt = self.server.services.dpop.key_for(self.request, TOKEN_PATH, client)
        issued = self.server.services.access_tokens.issue(
            self.request.db,
            client=client,
            subject=self.request.subject,
            scope=self.request.granted_scope,
            audience=self.request.granted_audience,
            ttl=client.lifespan("jwt_bearer_grant_access_token_lifespan"),
            dpop_jkt=jkt,
        )
        log.info("issued a jwt-bearer access token to client %s", client.client_id)
        return 200, issued.to_response(), self.TOKEN_RESPONSE_HEADER


def trusted_signer(
    session, now: int, assertion: UnverifiedAssertion, rules: AssertionRules
) -> TrustedIssuer:
    """The unexpired trust relationship (``/admin/trust/grants/jwt-bearer/issuers``) whose
    key signed the assertion, for its issuer and subject (also used by token exchange)."""
    issuer, subject = assertion.claim("iss"), assertion.claim("sub")
    if not issuer or not subject:
        raise AssertionRefused("The assertion must name its issuer (iss) and subject (sub).")
    moment = datetime.fromtimestamp(now, UTC)
    candidates = [
        trusted
        for trusted in TrustedIssuerRepository(session).for_assertion(issuer, subject, moment)
        if assertion.kid is None or trusted.key_id == assertion.kid
    ]
    if not candidates:
        raise AssertionRefused(
            "No unexpired trust relationship covers this issuer, subject and key id."
        )
    for trusted in candidates:
        (key,) = parse_public_jwks({"keys": [trusted.public_key]}).keys
        try:
            verify_signature(assertion, [key], rules)
        except AssertionRefused:
            continue
        return trusted
    raise AssertionRefused("The assertion's signature does not verify with a trusted key.")
