"""The OAuth 2.0 / OpenID Connect client itself, on Authlib's ``OAuth2Session``.

Authlib builds the authorization URL (with the PKCE S256 challenge, RFC 7636 §4.2) and
sends the token, refresh and revocation requests with client authentication: HTTP Basic
with the secret, or (``private_key_jwt``, RFC 7523 §2.2) a fresh client assertion signed
with the client's key, through Authlib's ``PrivateKeyJWT``. Every request
goes through the ``requests.Session`` given to the app (tests give one with a fake server
mounted) and is recorded as an ``Exchange`` for the flow inspector.

Per login (``LoginOptions``), the authorization request may be pushed (PAR, RFC 9126 §2),
the tokens bound to the client's DPoP key (RFC 9449: a fresh proof on each token, PAR and
userinfo request, retried once when the server asks for a nonce) and a resource named
(RFC 8707 §2). After login, the access token can be exchanged for one for another audience
(RFC 8693 token exchange).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.client import DEFAULT_HEADERS
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from demo_client.client_key import ASSERTION_TYPE
from demo_client.config import Config
from demo_client.discovery import ServerMetadata
from demo_client.dpop import DpopKey, nonce_asked
from demo_client.transport import (
    Exchange,
    ResponseCapture,
    Unreachable,
    describe_failure,
    exchange_from_response,
    failed_exchange,
    send,
    without_surrogates,
)


@dataclass(frozen=True)
class LoginOptions:
    """How one login is made: pushed (RFC 9126), DPoP-bound (RFC 9449), for a resource
    (RFC 8707). The settings are the defaults; the home page's form picks per login."""

    par: bool = False
    dpop: bool = False
    resource: str = ""
    par_required: bool = False  # discovery said require_pushed_authorization_requests

    @classmethod
    def defaults(cls, config: Config) -> LoginOptions:
        return cls(par=config.use_par, dpop=config.use_dpop, resource=config.resource)


@dataclass
class PendingAuthorization:
    """What the client must remember between /login and /callback (RFC 6749 §4.1.1)."""

    state: str
    nonce: str
    code_verifier: str
    code_challenge: str
    url: str
    params: list[tuple[str, str]]  # what the browser carries (with PAR: the reference only)
    options: LoginOptions = field(default_factory=LoginOptions)
    pushed: Exchange | None = None  # the PAR request, when the parameters were pushed
    created_at: float = field(default_factory=time.time)


def add_query(url: str, params: list[tuple[str, str]]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # RFC 8693 §3
DEVICE_AUTH_PATH = "/oauth2/device/auth"  # Hydra's, when discovery does not name one


@dataclass
class PendingDevice:
    """What the client keeps between the device authorization request and the tokens
    (RFC 8628 §3.2); the device_code never leaves this server."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float
    interval: float
    next_poll_at: float = 0.0
    polls: int = 0
    run: int = 0  # identical answers in a row (the inspector shows a run as one step)
    last_answer: str = ""  # authorization_pending, slow_down…
    created_at: float = field(default_factory=time.time)


class TokenRequestFailed(Exception):
    """The token (or revocation) endpoint answered with an error (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, exchange: Exchange):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.exchange = exchange


class OAuthClient:
    def __init__(self, config: Config, http: requests.Session, dpop_key: DpopKey):
        self.config = config
        self.http = http
        self.dpop_key = dpop_key

    def _session(
        self, scope: str | None = None, audience: str = ""
    ) -> tuple[OAuth2Session, ResponseCapture]:
        method = self.config.token_endpoint_auth_method
        credential = self.config.client_secret or None
        key = self.config.client_key
        if key is not None:  # a new assertion for each request, aud = the token endpoint
            method, credential = key.auth(audience), key.key
        session = OAuth2Session(
            self.config.client_id,
            credential,
            token_endpoint_auth_method=method,
            revocation_endpoint_auth_method=method,
            scope=scope,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            default_timeout=self.config.http_timeout,
        )
        # Share the app's transport (adapters, TLS and proxy settings) with Authlib's session.
        for prefix, adapter in self.http.adapters.items():
            session.mount(prefix, adapter)
        session.verify = self.http.verify
        session.trust_env = self.http.trust_env
        session.proxies = dict(self.http.proxies)
        capture = ResponseCapture()
        session.hooks["response"].append(capture)
        return session, capture

    # -- the front channel -------------------------------------------------------------

    def authorization_request(
        self, metadata: ServerMetadata, prompt: str = "", options: LoginOptions | None = None
    ) -> PendingAuthorization:
        """RFC 6749 §4.1.1 + RFC 7636 §4.3 + OIDC Core §3.1.2.1: a fresh state, nonce and
        PKCE verifier, and the URL the browser is sent to; pushed first with PAR.

        Raises TokenRequestFailed (the PAR request was refused) or Unreachable."""
        options = options or LoginOptions()
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        extra = {"nonce": nonce}
        if prompt:
            extra["prompt"] = prompt
        if options.resource:
            extra["resource"] = options.resource
        if options.dpop and not options.par:  # with PAR the proof binds the code (§10.1)
            extra["dpop_jkt"] = self.dpop_key.thumbprint
        session, _ = self._session(scope=self.config.scope)
        url, _ = session.create_authorization_url(
            metadata.authorization_endpoint, state=state, code_verifier=verifier, **extra
        )
        pending = PendingAuthorization(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            code_challenge=create_s256_code_challenge(verifier),
            url=url,
            params=parse_qsl(urlsplit(url).query, keep_blank_values=True),
            options=options,
        )
        if options.par:
            self._push(metadata, pending)
        return pending

    def _push(self, metadata: ServerMetadata, pending: PendingAuthorization) -> None:
        """RFC 9126 §2: send the parameters with client authentication; the browser then
        carries only client_id and the request_uri (§4)."""
        endpoint = "pushed_authorization_request_endpoint"
        url = getattr(metadata, endpoint)
        form = dict(pending.params)

        def push(headers: dict) -> tuple[requests.Response, Exchange]:
            return self._authenticated_post(url, form, self.assertion_audience(metadata), headers)

        if pending.options.dpop:
            response, exchange = self._dpop_call("POST", metadata.as_published(endpoint), push)
        else:
            response, exchange = push({})
        pending.pushed = exchange
        body = exchange.body if isinstance(exchange.body, dict) else {}
        request_uri = body.get("request_uri")
        if response.status_code != 201 or not isinstance(request_uri, str) or not request_uri:
            raise _failed(exchange, "the pushed authorization request failed")
        pending.params = [("client_id", self.config.client_id), ("request_uri", request_uri)]
        pending.url = add_query(metadata.authorization_endpoint, pending.params)

    # -- the back channel ----------------------------------------------------------------

    @staticmethod
    def assertion_audience(metadata: ServerMetadata) -> str:
        """The ``aud`` of a client assertion: the token endpoint's URL (OIDC Core §9) as
        the server publishes it, not as rewritten for the back channel, at every endpoint
        (the token, revocation, device authorization and PAR endpoints alike)."""
        return metadata.as_published("token_endpoint")

    def _token_call(self, url: str, call: Callable[[OAuth2Session], object], audience: str):
        """Run one Authlib call; return (its result, the Exchange).

        Raises TokenRequestFailed for an error answer and Unreachable for none."""
        session, capture = self._session(audience=audience)
        started = time.time()
        try:
            result = call(session)
        except (OAuthError, OAuth2Error) as exc:
            exchange = self._recorded(capture, url, started, exc)
            raise TokenRequestFailed(
                exc.error or "error", exc.description or "", exchange
            ) from None
        except requests.RequestException as exc:
            exchange = self._recorded(capture, url, started, exc)
            if capture.last is None:
                raise Unreachable(url, describe_failure(exc), exchange) from None
            raise TokenRequestFailed(
                "server_error", f"HTTP {exchange.status} from the server", exchange
            ) from None
        except ValueError as exc:  # a response that is not a JSON object
            exchange = self._recorded(capture, url, started, exc)
            raise TokenRequestFailed("invalid_response", str(exc), exchange) from None
        return result, self._recorded(capture, url, started, None)

    @staticmethod
    def _recorded(
        capture: ResponseCapture, url: str, started: float, exc: Exception | None
    ) -> Exchange:
        if capture.last is not None:
            return exchange_from_response(capture.last, started)
        return failed_exchange("POST", url, started, exc or RuntimeError("no response"))

    def exchange_code(
        self, metadata: ServerMetadata, code: str, pending: PendingAuthorization
    ) -> tuple[dict, Exchange]:
        """RFC 6749 §4.1.3 with the PKCE code_verifier (RFC 7636 §4.5), the resource
        (RFC 8707 §2.2) and a DPoP proof (RFC 9449 §5) when the login asked for them."""
        extra = {"resource": pending.options.resource} if pending.options.resource else {}

        def fetch(session: OAuth2Session, headers: dict):
            return session.fetch_token(
                metadata.token_endpoint,
                headers=headers,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=self.config.redirect_uri,
                **extra,
            )

        return self._token_grant(metadata, fetch, pending.options.dpop)

    def refresh(
        self, metadata: ServerMetadata, refresh_token: str, dpop: bool = False, resource: str = ""
    ) -> tuple[dict, Exchange]:
        """RFC 6749 §6 (the server rotates the refresh token on every use); DPoP-bound
        tokens are refreshed with a proof of the same key (RFC 9449 §5)."""
        extra = {"resource": resource} if resource else {}

        def fetch(session: OAuth2Session, headers: dict):
            return session.refresh_token(
                metadata.token_endpoint, refresh_token=refresh_token, headers=headers, **extra
            )

        return self._token_grant(metadata, fetch, dpop)

    def _token_grant(
        self, metadata: ServerMetadata, fetch: Callable, dpop: bool
    ) -> tuple[dict, Exchange]:
        """One token request through Authlib, with a DPoP proof for the token endpoint as
        published (its ``htu``) when ``dpop``."""
        url = metadata.token_endpoint

        def call(headers: dict):
            return self._token_call(
                url,
                lambda session: fetch(session, {**DEFAULT_HEADERS, **headers}),
                self.assertion_audience(metadata),
            )

        if dpop:
            token, exchange = self._dpop_call("POST", metadata.as_published("token_endpoint"), call)
        else:
            token, exchange = call({})
        return without_surrogates(dict(token)), exchange

    def _dpop_call(self, htm: str, htu: str, call: Callable, access_token: str | None = None):
        """``call(headers)`` with a fresh proof; once more, with the server's nonce, when
        it answers use_dpop_nonce (RFC 9449 §8, §9). The retry's Exchange keeps the first
        attempt as ``previous``. TokenRequestFailed from ``call`` is raised as it comes."""

        def attempt(nonce: str | None):
            proof = self.dpop_key.proof(htm, htu, access_token, nonce)
            try:
                result = call({"DPoP": proof})
            except TokenRequestFailed as exc:
                return None, exc, exc.exchange
            return result, None, result[1]

        result, failure, first = attempt(None)
        nonce = nonce_asked(first)
        if nonce:
            result, failure, retried = attempt(nonce)
            retried.previous = first
        if failure is not None:
            raise failure
        return result

    def revoke(self, metadata: ServerMetadata, token: str, hint: str) -> Exchange:
        """RFC 7009 §2.1; a 200 means "revoked, or never valid" (§2.2)."""
        response, exchange = self._token_call(
            metadata.revocation_endpoint,
            lambda session: session.revoke_token(
                metadata.revocation_endpoint, token=token, token_type_hint=hint
            ),
            self.assertion_audience(metadata),
        )
        if response.status_code != 200:
            body = exchange.body if isinstance(exchange.body, dict) else {}
            raise TokenRequestFailed(
                str(body.get("error") or "revocation_failed"),
                str(body.get("error_description") or f"HTTP {response.status_code}"),
                exchange,
            )
        return exchange

    # -- token exchange (RFC 8693) ------------------------------------------------------

    def exchange_token(
        self, metadata: ServerMetadata, subject_token: str, audience: str, dpop: bool = False
    ) -> tuple[dict, Exchange]:
        """RFC 8693 §2.1: trade the user's access token (the ``subject_token``) for an
        access token for ``audience``, with this client's authentication, and a DPoP proof
        for the token endpoint when the session's tokens are DPoP-bound (RFC 9449 §5).

        Raises TokenRequestFailed (an error, or an answer without an access token) or
        Unreachable."""
        url = metadata.token_endpoint
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
            "audience": audience,
        }

        def post(headers: dict) -> tuple[requests.Response, Exchange]:
            return self._authenticated_post(url, form, self.assertion_audience(metadata), headers)

        if dpop:
            htu = metadata.as_published("token_endpoint")
            response, exchange = self._dpop_call("POST", htu, post)
        else:
            response, exchange = post({})
        body = exchange.body if isinstance(exchange.body, dict) else None
        if response.status_code != 200 or not body or not body.get("access_token"):
            raise _failed(exchange, "the token exchange request failed")
        if not isinstance(body["access_token"], str):
            raise TokenRequestFailed(
                "invalid_response", "the access_token in the answer is not a string", exchange
            )
        return without_surrogates(dict(body)), exchange

    # -- the device authorization grant (RFC 8628) ----------------------------------------

    def _authenticated_post(
        self, url: str, form: dict, audience: str, headers: dict | None = None
    ) -> tuple[requests.Response, Exchange]:
        """A form POST with this client's authentication (as at the token endpoint)."""
        auth = None
        key = self.config.client_key
        if key is not None:  # private_key_jwt: a fresh assertion (RFC 7523 §2.2)
            form = {
                **form,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": key.sign_assertion(self.config.client_id, audience),
            }
        elif self.config.client_secret:  # client_secret_basic: form-encoded first (§2.3.1)
            auth = (
                quote(self.config.client_id, safe=""),
                quote(self.config.client_secret, safe=""),
            )
        else:
            form = {**form, "client_id": self.config.client_id}
        return send(
            self.http,
            "POST",
            url,
            self.config.http_timeout,
            data=form,
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
        )

    def device_authorization(
        self, url: str, metadata: ServerMetadata
    ) -> tuple[PendingDevice, Exchange]:
        """RFC 8628 §3.1: ask for a device code and a user code.

        Raises TokenRequestFailed (an error or an answer without the codes) or Unreachable."""
        response, exchange = self._authenticated_post(
            url, {"scope": self.config.scope}, self.assertion_audience(metadata)
        )
        body = exchange.body if isinstance(exchange.body, dict) else None
        if response.status_code != 200 or body is None:
            raise _failed(exchange, "the device authorization request failed")
        try:
            return _pending_device(body), exchange
        except (KeyError, TypeError, ValueError):
            raise TokenRequestFailed(
                "invalid_response",
                "the answer lacks a device_code, user_code or verification_uri",
                exchange,
            ) from None

    def device_token(
        self, metadata: ServerMetadata, device_code: str
    ) -> tuple[dict | None, Exchange]:
        """RFC 8628 §3.4: one poll. (the tokens, the Exchange); (None, …) while pending
        or slowed down (the error is in the Exchange). Raises TokenRequestFailed otherwise."""
        form = {"grant_type": DEVICE_GRANT, "device_code": device_code}
        response, exchange = self._authenticated_post(
            metadata.token_endpoint, form, self.assertion_audience(metadata)
        )
        body = exchange.body if isinstance(exchange.body, dict) else None
        if response.status_code == 200 and body and isinstance(body.get("access_token"), str):
            return body, exchange
        if body and body.get("error") in ("authorization_pending", "slow_down"):
            return None, exchange
        raise _failed(exchange, "the token request failed")

    def jwks(self, metadata: ServerMetadata) -> tuple[dict, Exchange]:
        """The public keys that verify ID tokens (OIDC Core §10.1.1)."""
        response, exchange = send(self.http, "GET", metadata.jwks_uri, self.config.http_timeout)
        return (exchange.body if isinstance(exchange.body, dict) else {}), exchange

    def userinfo(self, metadata: ServerMetadata, access_token: str, dpop: bool = False) -> Exchange:
        """OIDC Core §5.3.1, the access token as a Bearer token (RFC 6750 §2.1), or a
        DPoP-bound one with the DPoP scheme and a proof with ``ath`` (RFC 9449 §7.1)."""
        scheme = "DPoP" if dpop else "Bearer"

        def call(headers: dict):
            return send(
                self.http,
                "GET",
                metadata.userinfo_endpoint,
                self.config.http_timeout,
                headers={
                    "Authorization": f"{scheme} {access_token}",
                    "Accept": "application/json",
                    **headers,
                },
            )

        if not dpop:
            return call({})[1]
        htu = metadata.as_published("userinfo_endpoint")
        return self._dpop_call("GET", htu, call, access_token)[1]

    def introspect(self, token: str) -> Exchange:
        """RFC 7662 §2.1 on the admin API (trusted network: no client authentication)."""
        url = self.config.admin_url.rstrip("/") + "/admin/oauth2/introspect"
        _, exchange = send(
            self.http,
            "POST",
            url,
            self.config.http_timeout,
            data={"token": token},
            headers={"Accept": "application/json"},
        )
        return exchange


def _failed(exchange: Exchange, what: str) -> TokenRequestFailed:
    body = exchange.body if isinstance(exchange.body, dict) else {}
    error = body.get("error")
    if isinstance(error, str) and error:
        return TokenRequestFailed(error, str(body.get("error_description") or ""), exchange)
    kind = "a JSON answer without an error" if body else "an answer that is not JSON"
    return TokenRequestFailed(
        "invalid_response", f"{what}: HTTP {exchange.status}, {kind}", exchange
    )


def _pending_device(body: dict) -> PendingDevice:
    names = ("device_code", "user_code", "verification_uri")
    values = {name: body[name] for name in names}
    if not all(isinstance(value, str) and value for value in values.values()):
        raise ValueError("missing codes")
    now = time.time()
    complete = body.get("verification_uri_complete")
    return PendingDevice(
        **values,
        verification_uri_complete=complete if isinstance(complete, str) else "",
        expires_at=now + float(body.get("expires_in") or 1800),
        interval=max(float(body.get("interval") or 5), 0.0),
        created_at=now,
    )
