"""The browser's side of the authorization code flow at ``/oauth2/auth`` (Hydra's model).

1. ``start``: a new authorization request is validated, a flow is stored and the browser is
   sent to the login app with a login challenge (and a CSRF cookie binding it).
2. ``after_login``: the browser returns with the login verifier the login app got from the
   admin API. A login session is created (and remembered in a cookie if asked), and the
   browser is sent to the consent app with a consent challenge.
3. ``after_consent``: the browser returns with the consent verifier; an authorization code
   is issued and the browser goes back to the client.

The device flow (RFC 8628) enters the same flow at ``/oauth2/device/verify``:
``start_device`` gives the browser a device challenge for the user-code page; once the
login app accepted the user code (``challenges.FlowChallenges.accept_user_code``),
``after_device`` starts a flow for the device's client and scope, which then runs steps 2
and 3; instead of a code, the consent approves (a rejection denies) the device code, and
the browser ends at ``URLS_DEVICE_SUCCESS``.

The outcome of each step is a ``Redirect`` (with cookie changes) or an exception: an
``ErrorPage`` (the client or redirect URI cannot be trusted, or the browser is not the one
that started the flow) or a ``ClientError`` (sent to the client's redirect URI). No Flask here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.domain.authorization import (
    AuthorizationError,
    AuthorizationRequest,
    validate_authorization_request,
)
from authserver.domain.clients import Client
from authserver.domain.device import (
    MAX_BROWSER_FAILURES,
    ChallengeState,
    DeviceChallenge,
    DeviceStatus,
    user_code_digest,
)
from authserver.domain.flows import (
    ConsentAcceptance,
    CsrfMismatch,
    Flow,
    FlowError,
    FlowState,
    LoginAcceptance,
    Rejection,
    digest,
    new_secret,
    same_secret,
)
from authserver.domain.grants import AuthorizationCodeRecord
from authserver.domain.pushed_requests import REQUEST_URI_PREFIX, request_uri_digest
from authserver.domain.sessions import GrantSession, LoginSession
from authserver.domain.subjects import is_subject_of
from authserver.domain.tokens import TokenKind
from authserver.oauth2.client_documents import ClientDocumentError
from authserver.storage.device import DeviceChallengeRepository, DeviceCodeRepository
from authserver.storage.flows import FlowRepository, LoginSessionRepository
from authserver.storage.grants import AuthorizationCodeRepository
from authserver.storage.pushed_requests import PushedRequestRepository

log = logging.getLogger(__name__)

LOGIN_CSRF_COOKIE = "authserver_login_csrf"
CONSENT_CSRF_COOKIE = "authserver_consent_csrf"
SESSION_COOKIE = "authserver_session"
DEVICE_CSRF_COOKIE = "authserver_device_csrf"
DEVICE_VERIFY_PATH = "/oauth2/device/verify"
# A login the user did not ask to remember still gets a server-side session (it is the
# ID token's "sid" and what logout ends); it simply has no cookie and ends with this TTL.
UNREMEMBERED_SESSION_SECONDS = 24 * 3600
COOKIE_HOST_HINT = (
    "If you use both localhost and 127.0.0.1, use only one of them: browsers keep separate "
    "cookies for each."
)


@dataclass(frozen=True)
class CookieChange:
    name: str
    value: str | None  # None deletes the cookie
    max_age: int | None = None  # None: until the browser closes
    path: str = "/"


@dataclass
class Redirect:
    location: str
    cookies: list[CookieChange] = field(default_factory=list)


class ErrorPage(Exception):
    """Shown by the server itself (or at URLS_ERROR); never sent to an unchecked client."""

    def __init__(self, error: str, description: str, hint: str = "", status: int = 400):
        super().__init__(description)
        self.error, self.description, self.hint, self.status = error, description, hint, status


class ClientError(Exception):
    """An error for the client, delivered to its (validated) redirect URI with its state."""

    def __init__(self, redirect_uri: str, state: str, error: str, description: str, hint=""):
        super().__init__(description)
        self.redirect_uri, self.state = redirect_uri, state
        self.error, self.description, self.hint = error, description, hint
        self.cookies: list[CookieChange] = []


def add_query(url: str, params: Mapping[str, str]) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


class AuthorizationFlow:
    def __init__(self, services, session: Session, now: int | None = None):
        self.services = services
        self.settings = services.settings
        self.session = session
        self.now = now if now is not None else services.clock.now()
        self.flows = FlowRepository(session)
        self.login_sessions = LoginSessionRepository(session)

    # -- 1. a new authorization request --------------------------------------------------

    def start(
        self,
        params: Mapping[str, Sequence[str]],
        request_url: str,
        session_cookie: str | None,
        pushed: bool = False,
    ) -> Redirect:
        """``pushed``: ``params`` are a redeemed pushed request's (``redeem_pushed``)."""
        client = self._client((params.get("client_id") or [""])[0])
        try:
            request = validate_authorization_request(
                params,
                client,
                pkce_enforced=self.settings.pkce_enforced,
                pkce_enforced_for_public_clients=self.settings.pkce_enforced_for_public_clients,
                pushed=pushed,
                par_required=self.settings.par_required,
            )
        except AuthorizationError as exc:
            if not exc.redirect:
                raise ErrorPage(exc.error, exc.description) from None
            raise ClientError(exc.redirect_uri, exc.state, exc.error, exc.description) from None

        hint_claims = self._id_token_hint_claims(request)
        login_session = self._browser_session(session_cookie)
        skip = self._can_skip_login(request, login_session, hint_claims)
        if "none" in request.prompt and not skip:
            raise self._client_error(
                request, "login_required", "The user is not logged in, and prompt=none was sent."
            )

        # The raw hint is a token: only its verified claims are stored.
        stored = {
            **request.to_json(),
            "id_token_hint": "",
            "id_token_hint_claims": hint_claims or {},
        }
        return self._new_flow(client, stored, request_url, login_session, skip)

    def redeem_pushed(self, params: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """RFC 9126 §4: ``client_id`` and a ``request_uri`` from ``/oauth2/par`` stand for
        the pushed parameters, which alone are used (the URL's others are ignored). The
        reference is used up here, whatever happens next."""
        client_ids = params.get("client_id") or []
        request_uris = params.get("request_uri") or []
        if len(client_ids) != 1 or len(request_uris) != 1 or not client_ids[0]:
            raise ErrorPage(
                "invalid_request",
                "Send exactly one client_id with exactly one request_uri (RFC 9126 section 4).",
            )
        digest = request_uri_digest(request_uris[0])
        pushed = None
        if digest is not None:
            pushed = PushedRequestRepository(self.session).redeem(digest, client_ids[0], self.now)
        if pushed is None:
            raise ErrorPage(
                "invalid_request_uri",
                "The request_uri is unknown, has expired, was already used, or was pushed by "
                "another client; push the authorization request again.",
            )
        return pushed.parameters

    def _new_flow(
        self,
        client: Client,
        stored_request: dict,
        request_url: str,
        login_session: LoginSession | None,
        skip: bool,
    ) -> Redirect:
        """Store a new flow and send the browser to the login app."""
        challenge, csrf = new_secret(), new_secret()
        flow = Flow(
            id=uuid.uuid4().hex,
            state=FlowState.LOGIN_REQUESTED,
            client_id=client.client_id,
            request_url=request_url,
            request=stored_request,
            requested_at=self.now,
            expires_at=self.now + self.settings.login_consent_request_ttl,
            login_challenge=digest(challenge),
            login_csrf=digest(csrf),
            login_skip=skip,
            subject=login_session.subject if skip else None,
            login_session_id=login_session.id if login_session else uuid.uuid4().hex,
            authenticated_at=login_session.authenticated_at if skip else None,
        )
        try:
            self.flows.add(flow)
        except IntegrityError:
            # Cached here, deleted by another process since: the flow's foreign key refuses
            # it. (The error page marks the request rollback-only.)
            self.services.clients.forget(client.client_id)
            raise ErrorPage("invalid_client", "The client does not exist.") from None
        return Redirect(
            add_query(self._app_url("login"), {"login_challenge": challenge}),
            [CookieChange(LOGIN_CSRF_COOKIE, csrf, self.settings.login_consent_request_ttl)],
        )

    # -- 0. a device flow (RFC 8628): the browser at the verification URI ----------------

    def start_device(self, user_code: str | None, csrf_cookie: str | None) -> Redirect:
        """A browser opens the verification URI: a device challenge for the user-code page,
        bound to this browser by a CSRF cookie (kept across challenges: it also counts the
        browser's wrong user codes, ``MAX_BROWSER_FAILURES``)."""
        challenges = DeviceChallengeRepository(self.session)
        ttl = self.settings.login_consent_request_ttl
        csrf = csrf_cookie if csrf_cookie and len(csrf_cookie) <= 128 else new_secret()
        if challenges.failed_attempts_of_browser(digest(csrf), self.now - ttl) >= (
            MAX_BROWSER_FAILURES
        ):
            raise ErrorPage(
                "request_forbidden",
                "Too many wrong user codes were entered in this browser; try again later.",
                status=429,
            )
        challenge = new_secret()
        challenges.add(
            DeviceChallenge(
                id=uuid.uuid4().hex,
                challenge_digest=digest(challenge),
                csrf_digest=digest(csrf),
                state=ChallengeState.OPEN,
                requested_at=self.now,
                expires_at=self.now + ttl,
            )
        )
        params = {"device_challenge": challenge}
        if user_code and user_code_digest(user_code) is not None:
            params["user_code"] = user_code
        return Redirect(
            add_query(self._app_url("device"), params),
            [CookieChange(DEVICE_CSRF_COOKIE, csrf, ttl)],
        )

    def after_device(
        self, verifier: str, csrf_cookie: str | None, session_cookie: str | None
    ) -> Redirect:
        """The browser is back from the user-code page: the login flow for the device's
        client and scope starts (with the same remember/skip rules as ``start``)."""
        challenges = DeviceChallengeRepository(self.session)
        challenge = challenges.by_verifier(digest(verifier))
        if challenge is None:
            raise ErrorPage(
                "invalid_request", "The device verifier is unknown or was already used."
            )
        if challenge.state != ChallengeState.ACCEPTED or challenge.is_expired(self.now):
            raise ErrorPage(
                "request_already_handled",
                "This device verification was already used or has expired; start again.",
                status=410,
            )
        if not same_secret(csrf_cookie, challenge.csrf_digest):
            raise ErrorPage(
                "request_forbidden",
                "The device CSRF cookie is missing or does not match this request.",
                COOKIE_HOST_HINT,
                403,
            )
        record = DeviceCodeRepository(self.session).find(challenge.device_signature_digest or "")
        if record is None or record.status != DeviceStatus.PENDING or record.is_expired(self.now):
            raise ErrorPage(
                "expired_token", "The device code has expired; start on the device again."
            )
        if not challenges.transition(challenge, replace(challenge, state=ChallengeState.DONE)):
            raise ErrorPage("request_already_handled", "This step of the flow was already done.")
        client = self._client(record.client_id)
        if client is None:
            raise ErrorPage("invalid_client", "The client no longer exists.")
        request = AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri="",
            scope=record.scope,
            audience=record.audience,
            redirect_uri_given=False,
        )
        login_session = self._browser_session(session_cookie)
        skip = self._can_skip_login(request, login_session, None)
        stored = {**request.to_json(), "device_code": record.signature_digest}
        request_url = self.settings.public_url.rstrip("/") + DEVICE_VERIFY_PATH
        result = self._new_flow(client, stored, request_url, login_session, skip)
        result.cookies.append(CookieChange(DEVICE_CSRF_COOKIE, None))
        return result

    def _client(self, client_id: str) -> Client | None:
        try:
            stored = self.services.client_finder.find(self.session, client_id)
        except ClientDocumentError as exc:
            raise ErrorPage("invalid_client", exc.description) from None
        return stored.client if stored else None

    def _id_token_hint_claims(self, request: AuthorizationRequest) -> dict | None:
        if not request.id_token_hint:
            return None
        claims = self.services.id_tokens.verify_hint(self.session, request.id_token_hint)
        if claims is None:
            raise self._client_error(
                request, "invalid_request", "The id_token_hint is not an ID token issued here."
            )
        return claims

    def _browser_session(self, cookie: str | None) -> LoginSession | None:
        if not cookie:
            return None
        login_session = self.login_sessions.by_cookie(digest(cookie))
        if login_session is None or not login_session.is_valid(self.now):
            return None
        return login_session

    def _can_skip_login(
        self, request: AuthorizationRequest, login_session: LoginSession | None, hint: dict | None
    ) -> bool:
        """OIDC Core §3.1.2.1: prompt=login and an exceeded max_age force a new login."""
        if login_session is None or not login_session.remember:
            return False
        if "login" in request.prompt or "select_account" in request.prompt:
            return False
        if not login_session.satisfies_max_age(request.max_age, self.now):
            return False
        return not hint or is_subject_of(
            self._client(request.client_id),
            hint.get("sub", ""),
            login_session.subject,
            subject_types=self.settings.subject_types_supported,
            salt=self.settings.pairwise_salt,
        )

    # -- 2. back from the login app ------------------------------------------------------

    def after_login(
        self, verifier: str, csrf_cookie: str | None, session_cookie: str | None
    ) -> Redirect:
        flow = self.flows.by_login_verifier(digest(verifier))
        if flow is None:
            raise ErrorPage("invalid_request", "The login verifier is unknown or was already used.")
        request = AuthorizationRequest.from_json(self._request_fields(flow))
        client = self._client(flow.client_id)
        if client is None:
            raise ErrorPage("invalid_client", "The client no longer exists.")
        consent_skip = self._can_skip_consent(flow, client, request)
        try:
            after, consent_challenge, consent_csrf = flow.redeem_login_verifier(
                csrf_cookie, self.now, consent_skip
            )
        except CsrfMismatch as exc:
            raise ErrorPage("request_forbidden", str(exc), COOKIE_HOST_HINT, 403) from None
        except FlowError as exc:
            raise ErrorPage(exc.error, str(exc), status=exc.status) from None

        cookies = [CookieChange(LOGIN_CSRF_COOKIE, None, path="/")]
        if after.login_rejection is not None:
            self._save(flow, after)
            error = self._rejected(after, request, after.login_rejection)
            error.cookies = cookies
            raise error

        after, session_cookies = self._settle_login_session(after, session_cookie)
        cookies.extend(session_cookies)
        if "none" in request.prompt and not consent_skip:
            self._save(flow, after.end_without_consent())
            error = self._client_error(
                request, "consent_required", "Consent is needed, and prompt=none was sent."
            )
            error.cookies = cookies
            raise error
        self._save(flow, after)
        cookies.append(
            CookieChange(CONSENT_CSRF_COOKIE, consent_csrf, self.settings.login_consent_request_ttl)
        )
        return Redirect(
            add_query(self._app_url("consent"), {"consent_challenge": consent_challenge}), cookies
        )

    def _can_skip_consent(self, flow: Flow, client: Client, request: AuthorizationRequest) -> bool:
        if "consent" in request.prompt or flow.login_error is not None:
            return False
        if client.skip_consent:
            return True
        login = flow.accepted_login
        if login is None or not login.subject:
            return False
        subject = login.subject
        return any(
            earlier.remembered_consent_covers(list(request.scope), list(request.audience), self.now)
            for earlier in self.flows.remembered_consents(subject, flow.client_id, self.now)
        )

    def _settle_login_session(
        self, flow: Flow, session_cookie: str | None
    ) -> tuple[Flow, list[CookieChange]]:
        """Create (or, for a skipped login, keep) the login session of this authentication."""
        login = flow.accepted_login or _NO_LOGIN
        existing = self._browser_session(session_cookie)
        if flow.login_skip and existing and existing.subject == flow.subject:
            if login.extend_session_lifespan and login.remember:
                existing = self._remember(existing, login)
                cookie = new_secret()
                existing = _with_cookie(existing, cookie)
                self.login_sessions.save(existing)
                return flow, [self._session_cookie(cookie, login)]
            return _with_session(flow, existing.id), []

        # The sid announced in the login request is kept, unless it named another user's
        # session: then that session ends here and this user gets a new one.
        session_id = flow.login_session_id or uuid.uuid4().hex
        if existing is not None and existing.subject != flow.subject:
            self.login_sessions.delete(existing.id)
            if session_id == existing.id:
                session_id = uuid.uuid4().hex
        cookie = new_secret()  # a new value at every authentication: no session fixation
        login_session = LoginSession(
            id=session_id,
            cookie_digest=digest(cookie),
            subject=flow.subject,
            authenticated_at=flow.authenticated_at or self.now,
            remember=login.remember,
            expires_at=self.now + UNREMEMBERED_SESSION_SECONDS,
            identity_provider_session_id=login.identity_provider_session_id,
        )
        if login_session.remember:
            login_session = self._remember(login_session, login)
        self.login_sessions.save(login_session)
        flow = _with_session(flow, session_id)
        if login_session.remember:
            return flow, [self._session_cookie(cookie, login)]
        # Not remembered: whoever was remembered in this browser before is forgotten.
        return flow, [CookieChange(SESSION_COOKIE, None)]

    def _remember(self, login_session: LoginSession, login: LoginAcceptance) -> LoginSession:
        lifetime = login.remember_for or self.settings.refresh_token_ttl
        return replace(login_session, remember=True, expires_at=self.now + lifetime)

    def _session_cookie(self, value: str, login: LoginAcceptance) -> CookieChange:
        # remember_for=0 means "for this browser session": a cookie without Max-Age.
        return CookieChange(SESSION_COOKIE, value, login.remember_for or None)

    # -- 3. back from the consent app ----------------------------------------------------

    def after_consent(self, verifier: str, csrf_cookie: str | None) -> Redirect:
        flow = self.flows.by_consent_verifier(digest(verifier))
        if flow is None:
            raise ErrorPage(
                "invalid_request", "The consent verifier is unknown or was already used."
            )
        request = AuthorizationRequest.from_json(self._request_fields(flow))
        try:
            after = flow.redeem_consent_verifier(csrf_cookie, self.now)
        except CsrfMismatch as exc:
            raise ErrorPage("request_forbidden", str(exc), COOKIE_HOST_HINT, 403) from None
        except FlowError as exc:
            raise ErrorPage(exc.error, str(exc), status=exc.status) from None
        self._save(flow, after)
        cookies = [CookieChange(CONSENT_CSRF_COOKIE, None)]
        if after.consent_rejection is not None:
            error = self._rejected(after, request, after.consent_rejection)
            error.cookies = cookies
            raise error
        if is_device_flow(after):
            self._settle_device(after, self._grant_session(after, request))
            return Redirect(self._device_success_url(), cookies)

        code = self._issue_code(after, request)
        params = {"code": code, "scope": " ".join(after.granted_scope)}
        if request.state:
            params["state"] = request.state
        params["iss"] = self.settings.issuer  # RFC 9207: lets the client detect mix-ups
        return Redirect(add_query(request.redirect_uri, params), cookies)

    def _grant_session(self, flow: Flow, request: AuthorizationRequest) -> GrantSession:
        login = flow.accepted_login or _NO_LOGIN
        consent = flow.accepted_consent or _NO_CONSENT
        return GrantSession(
            subject=flow.subject,
            scope=flow.granted_scope,
            audience=flow.granted_audience,
            auth_time=flow.authenticated_at,
            requested_at=flow.requested_at,
            acr=login.acr,
            amr=login.amr,
            sid=flow.login_session_id or "",
            nonce=request.nonce,
            access_token_claims=consent.access_token_claims,
            id_token_claims=consent.id_token_claims,
        )

    def _issue_code(self, flow: Flow, request: AuthorizationRequest) -> str:
        grant = self._grant_session(flow, request)
        minted = self.services.codec.mint(TokenKind.AUTHORIZATION_CODE)
        AuthorizationCodeRepository(self.session).add(
            AuthorizationCodeRecord(
                signature_digest=minted.signature_digest,
                request_id=flow.id,
                client_id=flow.client_id,
                redirect_uri=request.redirect_uri if request.redirect_uri_given else "",
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                session=grant,
                issued_at=self.now,
                expires_at=self.now + self.settings.auth_code_ttl,
                dpop_jkt=request.dpop_jkt or None,
            )
        )
        log.info("issued an authorization code to client %s", flow.client_id)
        return minted.value

    # -- the end of a device flow --------------------------------------------------------

    def _settle_device(self, flow: Flow, grant: GrantSession | None) -> None:
        """Approve (with the granted session) or deny the flow's device code."""
        codes = DeviceCodeRepository(self.session)
        record = codes.find(flow.request["device_code"])
        if record is None or record.status != DeviceStatus.PENDING:
            raise ErrorPage("expired_token", "The device code has expired or was already used.")
        settled = record.approved(grant, flow.id) if grant is not None else record.denied()
        if not codes.settle(settled):
            raise ErrorPage("request_already_handled", "This device flow was already finished.")
        log.info("device code of client %s %s", flow.client_id, settled.status.value)

    def _device_success_url(self) -> str:
        return self.settings.device_success_url or fallback_url(self.settings, "device/done")

    def _rejected(self, flow: Flow, request: AuthorizationRequest, rejection: Rejection):
        """The error of a rejected login or consent: for the client's redirect URI, or for a
        device flow, the device code denied and the browser at the device success page."""
        if not is_device_flow(flow):
            return _rejected(request, rejection)
        self._settle_device(flow, None)
        return ClientError(
            self._device_success_url(),
            "",
            rejection.error,
            rejection.error_description,
            rejection.error_hint,
        )

    # -- helpers -------------------------------------------------------------------------

    def _save(self, before: Flow, after: Flow) -> None:
        if not self.flows.transition(before, after):
            raise ErrorPage("request_already_handled", "This step of the flow was already done.")

    @staticmethod
    def _request_fields(flow: Flow) -> dict:
        return {key: value for key, value in flow.request.items() if key not in _NOT_REQUEST_FIELDS}

    def _client_error(self, request: AuthorizationRequest, error: str, description: str):
        return ClientError(request.redirect_uri, request.state, error, description)

    def _app_url(self, step: str) -> str:
        configured = {
            "login": self.settings.login_url,
            "consent": self.settings.consent_url,
            "device": self.settings.device_verification_url,
        }[step]
        return configured or fallback_url(self.settings, step)


# What a flow's stored request holds besides the authorization request itself.
_NOT_REQUEST_FIELDS = frozenset({"id_token_hint_claims", "device_code"})


def is_device_flow(flow: Flow) -> bool:
    """A flow started at the device verification URI (its request names the device code)."""
    return bool(flow.request.get("device_code"))


def fallback_url(settings, step: str) -> str:
    return settings.public_url.rstrip("/") + f"/oauth2/fallbacks/{step}"


# What a flow holds when it has no answer of that kind (not expected once it is accepted).
_NO_LOGIN = LoginAcceptance(subject="")
_NO_CONSENT = ConsentAcceptance()


def _rejected(request: AuthorizationRequest, rejection: Rejection) -> ClientError:
    return ClientError(
        request.redirect_uri,
        request.state,
        rejection.error,
        rejection.error_description,
        rejection.error_hint,
    )


def _with_session(flow: Flow, session_id: str) -> Flow:
    return replace(flow, login_session_id=session_id)


def _with_cookie(login_session: LoginSession, cookie: str) -> LoginSession:
    return replace(login_session, cookie_digest=digest(cookie))


def is_pushed(params: Mapping[str, Sequence[str]]) -> bool:
    """An authorization request that refers to a pushed one (RFC 9126 §4)."""
    return any(value.startswith(REQUEST_URI_PREFIX) for value in params.get("request_uri") or [])
