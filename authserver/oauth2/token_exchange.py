"""RFC 8693 token exchange at the token endpoint: a token (and optionally an actor's) in,
an access token for another audience, a narrower scope, or a delegation out.

The policy (who may exchange what) is ``domain.token_exchange``'s; this module verifies
the presented tokens, one reader per kind:

* ``access_token``: an active access token of ours (opaque or JWT);
* ``jwt``: a JWT access token or ID token of ours, else a JWT from a trusted issuer;
* ``id_token``: an ID token of ours, else a JWT from a trusted issuer.

A trusted issuer's JWT is checked as the JWT bearer grant checks its assertions
(signature with the trusted key, ``aud`` naming this server, ``exp`` within
``OAUTH2_GRANT_JWT_MAX_TTL``); a subject token is not single-use (the same user token may
be exchanged for several audiences). The answer has ``issued_token_type`` and never a
refresh token (§2.2.1: the client exchanges again). A DPoP proof binds the new token.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    InvalidScopeError,
    grants,
)

from authserver.domain.client_keys import ASYMMETRIC_ALGORITHMS
from authserver.domain.clients import TOKEN_EXCHANGE_GRANT
from authserver.domain.text import safe_description
from authserver.domain.token_exchange import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    JWT_TYPE,
    ExchangeRefused,
    PresentedToken,
    act_claim,
    check_exchange,
    check_token_types,
    granted_scope,
    lifetime,
)
from authserver.oauth2 import client_auth
from authserver.oauth2.assertions import (
    AssertionRefused,
    AssertionRules,
    audiences_for,
    check_claims,
    read_unverified,
)
from authserver.oauth2.audiences import InvalidTargetError, allowed_audience
from authserver.oauth2.client_credentials import TOKEN_PATH
from authserver.oauth2.jwt_bearer import trusted_signer

log = logging.getLogger(__name__)

_ERRORS = {
    "invalid_request": InvalidRequestError,
    "invalid_scope": InvalidScopeError,
    "invalid_target": InvalidTargetError,
}
MAX_TOKEN_LENGTH = 16 * 1024


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    GRANT_TYPE = TOKEN_EXCHANGE_GRANT
    # Exchanging someone's token is for clients that can prove who they are.
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.CONFIDENTIAL_METHODS

    def validate_token_request(self):
        client = client_auth.client_for_grant(self)
        form = self.request.payload.data
        try:
            self._validate(client.client, form)
        except ExchangeRefused as exc:
            raise _ERRORS.get(exc.error, InvalidRequestError)(safe_description(str(exc))) from None

    def _validate(self, client, form: dict[str, str]) -> None:
        subject_token = form.get("subject_token", "")
        subject_type = form.get("subject_token_type", "")
        if not subject_token or not subject_type:
            raise ExchangeRefused(
                "invalid_request", "subject_token and subject_token_type are required."
            )
        actor_token, actor_type = form.get("actor_token", ""), form.get("actor_token_type", "")
        requested = form.get("requested_token_type", "")
        check_token_types(subject_type, actor_token, actor_type, requested)
        subject = self._read(subject_token, subject_type, "subject_token")
        actor = self._read(actor_token, actor_type, "actor_token") if actor_token else None
        check_exchange(client.client_id, subject, actor)
        scope_asked = (self.request.payload.scope or "").split()
        self.request.exchange = {
            "subject": subject,
            "scope": granted_scope(scope_asked, subject.scope, client.scopes),
            "audience": allowed_audience(client, self.request.payload),
            "act": act_claim(subject, actor),
            "requested": requested or ACCESS_TOKEN_TYPE,
        }

    # -- reading the presented tokens -------------------------------------------------

    def _read(self, token: str, token_type: str, name: str) -> PresentedToken:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ExchangeRefused("invalid_request", f"The {name} is too long.")
        readers = {
            ACCESS_TOKEN_TYPE: (self._our_access_token,),
            JWT_TYPE: (self._our_access_token, self._our_id_token, self._trusted_jwt),
            ID_TOKEN_TYPE: (self._our_id_token, self._trusted_jwt),
        }[token_type]
        for reader in readers:
            presented = reader(token)
            if presented is not None:
                return presented
        raise ExchangeRefused(
            "invalid_request",
            f"The {name} is not an active token of this type issued here or by a trusted issuer.",
        )

    def _our_access_token(self, token: str) -> PresentedToken | None:
        services = self.server.services
        record = services.access_tokens.lookup(self.request.db, token)
        if record is None or not record.is_active(services.clock.now()):
            return None
        return PresentedToken(
            subject=record.subject,
            expires_at=record.expires_at,
            issuer=services.settings.issuer,
            ours=True,
            client_id=record.client_id,
            audiences=record.audience,
            scope=tuple(record.scope.split()),
            act=record.act,
            extra=record.extra,
        )

    def _our_id_token(self, token: str) -> PresentedToken | None:
        services = self.server.services
        claims = services.id_tokens.verify_hint(self.request.db, token)
        if claims is None or not _unexpired(claims, services.clock.now()):
            return None
        audiences = _audiences(claims)
        return PresentedToken(
            subject=claims["sub"],
            expires_at=claims["exp"],
            issuer=services.settings.issuer,
            ours=True,
            client_id=claims.get("azp") if isinstance(claims.get("azp"), str) else None,
            audiences=audiences,
            # An ID token says who the user is and grants nothing: tokens for it carry no
            # scope (else any holder of an ID token could mint the user's access).
            scope=(),
        )

    def _trusted_jwt(self, token: str) -> PresentedToken | None:
        now = self.server.services.clock.now()
        try:
            assertion = read_unverified(token)
            trusted = trusted_signer(self.request.db, now, assertion, self._rules())
            expires_at = check_claims(assertion, self._rules(), now)
        except AssertionRefused:
            return None
        act = assertion.claims.get("act")
        return PresentedToken(
            subject=assertion.claim("sub"),
            expires_at=expires_at,
            issuer=trusted.issuer,
            ours=False,
            scope=trusted.scope,  # the trust relationship's, as for the JWT bearer grant
            act=act if isinstance(act, dict) else None,
        )

    def _rules(self) -> AssertionRules:
        settings = self.server.services.settings
        return AssertionRules(
            purpose="token_exchange",
            audiences=audiences_for(settings.issuer, settings.public_url.rstrip("/") + TOKEN_PATH),
            algorithms=ASYMMETRIC_ALGORITHMS,
            max_lifetime=settings.jwt_grant_max_ttl,
            jti_required=False,
            iat_required=False,
        )

    # -- the answer -------------------------------------------------------------------

    def create_token_response(self):
        services = self.server.services
        client = self.request.client.client
        exchange: dict[str, Any] = self.request.exchange
        subject: PresentedToken = exchange["subject"]
        jkt = services.dpop.key_for(self.request, TOKEN_PATH, client)
        try:
            ttl = lifetime(services.settings.access_token_ttl, subject, services.clock.now())
        except ExchangeRefused as exc:
            raise InvalidRequestError(str(exc)) from None
        issued = services.access_tokens.issue(
            self.request.db,
            client=client,
            subject=subject.subject,
            scope=" ".join(exchange["scope"]),
            audience=exchange["audience"],
            # A grant of its own: revoking this token (which its client may do) must not
            # revoke the subject token's grant, another client's. It cannot outlive the
            # subject token (``lifetime``).
            ttl=ttl,
            extra=subject.extra,
            dpop_jkt=jkt,
            act=exchange["act"],
            strategy="jwt" if exchange["requested"] == JWT_TYPE else None,
        )
        body = issued.to_response()
        body["issued_token_type"] = exchange["requested"]
        log.info("exchanged a token for client %s", client.client_id)
        return 200, body, self.TOKEN_RESPONSE_HEADER


def _unexpired(claims: dict, now: int) -> bool:
    exp = claims.get("exp")
    return isinstance(exp, int) and not isinstance(exp, bool) and exp > now


def _audiences(claims: dict) -> tuple[str, ...]:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return tuple(item for item in values if isinstance(item, str))
