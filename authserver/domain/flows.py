"""The login and consent flow (Hydra's "flow") as an explicit state machine. No I/O.

    LOGIN_REQUESTED ──accept / reject (login app, admin API)──▶ LOGIN_HANDLED
    LOGIN_HANDLED ──login verifier redeemed by the browser──▶ CONSENT_REQUESTED
                                        (or DONE when the login was rejected)
    CONSENT_REQUESTED ──consent needed but prompt=none──▶ DONE (no consent; the error sent)
    CONSENT_REQUESTED ──accept / reject (consent app)──▶ CONSENT_HANDLED
    CONSENT_HANDLED ──consent verifier redeemed by the browser──▶ DONE
                                        (the code is issued, or the error sent)

Each transition names the one state it starts from; storage applies it with a
compare-and-set on that state, so a transition can neither be skipped nor happen twice,
even when two requests race. Challenges and verifiers expire with the flow
(``TTL_LOGIN_CONSENT_REQUEST``) and are bound to the browser by a CSRF cookie.

The apps' answers are stored as the JSON documents their ``to_json`` writes (the flow's
``login``, ``login_error``, ``consent``, ``consent_error``); code reads them back typed
(``Flow.accepted_login`` and the like).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from authserver.domain.durations import MAX_SECONDS


class FlowState(enum.IntEnum):
    LOGIN_REQUESTED = 1
    LOGIN_HANDLED = 2
    CONSENT_REQUESTED = 4
    CONSENT_HANDLED = 5
    DONE = 6


class FlowError(Exception):
    """A request that does not fit the flow; ``status`` is the HTTP status to answer with."""

    error = "invalid_request"
    status = 400


class FlowNotFound(FlowError):
    """An unknown challenge, or a request whose client no longer exists."""

    error = "not_found"
    status = 404


class FlowAlreadyHandled(FlowError):
    """The challenge was already answered: Hydra's 410 Gone with ``redirect_to``."""

    error = "request_already_handled"
    status = 410


class FlowExpired(FlowError):
    error = "request_expired"
    status = 410


class CsrfMismatch(FlowError):
    error = "request_forbidden"
    status = 403


def new_secret() -> str:
    """A challenge, verifier or CSRF value: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """How challenges, verifiers and CSRF values are stored and looked up."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(presented: str | None, stored_digest: str | None) -> bool:
    if not presented or not stored_digest:
        return False
    return hmac.compare_digest(digest(presented), stored_digest)


# -- what the apps send (Hydra's request bodies) -----------------------------------------


def _string(document: dict, name: str, default: str = "", limit: int = 4096) -> str:
    value = document.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FlowError(f"Field {name} must be a string.")
    if len(value) > limit:
        raise FlowError(f"Field {name} is too long.")
    return value


def _boolean(document: dict, name: str) -> bool:
    value = document.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FlowError(f"Field {name} must be true or false.")
    return value


def _seconds(document: dict, name: str) -> int:
    value = document.get(name, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SECONDS:
        raise FlowError(f"Field {name} must be a whole number of seconds, from 0 to {MAX_SECONDS}.")
    return value


def _strings(document: dict, name: str) -> list[str]:
    value = document.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FlowError(f"Field {name} must be an array of strings.")
    return list(dict.fromkeys(value))


def _object(document: dict, name: str) -> dict[str, Any]:
    value = document.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FlowError(f"Field {name} must be a JSON object.")
    return value


def _require_object(document: Any) -> dict:
    if not isinstance(document, dict):
        raise FlowError("The request body must be a JSON object.")
    return document


@dataclass(frozen=True)
class LoginAcceptance:
    """Hydra's ``acceptOAuth2LoginRequest``."""

    subject: str
    remember: bool = False
    remember_for: int = 0
    acr: str = ""
    amr: tuple[str, ...] = ()
    context: Any = None
    extend_session_lifespan: bool = False
    identity_provider_session_id: str = ""

    @classmethod
    def from_json(cls, document: Any) -> LoginAcceptance:
        document = _require_object(document)
        subject = _string(document, "subject", limit=255)
        if not subject:
            raise FlowError("Field subject is required.")
        if _string(document, "force_subject_identifier"):
            raise FlowError(
                "Field force_subject_identifier is not supported (no pairwise subjects)."
            )
        return cls(
            subject=subject,
            remember=_boolean(document, "remember"),
            remember_for=_seconds(document, "remember_for"),
            acr=_string(document, "acr", limit=255),
            amr=tuple(_strings(document, "amr")),
            context=document.get("context"),
            extend_session_lifespan=_boolean(document, "extend_session_lifespan"),
            identity_provider_session_id=_string(
                document, "identity_provider_session_id", limit=255
            ),
        )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> LoginAcceptance:
        """Read back what ``to_json`` stored (trusted: no validation)."""
        return cls(
            subject=stored.get("subject") or "",
            remember=bool(stored.get("remember")),
            remember_for=int(stored.get("remember_for") or 0),
            acr=stored.get("acr") or "",
            amr=tuple(stored.get("amr") or ()),
            context=stored.get("context"),
            extend_session_lifespan=bool(stored.get("extend_session_lifespan")),
            identity_provider_session_id=stored.get("identity_provider_session_id") or "",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "remember": self.remember,
            "remember_for": self.remember_for,
            "acr": self.acr,
            "amr": list(self.amr),
            "context": self.context,
            "extend_session_lifespan": self.extend_session_lifespan,
            "identity_provider_session_id": self.identity_provider_session_id,
        }


# Claims the server sets itself; a consent app cannot override them in session.id_token.
RESERVED_ID_TOKEN_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "auth_time",
        "nonce",
        "at_hash",
        "c_hash",
        "acr",
        "amr",
        "azp",
        "sid",
        "rat",
    }
)


@dataclass(frozen=True)
class ConsentAcceptance:
    """Hydra's ``acceptOAuth2ConsentRequest``."""

    grant_scope: tuple[str, ...] = ()
    grant_access_token_audience: tuple[str, ...] = ()
    remember: bool = False
    remember_for: int = 0
    access_token_claims: dict[str, Any] = field(default_factory=dict)
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    context: Any = None

    @classmethod
    def from_json(cls, document: Any) -> ConsentAcceptance:
        document = _require_object(document)
        session = _object(document, "session")
        id_token = _object(session, "id_token")
        return cls(
            grant_scope=tuple(_strings(document, "grant_scope")),
            grant_access_token_audience=tuple(_strings(document, "grant_access_token_audience")),
            remember=_boolean(document, "remember"),
            remember_for=_seconds(document, "remember_for"),
            access_token_claims=_object(session, "access_token"),
            id_token_claims={
                key: value for key, value in id_token.items() if key not in RESERVED_ID_TOKEN_CLAIMS
            },
            context=document.get("context"),
        )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> ConsentAcceptance:
        """Read back what ``to_json`` stored (trusted: no validation)."""
        session = stored.get("session") or {}
        return cls(
            grant_scope=tuple(stored.get("grant_scope") or ()),
            grant_access_token_audience=tuple(stored.get("grant_access_token_audience") or ()),
            remember=bool(stored.get("remember")),
            remember_for=int(stored.get("remember_for") or 0),
            access_token_claims=session.get("access_token") or {},
            id_token_claims=session.get("id_token") or {},
            context=stored.get("context"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "grant_scope": list(self.grant_scope),
            "grant_access_token_audience": list(self.grant_access_token_audience),
            "remember": self.remember,
            "remember_for": self.remember_for,
            "session": {"access_token": self.access_token_claims, "id_token": self.id_token_claims},
            "context": self.context,
        }


@dataclass(frozen=True)
class Rejection:
    """Hydra's ``rejectOAuth2Request``: what the client will receive as its error."""

    error: str = "access_denied"
    error_description: str = ""
    error_hint: str = ""
    status_code: int = 400

    @classmethod
    def from_json(cls, document: Any) -> Rejection:
        document = _require_object(document)
        status = document.get("status_code")
        if status is None or (type(status) is int and status == 0):  # absent, null, Go's zero
            status = 400
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise FlowError("Field status_code must be an HTTP error status (400-599).")
        error = _string(document, "error", limit=128) or "access_denied"
        if not all(0x20 < ord(ch) < 0x7F and ch not in '"\\' for ch in error):
            raise FlowError("Field error must be an error code such as access_denied.")
        return cls(
            error=error,
            error_description=_string(document, "error_description", limit=1024),
            error_hint=_string(document, "error_hint", limit=1024),
            status_code=status,
        )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Rejection:
        """Read back what ``to_json`` stored (trusted: no validation)."""
        return cls(
            error=stored.get("error") or "access_denied",
            error_description=stored.get("error_description") or "",
            error_hint=stored.get("error_hint") or "",
            status_code=int(stored.get("status_code") or 400),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "error_description": self.error_description,
            "error_hint": self.error_hint,
            "status_code": self.status_code,
        }


# -- the flow ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    id: str
    state: FlowState
    client_id: str
    request_url: str
    request: dict[str, Any]  # the validated authorization request (see AuthorizationRequest)
    requested_at: int
    expires_at: int
    login_challenge: str  # digests, all of them
    login_csrf: str
    login_verifier: str | None = None
    login_skip: bool = False
    login: dict[str, Any] | None = None  # LoginAcceptance.to_json(): see accepted_login
    login_error: dict[str, Any] | None = None  # Rejection.to_json(): see login_rejection
    subject: str | None = None
    login_session_id: str | None = None
    authenticated_at: int | None = None
    consent_challenge: str | None = None
    consent_verifier: str | None = None
    consent_csrf: str | None = None
    consent_skip: bool = False
    consent: dict[str, Any] | None = None  # ConsentAcceptance.to_json(): accepted_consent
    consent_error: dict[str, Any] | None = None  # Rejection.to_json(): consent_rejection
    consent_remember: bool = False
    consent_remember_until: int | None = None
    consent_handled_at: int | None = None
    consent_revoked: bool = False

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at

    def require(self, state: FlowState, now: int) -> None:
        """Guard of every transition: the flow must be in ``state`` and not expired."""
        if self.state != state:
            raise FlowAlreadyHandled(
                "The request was already handled or is not ready for this step."
            )
        if self.is_expired(now):
            raise FlowExpired("The request has expired; start the flow again.")

    # Transitions. Each returns the new flow and the secrets to hand out (only digests stay).

    def accept_login(self, acceptance: LoginAcceptance, now: int) -> tuple[Flow, str]:
        self.require(FlowState.LOGIN_REQUESTED, now)
        if self.login_skip and acceptance.subject != self.subject:
            raise FlowError(
                "Field subject does not match the subject of the remembered login session; "
                "when skip is true, accept with the same subject."
            )
        verifier = new_secret()
        flow = replace(
            self,
            state=FlowState.LOGIN_HANDLED,
            login_verifier=digest(verifier),
            login=acceptance.to_json(),
            subject=acceptance.subject,
            authenticated_at=self.authenticated_at if self.login_skip else now,
        )
        return flow, verifier

    def reject_login(self, rejection: Rejection, now: int) -> tuple[Flow, str]:
        self.require(FlowState.LOGIN_REQUESTED, now)
        verifier = new_secret()
        flow = replace(
            self,
            state=FlowState.LOGIN_HANDLED,
            login_verifier=digest(verifier),
            login_error=rejection.to_json(),
        )
        return flow, verifier

    def redeem_login_verifier(
        self, csrf: str | None, now: int, consent_skip: bool
    ) -> tuple[Flow, str | None, str | None]:
        """The browser is back from the login app. Returns the flow and, when consent comes
        next, the consent challenge and its CSRF value."""
        self.require(FlowState.LOGIN_HANDLED, now)
        if not same_secret(csrf, self.login_csrf):
            raise CsrfMismatch("The login CSRF cookie is missing or does not match this request.")
        if self.login_error is not None:
            return replace(self, state=FlowState.DONE), None, None
        challenge, consent_csrf = new_secret(), new_secret()
        flow = replace(
            self,
            state=FlowState.CONSENT_REQUESTED,
            consent_challenge=digest(challenge),
            consent_csrf=digest(consent_csrf),
            consent_skip=consent_skip,
        )
        return flow, challenge, consent_csrf

    def accept_consent(self, acceptance: ConsentAcceptance, now: int) -> tuple[Flow, str]:
        self.require(FlowState.CONSENT_REQUESTED, now)
        verifier = new_secret()
        remember_until = None
        if acceptance.remember and acceptance.remember_for:
            remember_until = now + acceptance.remember_for
        flow = replace(
            self,
            state=FlowState.CONSENT_HANDLED,
            consent_verifier=digest(verifier),
            consent=acceptance.to_json(),
            consent_remember=acceptance.remember,
            consent_remember_until=remember_until,
            consent_handled_at=now,
        )
        return flow, verifier

    def reject_consent(self, rejection: Rejection, now: int) -> tuple[Flow, str]:
        self.require(FlowState.CONSENT_REQUESTED, now)
        verifier = new_secret()
        flow = replace(
            self,
            state=FlowState.CONSENT_HANDLED,
            consent_verifier=digest(verifier),
            consent_error=rejection.to_json(),
            consent_handled_at=now,
        )
        return flow, verifier

    def end_without_consent(self) -> Flow:
        """The login verifier was just redeemed, consent is needed but the request said
        prompt=none: the flow ends here, without a consent (the client gets the error)."""
        if self.state != FlowState.CONSENT_REQUESTED:
            raise FlowAlreadyHandled(
                "The request was already handled or is not ready for this step."
            )
        return replace(self, state=FlowState.DONE)

    def redeem_consent_verifier(self, csrf: str | None, now: int) -> Flow:
        self.require(FlowState.CONSENT_HANDLED, now)
        if not same_secret(csrf, self.consent_csrf):
            raise CsrfMismatch("The consent CSRF cookie is missing or does not match this request.")
        return replace(self, state=FlowState.DONE)

    # The apps' answers, typed (read from the stored JSON once per flow object).

    @cached_property
    def accepted_login(self) -> LoginAcceptance | None:
        return LoginAcceptance.from_stored(self.login) if self.login is not None else None

    @cached_property
    def login_rejection(self) -> Rejection | None:
        return Rejection.from_stored(self.login_error) if self.login_error is not None else None

    @cached_property
    def accepted_consent(self) -> ConsentAcceptance | None:
        return ConsentAcceptance.from_stored(self.consent) if self.consent is not None else None

    @cached_property
    def consent_rejection(self) -> Rejection | None:
        if self.consent_error is None:
            return None
        return Rejection.from_stored(self.consent_error)

    # Views for the admin API.

    @property
    def granted_scope(self) -> tuple[str, ...]:
        consent = self.accepted_consent
        return consent.grant_scope if consent else ()

    @property
    def granted_audience(self) -> tuple[str, ...]:
        consent = self.accepted_consent
        return consent.grant_access_token_audience if consent else ()

    def remembered_consent_covers(self, scopes: list[str], audience: list[str], now: int) -> bool:
        if not self.consent_remember or self.consent_revoked or self.consent_error is not None:
            return False
        if self.consent_remember_until is not None and now >= self.consent_remember_until:
            return False
        return set(scopes) <= set(self.granted_scope) and set(audience) <= set(
            self.granted_audience
        )
