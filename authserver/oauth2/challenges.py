"""The apps' side of the flow at the admin API (Hydra's login and consent requests): the
login app reads the login request its challenge names and accepts or rejects it; then the
consent app does the same with the consent request. The browser's side is
``login_consent.AuthorizationFlow``.

A call first finds the flow by its challenge (``login_flow``, ``consent_flow``): an
unknown challenge is ``FlowNotFound`` whatever else is wrong with the call. Reading a
request gives the flow, answering it gives ``Answered`` (where the app sends the browser
next); both give ``Gone`` instead when the request was already handled or has expired
(Hydra's 410: its ``request_url`` starts the flow again). Anything else wrong is a
``FlowError``. The device flow's user-code page answers its device challenge with
``accept_user_code`` (a wrong code is ``Refused``, counted against the challenge). No
Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from authserver.domain.device import (
    ChallengeState,
    DeviceStatus,
    user_code_digest,
)
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
    new_secret,
)
from authserver.domain.grants_allowed import audience_not_allowed, scopes_not_allowed
from authserver.domain.sessions import LogoutRequest, LogoutState
from authserver.metrics import metrics
from authserver.oauth2.login_consent import DEVICE_VERIFY_PATH, add_query, is_device_flow
from authserver.storage.device import DeviceChallengeRepository, DeviceCodeRepository
from authserver.storage.flows import FlowRepository, LogoutRequestRepository


@dataclass(frozen=True)
class Answered:
    """The answer was recorded: the app sends the browser to ``redirect_to``."""

    redirect_to: str


@dataclass(frozen=True)
class Refused:
    """The answer was refused but counted (a wrong user code): a 4xx the app shows."""

    error: str
    description: str
    status: int = 400


@dataclass(frozen=True)
class Gone:
    """The request was already handled or has expired; ``request_url`` restarts the flow."""

    request_url: str


class FlowChallenges:
    def __init__(self, services, session: Session, now: int | None = None):
        self.services = services
        self.settings = services.settings
        self.session = session
        self.now = now if now is not None else services.clock.now()
        self.flows = FlowRepository(session)

    # -- the login request ---------------------------------------------------------------

    def login_flow(self, challenge: str) -> Flow:
        return _found(self.flows.by_login_challenge(digest(challenge)), "login")

    def login_request(self, challenge: str) -> Flow | Gone:
        return self._pending(self.login_flow(challenge), FlowState.LOGIN_REQUESTED)

    def accept_login(self, flow: Flow, acceptance: LoginAcceptance) -> Answered | Gone:
        return _counted(
            "login",
            "accepted",
            self._answer(flow, lambda: flow.accept_login(acceptance, self.now), "login_verifier"),
        )

    def reject_login(self, flow: Flow, rejection: Rejection) -> Answered | Gone:
        return _counted(
            "login",
            "rejected",
            self._answer(flow, lambda: flow.reject_login(rejection, self.now), "login_verifier"),
        )

    # -- the consent request -------------------------------------------------------------

    def consent_flow(self, challenge: str) -> Flow:
        return _found(self.flows.by_consent_challenge(digest(challenge)), "consent")

    def consent_request(self, challenge: str) -> Flow | Gone:
        return self._pending(self.consent_flow(challenge), FlowState.CONSENT_REQUESTED)

    def accept_consent(self, flow: Flow, acceptance: ConsentAcceptance) -> Answered | Gone:
        self._check_grant(flow, acceptance)
        answer = self._answer(
            flow, lambda: flow.accept_consent(acceptance, self.now), "consent_verifier"
        )
        return _counted("consent", "accepted", answer)

    def reject_consent(self, flow: Flow, rejection: Rejection) -> Answered | Gone:
        answer = self._answer(
            flow, lambda: flow.reject_consent(rejection, self.now), "consent_verifier"
        )
        return _counted("consent", "rejected", answer)

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

    # -- the device user code (RFC 8628 §3.3) --------------------------------------------

    def accept_user_code(self, challenge: str, user_code: object) -> Answered | Gone | Refused:
        """The user-code page sends what the user typed. A right code (of a pending,
        unexpired device flow whose code no browser took yet) is taken by this challenge
        and the browser goes on to the login; a wrong one counts against the challenge,
        which dies after ``MAX_FAILED_ATTEMPTS`` (then, as once accepted: ``Gone``)."""
        challenges = DeviceChallengeRepository(self.session)
        found = challenges.by_challenge(digest(challenge))
        if found is None:
            raise FlowNotFound("The device challenge is unknown.")
        restart = Gone(self._public(DEVICE_VERIFY_PATH))
        if found.state != ChallengeState.OPEN or found.is_expired(self.now):
            return restart
        if user_code is None or user_code == "":
            raise FlowError("Field user_code is required.")
        if not isinstance(user_code, str):
            raise FlowError("Field user_code must be a string.")
        codes = DeviceCodeRepository(self.session)
        code_digest = user_code_digest(user_code)
        record = codes.by_user_code(code_digest) if code_digest else None
        usable = (
            record is not None
            and record.status == DeviceStatus.PENDING
            and not record.user_code_used
            and not record.is_expired(self.now)
            and codes.claim_user_code(record.signature_digest)
        )
        if not usable:
            if not challenges.transition(found, found.failed()):
                return restart  # a concurrent answer changed the challenge
            # Returned, not raised: the counted attempt must be committed.
            return Refused(
                "invalid_grant",
                "The user code is wrong, has expired, or was already used; check it on "
                "the device and try again.",
            )
        verifier = new_secret()
        accepted = replace(
            found,
            state=ChallengeState.ACCEPTED,
            verifier_digest=digest(verifier),
            device_signature_digest=record.signature_digest,
        )
        if not challenges.transition(found, accepted):
            return restart
        return Answered(add_query(self._public(DEVICE_VERIFY_PATH), {"device_verifier": verifier}))

    # -- the logout request (Hydra's) -----------------------------------------------------

    def logout_request(self, challenge: str) -> LogoutRequest:
        request = LogoutRequestRepository(self.session).by_challenge(digest(challenge))
        if request is None:
            raise FlowNotFound("The logout challenge is unknown.")
        return request

    def pending_logout(self, request: LogoutRequest) -> LogoutRequest | Gone:
        if request.status != LogoutState.REQUESTED or self.now >= request.expires_at:
            return Gone(request.request_url)
        return request

    def accept_logout(self, request: LogoutRequest) -> Answered | Gone:
        try:
            accepted, verifier = request.accept(self.now)
        except FlowError:
            return Gone(request.request_url)
        if not LogoutRequestRepository(self.session).transition(request, accepted):
            return Gone(request.request_url)
        metrics().decided("logout", "accepted")
        return Answered(add_query(self._public(LOGOUT_PATH), {"logout_verifier": verifier}))

    def reject_logout(self, request: LogoutRequest) -> None | Gone:
        try:
            rejected = request.reject(self.now)
        except FlowError:
            return Gone(request.request_url)
        if not LogoutRequestRepository(self.session).transition(request, rejected):
            return Gone(request.request_url)
        metrics().decided("logout", "rejected")
        return None

    # -- helpers -------------------------------------------------------------------------

    def _public(self, path: str) -> str:
        return self.settings.public_url.rstrip("/") + path

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
        # A device flow's browser returns to the verification URI (as Hydra's).
        path = DEVICE_VERIFY_PATH if is_device_flow(flow) else "/oauth2/auth"
        return Answered(add_query(self._public(path), {verifier_param: verifier}))


LOGOUT_PATH = "/oauth2/sessions/logout"


def _found(flow: Flow | None, step: str) -> Flow:
    if flow is None:
        raise FlowNotFound(f"The {step} challenge is unknown.")
    return flow


def _counted(flow: str, outcome: str, answer: Answered | Gone) -> Answered | Gone:
    """``answer``, counted in the metrics unless the request was already handled."""
    if isinstance(answer, Answered):
        metrics().decided(flow, outcome)
    return answer
