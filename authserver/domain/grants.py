"""Authorization codes and refresh tokens as stored: digests and grant sessions. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.domain.sessions import GrantSession


@dataclass(frozen=True)
class AuthorizationCodeRecord:
    signature_digest: str
    request_id: str  # the flow id: every token issued from this code shares it
    client_id: str
    # The redirect_uri of the authorization request if it named one ("" otherwise): the
    # token request must then repeat it exactly (RFC 6749 section 4.1.3).
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    session: GrantSession
    issued_at: int
    expires_at: int
    used: bool = False
    dpop_jkt: str | None = None  # RFC 9449 §10: the key named at the authorization request

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class RefreshTokenRecord:
    signature_digest: str
    request_id: str
    client_id: str
    session: GrantSession
    issued_at: int
    expires_at: int
    active: bool = True
    dpop_jkt: str | None = None  # RFC 9449 §5: a public client's refresh token is bound

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at
