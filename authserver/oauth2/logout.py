"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) through a logout app.

``start``: ``/oauth2/sessions/logout`` with an optional ``id_token_hint``,
``post_logout_redirect_uri`` (exactly one of the client's registered ones) and ``state``.
With a login session in this browser, a logout request is stored and the browser goes to
``URLS_LOGOUT?logout_challenge=…``; the logout app accepts (or rejects) it on the admin API.
``finish``: the browser returns with the logout verifier; the login session ends, its
clients are told (``oauth2.logout_channels``), and the browser goes to the post-logout
redirect URI (or ``URLS_POST_LOGOUT_REDIRECT``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from authserver.domain.flows import CsrfMismatch, FlowError, digest, new_secret
from authserver.domain.sessions import LogoutRequest, LogoutState
from authserver.domain.subjects import is_subject_of
from authserver.oauth2.login_consent import (
    SESSION_COOKIE,
    CookieChange,
    ErrorPage,
    Redirect,
    add_query,
    fallback_url,
)
from authserver.oauth2.logout_channels import SessionsEnded, end_sessions
from authserver.storage.flows import LoginSessionRepository, LogoutRequestRepository


@dataclass
class LoggedOut(Redirect):
    """Where the browser goes once logged out, and what the session's clients are owed:
    back-channel deliveries to send once this transaction commits, front-channel URLs
    for the browser to load on the way."""

    ended: SessionsEnded = field(default_factory=SessionsEnded)


class LogoutFlow:
    def __init__(self, services, session: Session, now: int | None = None):
        self.services = services
        self.settings = services.settings
        self.session = session
        self.now = now if now is not None else services.clock.now()
        self.requests = LogoutRequestRepository(session)
        self.login_sessions = LoginSessionRepository(session)

    def start(self, params: Mapping[str, str], request_url: str, session_cookie: str | None):
        hint = params.get("id_token_hint", "")
        claims = None
        if hint:
            claims = self.services.id_tokens.verify_hint(self.session, hint)
            if claims is None:
                raise ErrorPage(
                    "invalid_request", "The id_token_hint is not an ID token issued here."
                )
        client_id = params.get("client_id") or _audience(claims)
        if claims and params.get("client_id") and params["client_id"] not in _audiences(claims):
            raise ErrorPage("invalid_request", "client_id does not match the id_token_hint.")
        destination = self._post_logout_destination(params, client_id)

        login_session = None
        if session_cookie:
            login_session = self.login_sessions.by_cookie(digest(session_cookie))
        if login_session is None:
            return Redirect(destination)  # nobody is logged in here: nothing to end
        if claims and not self._hint_names(claims, login_session.subject):
            raise ErrorPage(
                "invalid_request",
                "The id_token_hint belongs to another user than the one logged in here.",
            )
        challenge = new_secret()
        self.requests.add(
            LogoutRequest(
                id=uuid.uuid4().hex,
                challenge=digest(challenge),
                status=LogoutState.REQUESTED,
                subject=login_session.subject,
                session_id=login_session.id,
                client_id=client_id or None,
                request_url=request_url,
                post_logout_redirect_uri=destination,
                rp_initiated=bool(hint or client_id),
                requested_at=self.now,
                expires_at=self.now + self.settings.login_consent_request_ttl,
            )
        )
        logout_app = self.settings.logout_url or fallback_url(self.settings, "logout")
        return Redirect(add_query(logout_app, {"logout_challenge": challenge}))

    def _hint_names(self, claims: dict, subject: str) -> bool:
        """Whether the hint's ``sub`` is the logged-in user as its client knows them: a
        pairwise client's hint carries its pairwise identifier (OIDC Core §8; Hydra's
        ``matchesValueFromSession``)."""
        client_id = _audience(claims)
        stored = self.services.clients.find(self.session, client_id) if client_id else None
        return is_subject_of(
            stored.client if stored else None,
            claims["sub"],
            subject,
            subject_types=self.settings.subject_types_supported,
            salt=self.settings.pairwise_salt,
        )

    def _post_logout_destination(self, params: Mapping[str, str], client_id: str | None) -> str:
        uri = params.get("post_logout_redirect_uri", "")
        if not uri:
            return self.settings.post_logout_redirect_url or fallback_url(
                self.settings, "logout/callback"
            )
        if not client_id:
            raise ErrorPage(
                "invalid_request",
                "post_logout_redirect_uri needs an id_token_hint or client_id naming the client.",
            )
        stored = self.services.clients.find(self.session, client_id)
        if stored is None or uri not in stored.client.post_logout_redirect_uris:
            raise ErrorPage(
                "invalid_request",
                "post_logout_redirect_uri is not one of the client's registered "
                "post_logout_redirect_uris.",
            )
        state = params.get("state", "")
        return add_query(uri, {"state": state}) if state else uri

    def finish(self, verifier: str, session_cookie: str | None) -> LoggedOut:
        request = self.requests.by_verifier(digest(verifier))
        if request is None:
            raise ErrorPage(
                "invalid_request", "The logout verifier is unknown or was already used."
            )
        browser_session = None
        if session_cookie:
            browser_session = self.login_sessions.by_cookie(digest(session_cookie))
        gone = bool(request.session_id) and self.login_sessions.get(request.session_id) is None
        try:
            done = request.redeem(
                browser_session.id if browser_session else None, self.now, session_gone=gone
            )
        except CsrfMismatch as exc:
            raise ErrorPage("request_forbidden", str(exc), status=403) from None
        except FlowError as exc:
            raise ErrorPage(exc.error, str(exc), status=exc.status) from None
        if not self.requests.transition(request, done):
            raise ErrorPage("request_already_handled", "This logout was already completed.")
        ended = end_sessions(self.services, self.session, [request.session_id])
        self.login_sessions.delete(request.session_id)
        destination = request.post_logout_redirect_uri
        if (
            request.client_id
            and self.services.clients.find(self.session, request.client_id) is None
        ):
            # The client was deleted meanwhile: its redirect URIs are no longer trusted.
            destination = self._post_logout_destination({}, None)
        return LoggedOut(destination, [CookieChange(SESSION_COOKIE, None)], ended)


def _audiences(claims: dict | None) -> list[str]:
    if not claims:
        return []
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [item for item in aud or [] if isinstance(item, str)]


def _audience(claims: dict | None) -> str | None:
    audiences = _audiences(claims)
    return audiences[0] if len(audiences) == 1 else None
