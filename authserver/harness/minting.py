"""``POST /admin/harness/tokens``: real tokens for a user and client without a browser,
for API tests. They are issued, stored and signed exactly as the token endpoint does
(``oauth2.token_sets``), so introspection, revocation and JWKS checks treat them like
any other."""

from __future__ import annotations

import uuid
from typing import Any

from authlib.oauth2.base import OAuth2Error

from authserver.domain.grants_allowed import audience_not_allowed, scopes_not_allowed
from authserver.domain.sessions import GrantSession
from authserver.harness.config import seconds_of
from authserver.harness.decisions import DecisionError, check_claims, check_scopes
from authserver.harness.state import HarnessState
from authserver.oauth2.token_sets import issue_token_set

MAX_LIFETIME = 10 * 365 * 24 * 3600  # ten years: longer is a mistake in a test
_FIELDS = {"client_id", "subject", "scope", "audience", "claims", "expires_in"}


class MintError(DecisionError):
    def __init__(self, message: str, error: str = "invalid_request"):
        super().__init__(message)
        self.error = error


def mint(services, session, state: HarnessState, document: dict[str, Any]) -> dict[str, Any]:
    unknown = set(document) - _FIELDS
    if unknown:
        raise MintError(f"unknown field(s): {', '.join(sorted(unknown))}")
    client = _client(services, session, document.get("client_id"))
    subject = document.get("subject")
    user = state.user(subject) if isinstance(subject, str) else None
    if user is None:
        raise MintError(
            "subject must name a user of the harness (PUT /admin/harness/users/SUBJECT)"
        )
    scope = check_scopes(document.get("scope", ""))
    extra = scopes_not_allowed(client, scope)
    if extra:
        raise MintError(f"the client may not have the scope(s): {' '.join(extra)}", "invalid_scope")
    audience = _audience(document.get("audience", []))
    outside = audience_not_allowed(client, audience)
    if outside:
        raise MintError(f"the audience is not allowed for the client: {' '.join(outside)}")
    claims = {**user, **check_claims(document.get("claims") or {})}
    now = services.clock.now()
    grant = GrantSession(
        subject=subject,
        scope=scope,
        audience=audience,
        auth_time=now,
        requested_at=now,
        access_token_claims=claims,
        id_token_claims=claims,
    )
    try:
        return issue_token_set(
            services,
            session,
            client=client,
            grant=grant,
            request_id=uuid.uuid4().hex,
            grant_type="authorization_code",
            with_nonce=False,
            access_token_ttl=_lifetime(document.get("expires_in")),
        )
    except OAuth2Error as exc:  # e.g. a pairwise client whose sector cannot be told
        raise MintError(exc.description or exc.error, exc.error) from None


def _client(services, session, client_id):
    stored = services.clients.find(session, client_id) if isinstance(client_id, str) else None
    if stored is None:
        raise MintError("client_id must name an existing client", "invalid_client")
    return stored.client


def _audience(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise MintError("audience must be a list of strings (or one string)")
    return tuple(value)


def _lifetime(value) -> int | None:
    if value is None:
        return None
    try:
        seconds = seconds_of(value)
    except ValueError as exc:
        raise MintError(f"expires_in: {exc}") from None
    if not 1 <= seconds <= MAX_LIFETIME:
        raise MintError(f"expires_in must be between 1 second and {MAX_LIFETIME} seconds")
    return seconds
