"""The client's side of each flow step, recorded for the inspector as it happens.

``ClientFlow`` works on one browser's state (the caller holds its lock): start a login,
handle the callback (state, code exchange, ID token checks, userinfo, introspection),
refresh, revoke, exchange the access token (RFC 8693) and log out. Failures become
``errors.Explained`` after the failing step is recorded, so the inspector shows what went
wrong too.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace

from werkzeug.datastructures import MultiDict

from demo_client import errors, inspector
from demo_client.discovery import ServerMetadata, same_issuer
from demo_client.id_token import IdTokenResult, validate_id_token
from demo_client.oauth import (
    LoginOptions,
    PendingAuthorization,
    TokenRequestFailed,
    add_query,
)
from demo_client.services import Services
from demo_client.store import BrowserState
from demo_client.transport import Exchange, Unreachable

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})


def dpop_bound(tokens: dict) -> bool:
    """Whether the token endpoint bound these tokens to the DPoP key (RFC 9449 §5)."""
    return str(tokens.get("token_type", "")).lower() == "dpop"


class ClientFlow:
    def __init__(self, services: Services, state: BrowserState):
        self.services = services
        self.config = services.config
        self.oauth = services.oauth
        self.state = state

    # -- shared steps ------------------------------------------------------------------

    def metadata(self, always_record: bool = False) -> ServerMetadata:
        discovered, fetched_now = self.services.discovery.get()
        if fetched_now or always_record:
            self.state.record(
                inspector.discovery_step(
                    discovered.exchange, fetched_now, discovered.metadata.rewritten
                )
            )
        return discovered.metadata

    def _check_id_token(
        self,
        metadata: ServerMetadata,
        id_token: str,
        access_token: str | None,
        nonce: str | None,
        original: dict | None = None,
    ) -> IdTokenResult:
        try:
            jwks, exchange = self.oauth.jwks(metadata)
        except Unreachable as exc:
            self.state.record(inspector.jwks_step(exc.exchange))
            raise errors.unreachable(exc.url, exc.reason, "fetching the signing keys") from None
        self.state.record(inspector.jwks_step(exchange))
        try:
            result = validate_id_token(
                id_token,
                jwks,
                issuer=metadata.issuer,
                client_id=self.config.client_id,
                nonce=nonce,
                access_token=access_token,
                original=original,
            )
        except ValueError as exc:
            raise errors.Explained(
                title="The ID token cannot be read",
                code="invalid_id_token",
                description=str(exc),
                explanation="The token endpoint returned something that is not a JWT.",
                next_step="Log in again; check the authorization server's version.",
            ) from None
        self.state.record(inspector.id_token_step(result, refreshed=original is not None))
        if not result.ok:
            self.state.forget_tokens()
            raise errors.id_token_refused(result.checks)
        return result

    def _userinfo(self, metadata: ServerMetadata) -> None:
        tokens = self.state.tokens or {}
        if not metadata.userinfo_endpoint or not tokens.get("access_token"):
            return
        subject = self.state.id_token.claims.get("sub") if self.state.id_token else None
        try:
            exchange = self.oauth.userinfo(metadata, tokens["access_token"], dpop_bound(tokens))
        except Unreachable as exc:
            self._record(inspector.userinfo_step(exc.exchange, subject), exc.exchange)
            self.state.userinfo_error = f"{exc.url}: {exc.reason}"
            return
        self._record(inspector.userinfo_step(exchange, subject), exchange)
        if exchange.status == 200 and isinstance(exchange.body, dict):
            self.state.userinfo = exchange.body
        else:
            body = exchange.body if isinstance(exchange.body, dict) else {}
            self.state.userinfo_error = (
                f"HTTP {exchange.status}: {body.get('error', '')} "
                f"{body.get('error_description', '')}".strip()
            )

    def _introspect(self, token: str, label: str) -> None:
        if not self.config.admin_url:
            if not any(label == "(not configured)" for label, _ in self.state.introspection):
                self.state.record(inspector.introspection_step(None, label, False))
                self.state.introspection.append(("(not configured)", None))
            return
        try:
            exchange = self.oauth.introspect(token)
        except Unreachable as exc:
            self.state.record(inspector.introspection_step(exc.exchange, label, True))
            self.state.introspection.append((label, None))
            return
        self.state.record(inspector.introspection_step(exchange, label, True))
        ok = exchange.status == 200 and isinstance(exchange.body, dict)
        self.state.introspection.append((label, exchange.body if ok else None))

    def _token_failure(self, exc: Exception, step, endpoint: str, what: str):
        """Record the failed token/refresh/revoke step; return the Explained to raise."""
        self._record(step, exc.exchange)
        if isinstance(exc, Unreachable):
            return errors.unreachable(exc.url, exc.reason, what)
        return errors.token_error(exc.error, exc.description, endpoint, exc.exchange.status)

    # -- login -------------------------------------------------------------------------

    def start_login(self, prompt: str = "", options: LoginOptions | None = None) -> str:
        """A new authorization request (RFC 6749 §4.1.1), pushed first with PAR (RFC 9126);
        the URL to send the browser to."""
        words = prompt.split()
        if any(word not in PROMPT_VALUES for word in words):
            raise errors.Explained(
                title="Unknown prompt value",
                code="invalid_prompt",
                description=f"prompt={prompt}",
                explanation="OpenID Connect defines prompt=none, login, consent and "
                "select_account (OIDC Core §3.1.2.1).",
                next_step="Use /login, /login?prompt=login or /login?prompt=consent.",
            )
        started = time.time()
        self.state.steps = []  # a new flow starts a new timeline
        self.state.message = ""
        self.state.ended = None
        metadata = self.metadata(always_record=True)
        options = self._options(metadata, options or LoginOptions.defaults(self.config))
        pending = self._authorization_request(metadata, " ".join(words), options)
        self.state.add_pending(pending)
        self.state.record(
            inspector.authorization_request_step(
                pending.url, pending.params, started, pushed=pending.pushed is not None
            )
        )
        return pending.url

    def _authorization_request(
        self, metadata: ServerMetadata, prompt: str, options: LoginOptions
    ) -> PendingAuthorization:
        """The pending request; with PAR the pushed request recorded (or its failure)."""
        auth_method = self.config.token_endpoint_auth_method
        try:
            pending = self.oauth.authorization_request(metadata, prompt, options)
        except (TokenRequestFailed, Unreachable) as exc:
            step = inspector.par_step(exc.exchange, auth_method)
            endpoint = metadata.pushed_authorization_request_endpoint
            raise self._token_failure(
                exc, step, endpoint, "the pushed authorization request"
            ) from None
        if pending.pushed is not None:
            step = inspector.par_step(pending.pushed, auth_method)
            if options.par_required:
                step.notes.append(
                    "Pushed because discovery says require_pushed_authorization_requests: "
                    "true (RFC 9126 §5)."
                )
            self._record(step, pending.pushed)
        return pending

    @staticmethod
    def _options(metadata: ServerMetadata, options: LoginOptions) -> LoginOptions:
        """PAR when the server requires it (RFC 9126 §5); an error when it offers none."""
        if metadata.requires_par:
            options = replace(options, par=True, par_required=True)
        if options.par and not metadata.pushed_authorization_request_endpoint:
            raise errors.Explained(
                title="The server offers no pushed authorization requests",
                code="par_not_supported",
                explanation="Discovery names no pushed_authorization_request_endpoint "
                "(RFC 9126 §5), so the parameters cannot be pushed.",
                next_step="Log in without “Use PAR”, or unset DEMO_CLIENT_USE_PAR.",
            )
        return options

    def _record(self, step: inspector.Step, exchange: Exchange) -> None:
        """Record a step, after the attempt the server refused asking for a DPoP nonce."""
        if exchange.previous is not None:
            self.state.record(inspector.dpop_nonce_step(exchange.previous))
        self.state.record(step)

    def handle_callback(self, url: str, args: MultiDict) -> None:
        """RFC 6749 §4.1.2: check the state, then exchange the code (§4.1.3) and check what
        comes back. Raises ``errors.Explained``; on success the tokens are in the state."""
        pairs = list(args.items(multi=True))
        received_state = args.get("state", "")
        pending = self.state.take_pending(received_state)
        if pending is not None:
            self.state.record(*inspector.browser_trip_steps(pending.url, pending.created_at))
        expected = pending.state if pending else None
        error = args.get("error")
        if error:
            note = (
                "matched this browser's request"
                if pending
                else "missing"
                if not received_state
                else "did not match any request from this browser"
            )
            self.state.record(inspector.callback_step(pairs, expected, 400, [], False, url))
            raise errors.authorization_error(error, args.get("error_description", ""), note)
        if pending is None:
            self.state.record(inspector.callback_step(pairs, None, 400, [], False, url))
            raise errors.state_mismatch(received_state)
        callback = inspector.callback_step(pairs, expected, 400, [], False, url)
        self.state.record(callback)
        try:
            self._complete_login(pending, args, callback)
        except errors.Explained as exc:
            callback.status = str(exc.status)
            raise
        callback.status = "303"

    def _complete_login(
        self, pending: PendingAuthorization, args: MultiDict, callback: inspector.Step
    ) -> None:
        metadata = self.metadata()
        issuer = args.get("iss")
        if issuer is not None:
            same = same_issuer(issuer, metadata.issuer)
            callback.notes.append(
                ("✓ " if same else "✗ ")
                + f"iss {issuer} {'equals' if same else 'differs from'} the issuer (RFC 9207)"
            )
            if not same:
                raise errors.callback_issuer_mismatch(metadata.issuer, issuer)
        code = args.get("code", "")
        if not code:
            raise errors.Explained(
                title="No authorization code",
                code="invalid_request",
                explanation="The callback carried neither a code nor an error.",
                next_step="Log in again from the home page.",
            )
        callback.ok = True
        callback.notes.insert(0, "✓ state matches the state this browser sent")
        try:
            token, exchange = self.oauth.exchange_code(metadata, code, pending)
        except (TokenRequestFailed, Unreachable) as exc:
            step = inspector.token_step(
                exc.exchange, pending.code_challenge, self.config.token_endpoint_auth_method
            )
            raise self._token_failure(
                exc, step, metadata.token_endpoint, "the token request"
            ) from None
        step = inspector.token_step(
            exchange, pending.code_challenge, self.config.token_endpoint_auth_method
        )
        self._record(step, exchange)
        self.store_tokens(metadata, token, nonce=pending.nonce)
        self.state.options = pending.options  # after store_tokens, which forgets them
        step.notes += self._binding_notes(pending.options)
        self.state.message = "You are logged in. Below: the tokens, and how they were obtained."

    def _binding_notes(self, options: LoginOptions) -> list[str]:
        """What the token endpoint's answer means for DPoP and the resource (RFC 9449 §5,
        RFC 8707 §2.2), with what introspection (or a JWT access token) says."""
        tokens = self.state.tokens or {}
        answer = dict(self.state.introspection).get("access token")
        return inspector.binding_notes(
            tokens,
            answer,
            self.services.dpop_key.thumbprint if options.dpop else None,
            options.resource,
        )

    def store_tokens(self, metadata: ServerMetadata, token: dict, nonce: str | None) -> None:
        """Check the ID token, keep the tokens, then call userinfo and introspection (after
        the code flow and the device flow alike)."""
        result = None
        if token.get("id_token"):
            result = self._check_id_token(
                metadata, token["id_token"], token.get("access_token"), nonce=nonce
            )
        self.state.forget_tokens()
        self.state.ended = None  # a new login: the old one's logout notice is history
        self.state.tokens = {**token, "received_at": time.time()}
        self.state.id_token = result
        self.state.first_claims = result.claims if result else None
        self._userinfo(metadata)
        if token.get("access_token"):
            self._introspect(token["access_token"], "access token")

    # -- refresh, revoke ---------------------------------------------------------------

    def _require_tokens(self, action: str) -> dict:
        if not self.state.tokens:
            raise errors.not_logged_in(action)
        return self.state.tokens

    def refresh(self) -> None:
        """RFC 6749 §6; the server rotates the refresh token, the inspector shows it."""
        tokens = self._require_tokens("refresh")
        old = tokens.get("refresh_token")
        if not old:
            raise errors.Explained(
                title="There is no refresh token",
                code="no_refresh_token",
                explanation="A refresh token is issued only when offline_access (or offline) "
                "was requested and granted.",
                next_step="Log in again and grant offline_access.",
            )
        metadata = self.metadata()
        resource = self.state.options.resource if self.state.options else ""
        try:
            new, exchange = self.oauth.refresh(metadata, old, dpop_bound(tokens), resource)
        except (TokenRequestFailed, Unreachable) as exc:
            step = inspector.refresh_step(
                exc.exchange, old, None, self.config.token_endpoint_auth_method
            )
            raise self._token_failure(
                exc, step, metadata.token_endpoint, "the refresh request"
            ) from None
        rotated = new.get("refresh_token") or old
        self._record(
            inspector.refresh_step(exchange, old, rotated, self.config.token_endpoint_auth_method),
            exchange,
        )
        if new.get("id_token"):
            result = self._check_id_token(
                metadata,
                new["id_token"],
                new.get("access_token"),
                nonce=None,
                original=self.state.first_claims or {},
            )
            self.state.id_token = result
        self.state.tokens = {
            **tokens,
            **new,
            "refresh_token": rotated,
            "received_at": time.time(),
        }
        self.state.rotation = {
            "old": inspector.short(old),
            "new": inspector.short(rotated),
            "old_fingerprint": inspector.fingerprint(old),
            "new_fingerprint": inspector.fingerprint(rotated),
            "rotated": rotated != old,
        }
        self.state.revoked = ""
        self.state.exchange = None  # it compared the access token just replaced
        self.state.introspection = []
        self._introspect(old, "old refresh token")
        self._introspect(rotated, "new refresh token")
        self._introspect(self.state.tokens["access_token"], "new access token")
        self.state.message = (
            "Tokens refreshed: the refresh token rotated."
            if rotated != old
            else "Tokens refreshed (the server kept the same refresh token)."
        )

    def revoke(self, which: str = "refresh_token") -> None:
        """RFC 7009: revoke the refresh token (or the access token)."""
        tokens = self._require_tokens("revoke")
        if which not in ("refresh_token", "access_token") or not tokens.get(which):
            which = "refresh_token" if tokens.get("refresh_token") else "access_token"
        metadata = self.metadata()
        if not metadata.revocation_endpoint:
            raise errors.Explained(
                title="No revocation endpoint",
                code="unsupported",
                explanation="The discovery document lists no revocation_endpoint.",
                next_step="Use an authorization server that supports RFC 7009.",
            )
        try:
            exchange = self.oauth.revoke(metadata, tokens[which], which)
        except (TokenRequestFailed, Unreachable) as exc:
            step = inspector.revoke_step(exc.exchange, self.config.token_endpoint_auth_method)
            raise self._token_failure(
                exc, step, metadata.revocation_endpoint, "the revocation request"
            ) from None
        self.state.record(inspector.revoke_step(exchange, self.config.token_endpoint_auth_method))
        self.state.revoked = which
        self.state.introspection = []
        self._introspect(tokens["access_token"], "access token")
        if tokens.get("refresh_token"):
            self._introspect(tokens["refresh_token"], "refresh token")
        self.state.message = (
            f"The {which.replace('_', ' ')} was revoked (RFC 7009). Introspection now says "
            "whether the tokens are still active."
        )

    # -- token exchange (RFC 8693) ------------------------------------------------------

    def exchange_token(self) -> None:
        """RFC 8693 §2.1: trade the session's access token for one for the configured
        audience; then, with an admin URL, introspect both to compare them. The session's
        own tokens are kept: the exchanged one is shown (shortened), not used."""
        tokens = self._require_tokens("exchange")
        audience = self.config.exchange_audience
        if not audience:
            raise errors.exchange_disabled()
        metadata = self.metadata()
        auth_method = self.config.token_endpoint_auth_method
        try:
            answer, exchange = self.oauth.exchange_token(
                metadata, tokens["access_token"], audience, dpop_bound(tokens)
            )
        except (TokenRequestFailed, Unreachable) as exc:
            self._record(inspector.token_exchange_step(exc.exchange, auth_method), exc.exchange)
            self.state.exchange = None
            if isinstance(exc, Unreachable):
                raise errors.unreachable(exc.url, exc.reason, "the token exchange") from None
            raise errors.token_exchange_error(
                exc.error, exc.description, metadata.token_endpoint, exc.exchange.status, audience
            ) from None
        self._record(inspector.token_exchange_step(exchange, auth_method), exchange)
        new = answer["access_token"]
        result: dict = {
            "audience": audience,
            "short": inspector.short(new),
            "fingerprint": inspector.fingerprint(new),
            "answer": {
                name: answer[name]
                for name in ("issued_token_type", "token_type", "expires_in", "scope")
                if name in answer
            },
            "refresh_token": bool(answer.get("refresh_token")),
            "original": None,
            "exchanged": None,
            "introspected": bool(self.config.admin_url),
        }
        if self.config.admin_url:
            result["original"] = self._introspect_one(tokens["access_token"], "original token")
            result["exchanged"] = self._introspect_one(new, "exchanged token")
        else:
            self.state.record(inspector.introspection_step(None, "exchanged token", False))
        self.state.exchange = result
        self.state.message = (
            f"The access token was exchanged for one for {audience} (RFC 8693). Below: the "
            "answer and, side by side, what introspection says about both tokens."
        )

    def _introspect_one(self, token: str, label: str) -> dict | None:
        """One introspection (RFC 7662), recorded; its answer, or None."""
        try:
            exchange = self.oauth.introspect(token)
        except Unreachable as exc:
            self.state.record(inspector.introspection_step(exc.exchange, label, True))
            return None
        self.state.record(inspector.introspection_step(exchange, label, True))
        ok = exchange.status == 200 and isinstance(exchange.body, dict)
        return exchange.body if ok else None

    # -- the protected API -------------------------------------------------------------

    def call_api(self, call: Callable[[str, bool], tuple[Exchange, list[str]]]) -> None:
        """Send the access token to the protected API with ``call``: as a Bearer token
        (RFC 6750 §2.1), or a DPoP-bound one with a proof (RFC 9449 §7.1)."""
        tokens = self._require_tokens("call the API with")
        exchange, www_authenticate = call(tokens["access_token"], dpop_bound(tokens))
        self.state.record(inspector.api_call_step(exchange, www_authenticate))
        self.state.api_answer = {
            "status": exchange.status,
            "www_authenticate": www_authenticate,
            "body": exchange.body,
        }
        self.state.message = f"The protected API answered HTTP {exchange.status}."

    # -- logout ------------------------------------------------------------------------

    def start_logout(self) -> str | None:
        """OIDC RP-Initiated Logout §2: the end-session URL, or None if there is none."""
        tokens = self._require_tokens("log out")
        metadata = self.metadata()
        if not metadata.end_session_endpoint:
            self.state.forget_tokens()
            return None
        started = time.time()
        logout_state = secrets.token_urlsafe(24)
        params = []
        if tokens.get("id_token"):
            params.append(("id_token_hint", tokens["id_token"]))
        params += [
            ("post_logout_redirect_uri", self.config.post_logout_redirect_uri),
            ("state", logout_state),
        ]
        if not tokens.get("id_token"):
            params.append(("client_id", self.config.client_id))
        self.state.pending_logout[logout_state] = started
        url = add_query(metadata.end_session_endpoint, params)
        self.state.record(inspector.logout_request_step(url, params, started))
        return url

    def finish_logout(self, url: str, args: MultiDict) -> bool:
        """OIDC RP-Initiated Logout §3: True (and the tokens forgotten) if the state is ours."""
        received = args.get("state", "")
        started = self.state.pending_logout.pop(received, None) if received else None
        if started is None:
            self.state.record(inspector.logged_out_step(url, False))
            return False
        logout_steps = [step for step in self.state.steps if step.key == "logout-request"]
        end_session = logout_steps[-1].url if logout_steps else url
        self.state.record(*inspector.logout_trip_steps(end_session, started))
        self.state.record(inspector.logged_out_step(url, True))
        self.state.forget_tokens()
        self.state.pending_logout.clear()
        return True
