"""Access-token records and their introspection view (RFC 7662, Hydra's field names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class AccessTokenRecord:
    """What the database knows about an access token: everything but the token itself."""

    signature_digest: str
    request_id: str
    client_id: str
    subject: str
    scope: str
    audience: tuple[str, ...]
    issued_at: int
    expires_at: int
    format: str = "opaque"
    extra: dict[str, Any] | None = None
    active: bool = True

    def is_active(self, now: int) -> bool:
        return self.active and now < self.expires_at

    def covers_scopes(self, required: str | None) -> bool:
        """Hydra's introspection ``scope`` parameter: every listed scope must be granted."""
        if not required:
            return True
        return set(required.split()) <= set(self.scope.split())


def introspection_response(record: AccessTokenRecord, issuer: str) -> dict[str, Any]:
    """RFC 7662 §2.2 response for an active access token, with Hydra's extra fields."""
    response: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "sub": record.subject,
        "exp": record.expires_at,
        "iat": record.issued_at,
        "nbf": record.issued_at,
        "iss": issuer,
        "token_type": "Bearer",
        "token_use": "access_token",
    }
    if record.scope:
        response["scope"] = record.scope
    if record.audience:
        response["aud"] = list(record.audience)
    if record.extra:
        response["ext"] = record.extra
    return response


def refresh_token_introspection(record, issuer: str) -> dict[str, Any]:
    """RFC 7662 §2.2 for an active refresh token (``token_use`` says which kind it is)."""
    session = record.session
    response: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "sub": session.subject,
        "exp": record.expires_at,
        "iat": record.issued_at,
        "nbf": record.issued_at,
        "iss": issuer,
        "token_type": "Bearer",
        "token_use": "refresh_token",
    }
    if session.scope:
        response["scope"] = session.scope_string
    if session.audience:
        response["aud"] = list(session.audience)
    return response


INACTIVE: dict[str, Any] = {"active": False}


class AccessTokenStore(Protocol):
    def add(self, record: AccessTokenRecord) -> None: ...

    def find(self, signature_digest: str) -> AccessTokenRecord | None: ...

    def deactivate(self, signature_digest: str) -> bool: ...

    def deactivate_request(self, request_id: str) -> int: ...


@dataclass(frozen=True)
class IssuedAccessToken:
    """The response half of a freshly issued token (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    extra_response: dict[str, Any] = field(default_factory=dict)

    def to_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "token_type": "bearer",
            **self.extra_response,
        }
