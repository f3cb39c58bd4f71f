"""Login sessions (remembered authentications), logout requests and the session data that
travels with codes and refresh tokens. No I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from authserver.domain.flows import (
    CsrfMismatch,
    FlowAlreadyHandled,
    FlowExpired,
    digest,
    new_secret,
    same_secret,
)


@dataclass(frozen=True)
class LoginSession:
    id: str  # the public session id: the ID token's "sid"
    cookie_digest: str  # digest of the random value in the browser's session cookie
    subject: str
    authenticated_at: int
    remember: bool
    expires_at: int | None
    identity_provider_session_id: str = ""

    def is_valid(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at

    def satisfies_max_age(self, max_age: int | None, now: int) -> bool:
        return max_age is None or now - self.authenticated_at <= max_age


@dataclass(frozen=True)
class GrantSession:
    """What a code or refresh token knows about the grant it carries: everything needed to
    mint access and ID tokens later without the flow."""

    subject: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    auth_time: int | None = None
    requested_at: int | None = None
    acr: str = ""
    amr: tuple[str, ...] = ()
    sid: str = ""
    nonce: str = ""
    access_token_claims: dict[str, Any] = field(default_factory=dict)
    id_token_claims: dict[str, Any] = field(default_factory=dict)

    @property
    def scope_string(self) -> str:
        return " ".join(self.scope)

    @property
    def wants_refresh_token(self) -> bool:
        return bool({"offline", "offline_access"} & set(self.scope))

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scope

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "scope": list(self.scope),
            "audience": list(self.audience),
            "auth_time": self.auth_time,
            "requested_at": self.requested_at,
            "acr": self.acr,
            "amr": list(self.amr),
            "sid": self.sid,
            "nonce": self.nonce,
            "access_token_claims": self.access_token_claims,
            "id_token_claims": self.id_token_claims,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GrantSession:
        values = dict(data)
        for key in ("scope", "audience", "amr"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)

    def narrowed(self, scope: tuple[str, ...]) -> GrantSession:
        return replace(self, scope=scope)


class LogoutState(enum.IntEnum):
    REQUESTED = 1
    ACCEPTED = 2
    REJECTED = 3
    DONE = 4


@dataclass(frozen=True)
class LogoutRequest:
    """An RP-initiated (or browser-initiated) logout on its way through the logout app."""

    id: str
    challenge: str  # digest
    status: LogoutState
    subject: str
    session_id: str
    client_id: str | None
    request_url: str
    post_logout_redirect_uri: str
    rp_initiated: bool
    requested_at: int
    expires_at: int
    verifier: str | None = None  # digest

    def require(self, status: LogoutState, now: int) -> None:
        if self.status != status:
            raise FlowAlreadyHandled("The logout request was already handled.")
        if now >= self.expires_at:
            raise FlowExpired("The logout request has expired.")

    def accept(self, now: int) -> tuple[LogoutRequest, str]:
        self.require(LogoutState.REQUESTED, now)
        verifier = new_secret()
        return replace(self, status=LogoutState.ACCEPTED, verifier=digest(verifier)), verifier

    def reject(self, now: int) -> LogoutRequest:
        self.require(LogoutState.REQUESTED, now)
        return replace(self, status=LogoutState.REJECTED)

    def redeem(
        self, browser_session_id: str | None, now: int, session_gone: bool = False
    ) -> LogoutRequest:
        """The browser is back from the logout app: only the browser whose session this is
        may complete it. A logout without a session has nothing to bind to, nor has one
        whose session is gone (revoked meanwhile, e.g. by the logout app forgetting every
        login of the subject): completing it can end nothing, as in Hydra."""
        self.require(LogoutState.ACCEPTED, now)
        if self.session_id and not session_gone and browser_session_id != self.session_id:
            raise CsrfMismatch("This logout belongs to another browser session.")
        return replace(self, status=LogoutState.DONE)


def verifier_matches(presented: str | None, stored: str | None) -> bool:
    return same_secret(presented, stored)
