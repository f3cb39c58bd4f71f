"""The apps' side of the flow at the admin API (Hydra's login and consent requests): the
login app reads the login request its challenge names and accepts or rejects it; then the
consent app does the same with the consent request. The browser's side is
``login_consent.AuthorizationFlow``.

A call first finds the flow by its challenge (``login_flow``, ``consent_flow``): an
unknown challenge is ``FlowNotFound`` whatever else is wrong with the call. Reading a
request gives the flow, answering it gives ``Answered`` (where the app sends the browser
next); both give ``Gone`` instead when the request was already handled or has expired
(Hydra's 410: its ``request_url`` starts the flow again). Anything else wrong is a
``FlowError``. No Flask here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from authserver.domain.flows import (
    ConsentAcceptance,
    Flow,
    FlowAlreadyHandled,
    FlowError,
    FlowExpired,
    FlowNotFound,
    FlowState,
    LoginAcceptance,
    Rejection,
    digest,
)
from authserver.domain.grants_allowed import audience_not_allowed, scopes_not_allowed
from authserver.oauth2.login_consent import add_query
from authserver.storage.flows import FlowRepository


@dataclass(frozen=True)
class Answered:
    """The answer was recorded: the app sends the browser to ``redirect_to``."""

    redirect_to: str


@dataclass(frozen=True)
class Gone:
    """The request was already handled or has expired; ``request_url`` restarts the flow."""

    request_url: str


class FlowChallenges:
    def __init__(self, services, session: Session, now: int | None = None):
        self.services = services
        self.settings = services.settings
        self.session = session
        self.now = now if now is not None else int(time.time())
        self.flows = FlowRepository(session)

    # -- the login request ---------------------------------------------------------------

    def login_flow(self, challenge: str) -> Flow:
        return _found(self.flows.by_login_challenge(digest(challenge)), "login")

    def login_request(self, challenge: str) -> Flow | Gone:
        return self._pending(self.login_flow(challenge), FlowState.LOGIN_REQUESTED)

    def accept_login(self, flow: Flow, acceptance: LoginAcceptance) -> Answered | Gone:
        return self._answer(flow, lambda: flow.accept_login(acceptance, self.now), "login_verifier")

    def reject_login(self, flow: Flow, rejection: Rejection) -> Answered | Gone:
        return self._answer(flow, lambda: flow.reject_login(rejection, self.now), "login_verifier")

    # -- the consent request -------------------------------------------------------------

    def consent_flow(self, challenge: str) -> Flow:
        return _found(self.flows.by_consent_challenge(digest(challenge)), "consent")

    def consent_request(self, challenge: str) -> Flow | Gone:
        return self._pending(self.consent_flow(challenge), FlowState.CONSENT_REQUESTED)

    def accept_consent(self, flow: Flow, acceptance: ConsentAcceptance) -> Answered | Gone:
        self._check_grant(flow, acceptance)
        return self._answer(
            flow, lambda: flow.accept_consent(acceptance, self.now), "consent_verifier"
        )

    def reject_consent(self, flow: Flow, rejection: Rejection) -> Answered | Gone:
        return self._answer(
            flow, lambda: flow.reject_consent(rejection, self.now), "consent_verifier"
        )

    def _check_grant(self, flow: Flow, acceptance: ConsentAcceptance) -> None:
        """The consent app may grant less than requested, never more than the client may
        have. (Checked before the flow's state: such an answer is wrong in any state.)"""
        stored = self.services.clients.find(self.session, flow.client_id)
        if stored is None:
            raise FlowNotFound("The client of this request no longer exists.")
        extra = scopes_not_allowed(stored.client, acceptance.grant_scope)
        if extra:
            raise FlowError(
                f"grant_scope contains scopes the client may not request: {' '.join(extra)}."
            )
        outside = audience_not_allowed(stored.client, acceptance.grant_access_token_audience)
        if outside:
            raise FlowError(
                f"grant_access_token_audience is not allowed for the client: {' '.join(outside)}."
            )

    # -- helpers -------------------------------------------------------------------------

    def _pending(self, flow: Flow, state: FlowState) -> Flow | Gone:
        try:
            flow.require(state, self.now)
        except (FlowAlreadyHandled, FlowExpired):
            return Gone(flow.request_url)
        return flow

    def _answer(
        self, flow: Flow, transition: Callable[[], tuple[Flow, str]], verifier_param: str
    ) -> Answered | Gone:
        try:
            after, verifier = transition()
        except (FlowAlreadyHandled, FlowExpired):
            return Gone(flow.request_url)
        if not self.flows.transition(flow, after):
            return Gone(flow.request_url)  # a concurrent answer won
        authorize = self.settings.public_url.rstrip("/") + "/oauth2/auth"
        return Answered(add_query(authorize, {verifier_param: verifier}))


def _found(flow: Flow | None, step: str) -> Flow:
    if flow is None:
        raise FlowNotFound(f"The {step} challenge is unknown.")
    return flow
