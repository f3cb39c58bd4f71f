"""Access-token records and their introspection view (RFC 7662, Hydra's field names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    dpop_jkt: str | None = None  # RFC 9449: the thumbprint of the key it is bound to
    act: dict[str, Any] | None = None  # RFC 8693 §4.1: who acts for the subject

    def is_active(self, now: int) -> bool:
        return self.active and now < self.expires_at

    def covers_scopes(self, required: str | None) -> bool:
        """Hydra's introspection ``scope`` parameter: every listed scope must be granted."""
        if not required:
            return True
        return set(required.split()) <= set(self.scope.split())


def _active(
    *,
    token_use: str,
    client_id: str,
    subject: str,
    issued_at: int,
    expires_at: int,
    issuer: str,
    scope: str,
    audience: tuple[str, ...],
    ext: dict[str, Any] | None = None,
    dpop_jkt: str | None = None,
    act: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """RFC 7662 §2.2 for an active token, with Hydra's fields; empty ones are left out."""
    response: dict[str, Any] = {
        "active": True,
        "client_id": client_id,
        "sub": subject,
        "exp": expires_at,
        "iat": issued_at,
        "nbf": issued_at,
        "iss": issuer,
        "token_type": "Bearer",
        "token_use": token_use,
    }
    if scope:
        response["scope"] = scope
    if audience:
        response["aud"] = list(audience)
    if ext:
        response["ext"] = ext
    if dpop_jkt:  # RFC 9449 §6.2: a resource server must then demand a proof of this key
        response["token_type"] = "DPoP"
        response["cnf"] = {"jkt": dpop_jkt}
    if act:
        response["act"] = act
    return response


def introspection_response(record: AccessTokenRecord, issuer: str) -> dict[str, Any]:
    return _active(
        token_use="access_token",
        client_id=record.client_id,
        subject=record.subject,
        issued_at=record.issued_at,
        expires_at=record.expires_at,
        issuer=issuer,
        scope=record.scope,
        audience=record.audience,
        ext=record.extra,
        dpop_jkt=record.dpop_jkt,
        act=record.act,
    )


def refresh_token_introspection(record, issuer: str) -> dict[str, Any]:
    return _active(
        token_use="refresh_token",
        client_id=record.client_id,
        subject=record.session.subject,
        issued_at=record.issued_at,
        expires_at=record.expires_at,
        issuer=issuer,
        scope=record.session.scope_string,
        audience=record.session.audience,
        dpop_jkt=record.dpop_jkt,
    )


INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True)
class IssuedAccessToken:
    """The response half of a freshly issued token (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    extra_response: dict[str, Any] = field(default_factory=dict)
    dpop_bound: bool = False  # RFC 9449 §5: token_type "DPoP"

    def to_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "token_type": "DPoP" if self.dpop_bound else "bearer",
            **self.extra_response,
        }
