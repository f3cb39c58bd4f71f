"""The built-in login/consent app's decisions (no Flask: ``login_app`` maps them to HTTP).

A login is decided, in this order, by: the next queued decision for the client (accept as
a user, or fail with an error); ``login_hint`` naming a user; with ``interactive: true``,
the person at the browser (``ShowUsers``); the default user. With none of these the login
fails with ``login_required``. A remembered login (``skip``) stays its user: a queued
acceptance for another user cannot change who is logged in (Hydra refuses that too), so
only a queued denial or the same user's claims apply. The consent step then grants what
the decision said (or everything requested) with the user's claims in the ID token, the
userinfo answer and the access token's ``ext``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authserver.domain.flows import (
    ConsentAcceptance,
    Flow,
    FlowError,
    LoginAcceptance,
    Rejection,
)
from authserver.harness.decisions import Decision
from authserver.harness.state import HarnessState
from authserver.oauth2.challenges import Answered, FlowChallenges, Gone

CONTEXT_KEY = "harness"


@dataclass(frozen=True)
class ShowUsers:
    """Interactive mode: the page listing the users for the person at the browser."""

    flow: Flow


class LoginDesk:
    def __init__(self, challenges: FlowChallenges, state: HarnessState):
        self.challenges = challenges
        self.state = state

    def login(self, challenge: str) -> Answered | Gone | ShowUsers:
        flow = self.challenges.login_request(challenge)
        if isinstance(flow, Gone):
            return flow
        decision = self.state.take_decision(flow.client_id)
        if decision is not None and decision.denies:
            rejection = Rejection(
                error=decision.error, error_description=decision.error_description
            )
            return self.challenges.reject_login(flow, rejection)
        if flow.login_skip:
            same_user = decision is not None and decision.subject == flow.subject
            return self._accept(flow, flow.subject, decision if same_user else None)
        if decision is not None:
            return self._accept(flow, decision.subject, decision)
        hint = flow.request.get("login_hint") or ""
        if hint and self.state.user(hint) is not None:
            return self._accept(flow, hint, None)
        if self.state.config.interactive:
            return ShowUsers(flow)
        default = self.state.config.default_user
        if default is not None and self.state.user(default) is not None:
            return self._accept(flow, default, None)
        return self.challenges.reject_login(
            flow,
            Rejection(
                error="login_required",
                error_description="The harness has no decision queued, no login_hint naming "
                "a user and no default user for this login.",
            ),
        )

    def login_as(
        self, challenge: str, subject: str, claims: dict[str, Any] | None, remember: bool
    ) -> Answered | Gone:
        """The interactive page's choice: a listed user, or any subject with claims."""
        flow = self.challenges.login_request(challenge)
        if isinstance(flow, Gone):
            return flow
        return self._login(flow, subject, claims, None, remember)

    def _accept(self, flow: Flow, subject: str, decision: Decision | None) -> Answered | Gone:
        if decision is None:  # the user's claims, every scope requested
            return self._login(flow, subject, None, None, False)
        return self._login(flow, subject, decision.claims, decision.grant_scope, decision.remember)

    def _login(self, flow, subject, claims, grant_scope, remember) -> Answered | Gone:
        """Accept the login; what the consent step grants rides in its ``context`` (Hydra
        hands a login's context on to the consent request). None means the default."""
        scopes = None if grant_scope is None else list(grant_scope)
        context = {CONTEXT_KEY: {"claims": claims, "grant_scope": scopes, "remember": remember}}
        acceptance = LoginAcceptance(subject=subject, remember=remember, context=context)
        return self.challenges.accept_login(flow, acceptance)

    def consent(self, challenge: str) -> Answered | Gone:
        flow = self.challenges.consent_request(challenge)
        if isinstance(flow, Gone):
            return flow
        login = flow.accepted_login
        context = (login.context or {}).get(CONTEXT_KEY) if login is not None else None
        context = context if isinstance(context, dict) else {}
        claims = context.get("claims")
        if claims is None:
            claims = self.state.user(flow.subject or "") or {}
        scopes = context.get("grant_scope")
        acceptance = ConsentAcceptance(
            grant_scope=tuple(flow.request.get("scope", []) if scopes is None else scopes),
            grant_access_token_audience=tuple(flow.request.get("audience", [])),
            remember=bool(context.get("remember", False)),
            access_token_claims=dict(claims),
            id_token_claims=dict(claims),
        )
        try:
            return self.challenges.accept_consent(flow, acceptance)
        except FlowError as exc:  # a scripted grant_scope the client may not have
            return self.challenges.reject_consent(
                flow, Rejection(error="invalid_scope", error_description=str(exc))
            )
