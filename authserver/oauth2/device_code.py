"""RFC 8628 §3.4-3.5: the device polls the token endpoint with its device code.

What a poll answers is ``domain.device.poll``'s table (pending, slow_down, access_denied,
expired_token, invalid_grant). A pending poll is recorded (its time, and the interval,
which grows by 5 s on each slow_down). An approved code is redeemed with a compare-and-set
from approved to redeemed in the transaction that issues the tokens: of concurrent polls
exactly one gets tokens; a code presented after it was redeemed fails with
``invalid_grant`` and revokes every token of the first redemption (as for authorization
codes, RFC 6749 §4.1.2). Which tokens are issued is ``token_sets``' rule, shared with the
authorization-code grant: a refresh token with offline/offline_access, an ID token with
openid.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc8628 import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)

from authserver.domain.clients import DEVICE_CODE_GRANT
from authserver.domain.device import PollOutcome, interval_after, poll
from authserver.domain.tokens import TokenKind
from authserver.oauth2 import client_auth
from authserver.oauth2.audiences import narrowed_audience
from authserver.oauth2.client_credentials import TOKEN_PATH
from authserver.oauth2.revocation import revoke_replayed
from authserver.oauth2.token_sets import issue_token_set
from authserver.storage.device import DeviceCodeRepository

log = logging.getLogger(__name__)

_INVALID = "The device code is invalid, expired, was issued to another client, or was used."

# The refusals of the poll table: each outcome's error (the ISSUE row issues tokens).
_REFUSALS = {
    PollOutcome.INVALID_GRANT: lambda: InvalidGrantError(_INVALID),
    PollOutcome.REPLAYED: lambda: InvalidGrantError("The device code was already used."),
    PollOutcome.EXPIRED: lambda: ExpiredTokenError(
        "The device code has expired; start the device flow again."
    ),
    PollOutcome.DENIED: lambda: AccessDeniedError("The user denied the authorization request."),
    PollOutcome.SLOW_DOWN: lambda: SlowDownError(
        "The device polls faster than its interval; wait 5 seconds longer between polls."
    ),
    PollOutcome.PENDING: lambda: AuthorizationPendingError(
        "The user has not completed the authorization yet."
    ),
}


class DeviceCodeGrant(BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = DEVICE_CODE_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ALL_METHODS

    def validate_token_request(self):
        device_code = self.request.form.get("device_code")
        if not device_code:
            raise InvalidRequestError("The 'device_code' parameter is missing.")
        client = client_auth.client_for_grant(self)
        digest = self.server.services.codec.verify(device_code, TokenKind.DEVICE_CODE)
        codes = DeviceCodeRepository(self.request.db)
        record = codes.find(digest) if digest is not None else None
        now = self.server.services.clock.now()
        outcome = poll(record, client.get_client_id(), now)
        if outcome in (PollOutcome.PENDING, PollOutcome.SLOW_DOWN):
            codes.record_poll(record.signature_digest, now, interval_after(record, outcome))
        if outcome is PollOutcome.REPLAYED:
            revoke_replayed(self.request.db, record.request_id, "device code")
        if outcome is not PollOutcome.ISSUE:
            raise _REFUSALS[outcome]()
        self.request.device_code = record

    def create_token_response(self):
        record = self.request.device_code
        audience = narrowed_audience(record.session.audience, self.request.payload)  # RFC 8707
        client = self.request.client.client
        jkt = self.server.services.dpop.key_for(self.request, TOKEN_PATH, client)
        if not DeviceCodeRepository(self.request.db).redeem(record.signature_digest):
            # A concurrent poll won the compare-and-set.
            revoke_replayed(self.request.db, record.request_id, "device code")
            raise InvalidGrantError("The device code was already used.")
        response = issue_token_set(
            self.server.services,
            self.request.db,
            client=client,
            grant=replace(record.session, audience=audience),
            request_id=record.request_id,
            grant_type="device_authorization",
            with_nonce=False,
            refresh_grant=record.session,
            dpop_jkt=jkt,
        )
        log.info("issued tokens for a device code to client %s", record.client_id)
        return 200, response, self.TOKEN_RESPONSE_HEADER
