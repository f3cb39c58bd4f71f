"""``POST /oauth2/device/auth`` (RFC 8628 §3.1-3.2): a device asks for a device code and a
user code. Client authentication is the token endpoint's (``server._OurClients``), so its
errors read the same; the client must hold the device grant type, and may ask only for
scopes and audiences of its own (Hydra's rule, as for client credentials)."""

from __future__ import annotations

import logging
import uuid

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as AuthlibDeviceEndpoint
from sqlalchemy.exc import IntegrityError

from authserver.domain.clients import DEVICE_CODE_GRANT
from authserver.domain.device import DeviceCodeRecord, DeviceStatus, new_user_code
from authserver.domain.device import user_code_digest as digest_of_user_code
from authserver.domain.grants_allowed import scopes_not_allowed
from authserver.domain.text import safe_description
from authserver.domain.tokens import TokenKind
from authserver.oauth2 import client_auth
from authserver.oauth2.audiences import allowed_audience
from authserver.oauth2.login_consent import add_query
from authserver.storage.device import DeviceCodeRepository

log = logging.getLogger(__name__)

VERIFY_PATH = "/oauth2/device/verify"
# A fresh user code that happens to equal a stored one is drawn again (at most this often).
_USER_CODE_DRAWS = 5


def verification_uri(settings) -> str:
    return settings.public_url.rstrip("/") + VERIFY_PATH


class DeviceAuthorizationEndpoint(AuthlibDeviceEndpoint):
    CLIENT_AUTH_METHODS = client_auth.ALL_METHODS

    def create_endpoint_response(self, request):
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT):
            raise UnauthorizedClientError(
                f"The client is not allowed to use the grant type '{DEVICE_CODE_GRANT}'."
            )
        scope = tuple(dict.fromkeys((request.payload.scope or "").split()))
        not_allowed = scopes_not_allowed(client.client, scope)
        if not_allowed:
            raise InvalidScopeError(
                safe_description(
                    f"The client is not allowed to request scope '{' '.join(not_allowed)}'."
                )
            )
        audience = allowed_audience(client.client, request.payload)
        return (
            200,
            self._issue(request, client.client.client_id, scope, audience),
            (default_json_headers),
        )

    def _issue(self, request, client_id: str, scope, audience) -> dict:
        services = self.server.services
        settings = services.settings
        now = services.clock.now()
        minted = services.codec.mint(TokenKind.DEVICE_CODE)
        codes = DeviceCodeRepository(request.db)
        for _ in range(_USER_CODE_DRAWS):
            user_code = new_user_code(settings.device_user_code_entropy_preset)
            record = DeviceCodeRecord(
                signature_digest=minted.signature_digest,
                user_code_digest=digest_of_user_code(user_code),
                request_id=uuid.uuid4().hex,
                client_id=client_id,
                scope=scope,
                audience=audience,
                status=DeviceStatus.PENDING,
                requested_at=now,
                expires_at=now + settings.device_user_code_ttl,
                interval=settings.device_polling_interval,
            )
            if codes.by_user_code(record.user_code_digest) is not None:
                continue  # taken (an unexpired or not yet cleaned up code): draw again
            try:
                with request.db.begin_nested():
                    codes.add(record)
            except IntegrityError:
                # The client was deleted since it was cached, or a concurrent request took
                # this user code a moment ago.
                services.clients.forget(client_id)
                if services.clients.find(request.db, client_id) is None:
                    raise InvalidClientError(status_code=401) from None
                continue
            break
        else:
            raise InvalidRequestError("No free user code was found; try again.")
        uri = verification_uri(settings)
        log.info("issued a device code to client %s", client_id)
        return {
            "device_code": minted.value,
            "user_code": user_code,
            "verification_uri": uri,
            "verification_uri_complete": add_query(uri, {"user_code": user_code}),
            "expires_in": settings.device_user_code_ttl,
            "interval": settings.device_polling_interval,
        }
