"""The admin API of the authorization server: the only module that knows its URLs and fields.

This is Ory Hydra's admin API, unchanged, so the same code works against ``authserver`` and
against a real Hydra. Each step of the flow is a GET (read the request behind a challenge)
and a PUT (accept or reject it). Every answer that moves the flow on is a ``redirect_to``:
send the browser there and nowhere else.

Reading requests gives small dataclasses (``LoginRequest``, ``ConsentRequest``,
``LogoutRequest``, ``ConsentSession``, ``ConsentSessionList``) instead of raw JSON, so the
views never depend on Hydra's field names. The device flow (RFC 8628) adds one call:
``accept_user_code``. Failures are typed exceptions; ``consent_ui.errors`` turns each into
an error page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests

log = logging.getLogger(__name__)

# Seconds to open a connection, then to wait for an answer. The browser is waiting too.
TIMEOUT = (3, 10)
REQUESTS = "/admin/oauth2/auth/requests"
SESSIONS = "/admin/oauth2/auth/sessions"
# A login or consent request whose request_url has this path comes from the device flow.
DEVICE_VERIFY_PATH = "/oauth2/device/verify"
PAGE_SIZE = 500  # Hydra's largest page of consent sessions
MAX_PAGES = 20  # a subject with more than 10,000 grants is listed in part, not forever
# The logout page's list of apps is a courtesy: one page, and a shorter wait than TIMEOUT,
# so a slow listing delays the user's logout by a few seconds at most.
LOGIN_SESSION_PAGE_SIZE = 200
LIST_TIMEOUT = (3, 5)


# -- failures ----------------------------------------------------------------------------


class AdminApiException(Exception):
    """Base class: anything that went wrong talking to the admin API."""


class AdminApiUnreachable(AdminApiException):
    """No answer: connection refused, DNS failure or timeout."""


class ChallengeGone(AdminApiException):
    """410: the request was already answered or has expired. ``redirect_to`` restarts it."""

    def __init__(self, redirect_to: str = ""):
        super().__init__("The request was already handled or has expired.")
        self.redirect_to = redirect_to


class ChallengeNotFound(AdminApiException):
    """404: the server has never heard of this challenge."""


class AdminApiError(AdminApiException):
    """Any other error answer, with Hydra's ``error`` and ``error_description``."""

    def __init__(self, status: int, error: str = "", description: str = ""):
        super().__init__(f"admin API answered {status}: {error} {description}".strip())
        self.status = status
        self.error = error
        self.description = description


class UserCodeRejected(AdminApiException):
    """400 invalid_grant on a user code: wrong, expired or already used. The user may retry
    (the server ends the challenge itself after a few wrong codes: then ``ChallengeGone``)."""

    def __init__(self, description: str = ""):
        super().__init__(description or "The user code was not accepted.")
        self.description = description


# -- what the server tells us ------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """The OAuth2 client (application) asking for the user's login or consent."""

    client_id: str
    name: str  # client_name, or the client_id when the client has no name
    logo_uri: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    client_uri: str = ""
    skip_consent: bool = False
    # OpenID Connect Back-Channel / Front-Channel Logout: where the server (resp. the
    # user's browser) tells this client that the user logged out; "" when it is not told.
    backchannel_logout_uri: str = ""
    frontchannel_logout_uri: str = ""

    @classmethod
    def from_json(cls, data: dict | None) -> Client | None:
        if not data:
            return None
        client_id = data.get("client_id") or ""
        return cls(
            client_id=client_id,
            name=data.get("client_name") or client_id,
            logo_uri=data.get("logo_uri") or "",
            policy_uri=data.get("policy_uri") or "",
            tos_uri=data.get("tos_uri") or "",
            client_uri=data.get("client_uri") or "",
            skip_consent=bool(data.get("skip_consent")),
            backchannel_logout_uri=_string(data.get("backchannel_logout_uri")),
            frontchannel_logout_uri=_string(data.get("frontchannel_logout_uri")),
        )


@dataclass(frozen=True)
class LoginRequest:
    """Hydra's ``oAuth2LoginRequest``: someone wants to log in to ``client``."""

    challenge: str
    skip: bool  # the server already knows this browser's user: do not ask again
    subject: str  # the user's id when skip is true
    client: Client | None
    login_hint: str = ""  # OpenID Connect login_hint, e.g. an email address
    requested_scope: tuple[str, ...] = ()
    request_url: str = ""  # the authorization request that started this flow

    @property
    def from_device(self) -> bool:
        return is_device_url(self.request_url)

    @classmethod
    def from_json(cls, data: dict) -> LoginRequest:
        context = data.get("oidc_context") or {}
        return cls(
            challenge=data.get("challenge") or "",
            skip=bool(data.get("skip")),
            subject=data.get("subject") or "",
            client=Client.from_json(data.get("client")),
            login_hint=context.get("login_hint") or "",
            requested_scope=tuple(data.get("requested_scope") or ()),
            request_url=_string(data.get("request_url")),
        )


@dataclass(frozen=True)
class ConsentRequest:
    """Hydra's ``oAuth2ConsentRequest``: ``client`` asks ``subject`` for these scopes."""

    challenge: str
    skip: bool  # the user already agreed to these scopes for this client (remembered)
    subject: str
    client: Client | None
    requested_scope: tuple[str, ...] = ()
    requested_access_token_audience: tuple[str, ...] = ()
    request_url: str = ""

    @property
    def from_device(self) -> bool:
        """A device asks (RFC 8628): the page should say so, against remote phishing."""
        return is_device_url(self.request_url)

    @classmethod
    def from_json(cls, data: dict) -> ConsentRequest:
        return cls(
            challenge=data.get("challenge") or "",
            skip=bool(data.get("skip")),
            subject=data.get("subject") or "",
            client=Client.from_json(data.get("client")),
            requested_scope=tuple(data.get("requested_scope") or ()),
            requested_access_token_audience=tuple(
                data.get("requested_access_token_audience") or ()
            ),
            request_url=_string(data.get("request_url")),
        )


@dataclass(frozen=True)
class LogoutRequest:
    """Hydra's ``oAuth2LogoutRequest``: end ``subject``'s session (``client`` may be None)."""

    challenge: str
    subject: str
    client: Client | None
    sid: str = ""  # the login session (browser session) that ends

    @classmethod
    def from_json(cls, data: dict) -> LogoutRequest:
        return cls(
            challenge=data.get("challenge") or "",
            subject=data.get("subject") or "",
            client=Client.from_json(data.get("client")),
            sid=_string(data.get("sid")),
        )


@dataclass(frozen=True)
class ConsentSession:
    """Hydra's ``oAuth2ConsentSession``: ``client`` was granted these scopes (one login)."""

    client: Client | None
    grant_scope: tuple[str, ...]
    remember: bool
    handled_at: str  # RFC 3339, as the server wrote it
    login_session_id: str = ""  # the login session (``sid``) it was granted in

    @classmethod
    def from_json(cls, data) -> ConsentSession | None:
        if not isinstance(data, dict):
            return None
        consent_request = data.get("consent_request")
        if not isinstance(consent_request, dict):
            consent_request = {}
        client = consent_request.get("client")
        scopes = data.get("grant_scope")
        return cls(
            client=Client.from_json(client if isinstance(client, dict) else None),
            grant_scope=tuple(_strings(scopes)),
            remember=bool(data.get("remember")),
            handled_at=str(data.get("handled_at") or ""),
            login_session_id=_string(consent_request.get("login_session_id")),
        )


@dataclass(frozen=True)
class ConsentSessionList:
    """One page of consent sessions, and how many the server has in all (``X-Total-Count``;
    the page's length when the header is missing or not a number)."""

    sessions: tuple[ConsentSession, ...]
    total: int

    @property
    def complete(self) -> bool:
        return self.total <= len(self.sessions)


def is_device_url(url: str) -> bool:
    """Is ``url`` the server's device verification URI (``{public}/oauth2/device/verify``)?"""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return path.rstrip("/").endswith(DEVICE_VERIFY_PATH)


def _string(value) -> str:
    return value if isinstance(value, str) else ""


def _strings(value) -> list[str]:
    """The strings of a JSON array (anything else in it, or a non-array, is ignored)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


# -- the client ----------------------------------------------------------------------------


class AdminApi:
    """Calls to ``HYDRA_ADMIN_URL``. Safe to share between threads."""

    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()

    # Login ------------------------------------------------------------------------------

    def get_login_request(self, challenge: str) -> LoginRequest:
        return LoginRequest.from_json(self._call("GET", "login", "login_challenge", challenge))

    def accept_login(
        self,
        challenge: str,
        subject: str,
        remember: bool = False,
        remember_for: int = 0,
        acr: str = "",
        amr: list[str] | None = None,
    ) -> str:
        """The user proved who they are; returns where to send the browser."""
        body: dict = {"subject": subject, "remember": remember}
        if remember:
            body["remember_for"] = remember_for
        if acr:
            body["acr"] = acr
        if amr:
            body["amr"] = amr
        return self._redirect("login/accept", "login_challenge", challenge, body)

    def reject_login(self, challenge: str, error: str, description: str) -> str:
        body = {"error": error, "error_description": description}
        return self._redirect("login/reject", "login_challenge", challenge, body)

    # Consent ----------------------------------------------------------------------------

    def get_consent_request(self, challenge: str) -> ConsentRequest:
        data = self._call("GET", "consent", "consent_challenge", challenge)
        return ConsentRequest.from_json(data)

    def accept_consent(
        self,
        challenge: str,
        grant_scope: list[str],
        grant_access_token_audience: list[str],
        remember: bool = False,
        remember_for: int = 0,
        id_token_claims: dict | None = None,
        access_token_claims: dict | None = None,
    ) -> str:
        """Grant these scopes. The claims go into the ID token and the access token's
        introspection (``ext``) respectively; keep secrets out of both."""
        body: dict = {
            "grant_scope": grant_scope,
            "grant_access_token_audience": grant_access_token_audience,
            "remember": remember,
            "session": {
                "id_token": id_token_claims or {},
                "access_token": access_token_claims or {},
            },
        }
        if remember:
            body["remember_for"] = remember_for
        return self._redirect("consent/accept", "consent_challenge", challenge, body)

    def reject_consent(self, challenge: str, error: str, description: str) -> str:
        body = {"error": error, "error_description": description}
        return self._redirect("consent/reject", "consent_challenge", challenge, body)

    # Logout -----------------------------------------------------------------------------

    def get_logout_request(self, challenge: str) -> LogoutRequest:
        return LogoutRequest.from_json(self._call("GET", "logout", "logout_challenge", challenge))

    def accept_logout(self, challenge: str) -> str:
        return self._redirect("logout/accept", "logout_challenge", challenge, None)

    def reject_logout(self, challenge: str) -> None:
        """The user stays logged in; the server answers 204 and there is nowhere to go."""
        self._call("PUT", "logout/reject", "logout_challenge", challenge)

    # Device flow (RFC 8628) -----------------------------------------------------------

    def accept_user_code(self, challenge: str, user_code: str) -> str:
        """The user typed the code their device shows; returns where to send the browser
        (on to the ordinary login and consent). Raises ``UserCodeRejected`` for a wrong,
        expired or used code, ``ChallengeGone`` once the challenge is dead."""
        try:
            return self._redirect(
                "device/accept", "device_challenge", challenge, {"user_code": user_code}
            )
        except AdminApiError as exc:
            if exc.status == 400 and exc.error in ("invalid_grant", "invalid_request"):
                raise UserCodeRejected(exc.description) from None
            raise

    # Sessions (what the user granted and where they are remembered) -------------------

    def list_consent_sessions(self, subject: str) -> list[ConsentSession]:
        """Every consent ``subject`` granted and did not revoke, newest first (all pages)."""
        sessions: list[ConsentSession] = []
        params = {"subject": subject, "page_size": str(PAGE_SIZE)}
        for _ in range(MAX_PAGES):
            response = self._send("GET", f"{SESSIONS}/consent", params, "list consent sessions")
            data = _answer_list(response)
            sessions += [s for s in map(ConsentSession.from_json, data) if s is not None]
            token = _next_page_token(response)
            if not token or not data:
                break
            params = {**params, "page_token": token}
        return sessions

    def list_login_session_consents(self, subject: str, sid: str) -> ConsentSessionList:
        """The consent sessions granted in one login session (``sid``, a browser session):
        the clients that got tokens in it, which a logout of that session concerns. Reads one
        page (``LOGIN_SESSION_PAGE_SIZE``), newest first, with the shorter ``LIST_TIMEOUT``.

        A server that ignored ``login_session_id`` would list every login session's grants:
        those naming another session are dropped here. ``total`` is what was kept plus what
        the server has beyond this page, so ``complete`` is true only if nothing is unread.
        """
        params = {
            "subject": subject,
            "login_session_id": sid,
            "page_size": str(LOGIN_SESSION_PAGE_SIZE),
        }
        response = self._send(
            "GET", f"{SESSIONS}/consent", params, "list consent sessions", timeout=LIST_TIMEOUT
        )
        data = _answer_list(response)
        found = [s for s in map(ConsentSession.from_json, data) if s is not None]
        sessions = tuple(s for s in found if s.login_session_id in ("", sid))
        unread = max(_total_count(response, len(data)) - len(data), 0)
        return ConsentSessionList(sessions, len(sessions) + unread)

    def revoke_consent_sessions(self, subject: str, client_id: str) -> None:
        """Forget what ``subject`` granted ``client_id``; the server revokes its tokens too."""
        params = {"subject": subject, "client": client_id}
        _answer(self._send("DELETE", f"{SESSIONS}/consent", params, "revoke consent sessions"))

    def revoke_login_sessions(self, subject: str) -> None:
        """Forget every remembered login of ``subject``: every browser logs in again."""
        params = {"subject": subject}
        _answer(self._send("DELETE", f"{SESSIONS}/login", params, "revoke login sessions"))

    # Plumbing ---------------------------------------------------------------------------

    def _redirect(self, action: str, param: str, challenge: str, body: dict | None) -> str:
        data = self._call("PUT", action, param, challenge, body)
        redirect_to = data.get("redirect_to")
        if not isinstance(redirect_to, str) or not redirect_to:
            raise AdminApiError(200, "invalid_response", "The answer had no redirect_to.")
        return redirect_to

    def _call(
        self, method: str, action: str, param: str, challenge: str, body: dict | None = None
    ) -> dict:
        path = f"{REQUESTS}/{action}"
        return _answer(self._send(method, path, {param: challenge}, action, body))

    def _send(
        self,
        method: str,
        path: str,
        params: dict,
        action: str,
        body: dict | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> requests.Response:
        try:
            response = self.http.request(
                method, self.base_url + path, params=params, json=body, timeout=timeout
            )
        except requests.RequestException as exc:
            # Log the kind of failure, not the URL: its query string carries the challenge
            # (or the subject).
            log.warning("admin API %s %s unreachable: %s", method, action, type(exc).__name__)
            raise AdminApiUnreachable(str(type(exc).__name__)) from None
        log.info("admin API %s %s -> %s", method, action, response.status_code)
        return response


def _answer(response: requests.Response) -> dict:
    """The JSON body of a success, or the matching exception."""
    status = response.status_code
    data = _json(response)
    if status == 204:
        return {}
    if 200 <= status < 300:
        if data is None:
            raise AdminApiError(status, "invalid_response", "The answer was not a JSON object.")
        return data
    data = data or {}
    if status == 410:
        redirect_to = data.get("redirect_to")
        raise ChallengeGone(redirect_to if isinstance(redirect_to, str) else "")
    if status == 404:
        raise ChallengeNotFound(str(data.get("error_description") or "unknown challenge"))
    if status in (502, 503, 504):
        raise AdminApiUnreachable(f"HTTP {status}")  # a proxy in front could not reach it
    raise AdminApiError(
        status, str(data.get("error") or ""), str(data.get("error_description") or "")
    )


def _answer_list(response: requests.Response) -> list:
    """The JSON array of a listing, or the matching exception."""
    if not 200 <= response.status_code < 300:
        _answer(response)  # raises the error's exception
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, list):
        raise AdminApiError(response.status_code, "invalid_response", "The answer was not a list.")
    return _without_surrogates(data)


def _total_count(response: requests.Response, default: int) -> int:
    """Hydra's ``X-Total-Count`` header, or ``default`` when it is missing or not a count."""
    value = response.headers.get("X-Total-Count", "").strip()
    return int(value) if value.isascii() and value.isdigit() else default


def _next_page_token(response: requests.Response) -> str:
    """The ``page_token`` of the ``Link: <…>; rel="next"`` header, or "" on the last page.
    Only the token is taken: the next request goes to our own base URL, not the link's."""
    try:
        url = response.links.get("next", {}).get("url", "")
    except (TypeError, ValueError):
        return ""
    tokens = parse_qs(urlsplit(url).query).get("page_token") or [""]
    return tokens[0]


def _json(response: requests.Response) -> dict | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return _without_surrogates(data) if isinstance(data, dict) else None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _without_surrogates(value):
    """JSON can spell lone surrogates (``"\\ud800"``), which no page can encode as UTF-8:
    make them U+FFFD, so a strange client name shows a "�" instead of an error page."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value
