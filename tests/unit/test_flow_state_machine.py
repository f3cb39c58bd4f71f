"""The login/consent flow as a state machine: legal transitions, guards, request bodies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from authserver.domain.flows import (
    RESERVED_ID_TOKEN_CLAIMS,
    ConsentAcceptance,
    CsrfMismatch,
    Flow,
    FlowAlreadyHandled,
    FlowError,
    FlowExpired,
    FlowState,
    LoginAcceptance,
    Rejection,
    digest,
    same_secret,
)

NOW = 1_700_000_000
TTL = 600
LOGIN_CHALLENGE = "raw-login-challenge"
LOGIN_CSRF = "raw-login-csrf"


def new_flow(**changes) -> Flow:
    flow = Flow(
        id="flow-1",
        state=FlowState.LOGIN_REQUESTED,
        client_id="app",
        request_url="https://auth.example/oauth2/auth?client_id=app&response_type=code",
        request={"client_id": "app", "scope": ["openid"]},
        requested_at=NOW,
        expires_at=NOW + TTL,
        login_challenge=digest(LOGIN_CHALLENGE),
        login_csrf=digest(LOGIN_CSRF),
    )
    return replace(flow, **changes)


def walk_to(state: FlowState, *, rejected_login: bool = False) -> tuple[Flow, dict]:
    """A flow brought to ``state`` through legal transitions, and the raw secrets handed out."""
    secrets: dict[str, str | None] = {"login_csrf": LOGIN_CSRF, "consent_csrf": None}
    flow = new_flow()
    if state == FlowState.LOGIN_REQUESTED:
        return flow, secrets
    if rejected_login:
        flow, secrets["login_verifier"] = flow.reject_login(Rejection(), NOW)
    else:
        flow, secrets["login_verifier"] = flow.accept_login(LoginAcceptance("alice"), NOW)
    if state == FlowState.LOGIN_HANDLED:
        return flow, secrets
    flow, secrets["consent_challenge"], secrets["consent_csrf"] = flow.redeem_login_verifier(
        LOGIN_CSRF, NOW, consent_skip=False
    )
    if state == FlowState.CONSENT_REQUESTED or flow.state == FlowState.DONE:
        assert flow.state == state
        return flow, secrets
    flow, secrets["consent_verifier"] = flow.accept_consent(
        ConsentAcceptance(grant_scope=("openid",)), NOW
    )
    if state == FlowState.CONSENT_HANDLED:
        return flow, secrets
    flow = flow.redeem_consent_verifier(secrets["consent_csrf"], NOW)
    assert flow.state == state
    return flow, secrets


Transition = Callable[[Flow, dict, int], object]

TRANSITIONS: dict[str, tuple[FlowState, Transition]] = {
    "accept_login": (
        FlowState.LOGIN_REQUESTED,
        lambda flow, s, now: flow.accept_login(LoginAcceptance("alice"), now),
    ),
    "reject_login": (
        FlowState.LOGIN_REQUESTED,
        lambda flow, s, now: flow.reject_login(Rejection(), now),
    ),
    "redeem_login_verifier": (
        FlowState.LOGIN_HANDLED,
        lambda flow, s, now: flow.redeem_login_verifier(s["login_csrf"], now, consent_skip=False),
    ),
    "accept_consent": (
        FlowState.CONSENT_REQUESTED,
        lambda flow, s, now: flow.accept_consent(ConsentAcceptance(grant_scope=("openid",)), now),
    ),
    "reject_consent": (
        FlowState.CONSENT_REQUESTED,
        lambda flow, s, now: flow.reject_consent(Rejection(), now),
    ),
    "redeem_consent_verifier": (
        FlowState.CONSENT_HANDLED,
        lambda flow, s, now: flow.redeem_consent_verifier(s["consent_csrf"], now),
    ),
}


# -- secrets -------------------------------------------------------------------------------


def test_digest_is_sha256_hex():
    assert digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert digest("abc") != digest("abd")


@pytest.mark.parametrize(
    ("presented", "stored", "expected"),
    [
        ("value", digest("value"), True),
        ("other", digest("value"), False),
        (digest("value"), digest("value"), False),  # the digest itself is not the secret
        (None, digest("value"), False),
        ("", digest("value"), False),
        ("value", None, False),
        ("value", "", False),
        (None, None, False),
    ],
)
def test_same_secret(presented, stored, expected):
    assert same_secret(presented, stored) is expected


# -- legal transitions ---------------------------------------------------------------------


def test_accept_login():
    flow = new_flow()
    acceptance = LoginAcceptance("alice", remember=True, remember_for=3600, acr="1", amr=("pwd",))
    after, verifier = flow.accept_login(acceptance, NOW + 5)
    assert after.state == FlowState.LOGIN_HANDLED
    assert after.login_verifier == digest(verifier)
    assert verifier != after.login_verifier
    assert same_secret(verifier, after.login_verifier)
    assert after.subject == "alice"
    assert after.authenticated_at == NOW + 5
    assert after.login == acceptance.to_json()
    assert after.login_error is None
    # Flows are immutable: the original is untouched.
    assert flow.state == FlowState.LOGIN_REQUESTED
    assert flow.login_verifier is None
    assert flow.subject is None


def test_each_accept_hands_out_a_fresh_verifier():
    flow = new_flow()
    _, first = flow.accept_login(LoginAcceptance("alice"), NOW)
    _, second = flow.accept_login(LoginAcceptance("alice"), NOW)
    assert first != second


def test_accept_login_with_skip_keeps_the_original_authentication_time():
    flow = new_flow(login_skip=True, subject="alice", authenticated_at=NOW - 100)
    after, verifier = flow.accept_login(LoginAcceptance("alice"), NOW)
    assert after.state == FlowState.LOGIN_HANDLED
    assert after.subject == "alice"
    assert after.authenticated_at == NOW - 100
    assert after.login_verifier == digest(verifier)


def test_accept_login_with_skip_and_another_subject_is_refused():
    flow = new_flow(login_skip=True, subject="alice", authenticated_at=NOW - 100)
    with pytest.raises(FlowError) as info:
        flow.accept_login(LoginAcceptance("mallory"), NOW)
    assert type(info.value) is FlowError
    assert info.value.error == "invalid_request"
    assert info.value.status == 400


def test_reject_login():
    flow = new_flow()
    rejection = Rejection(error="login_required", error_description="no", status_code=401)
    after, verifier = flow.reject_login(rejection, NOW)
    assert after.state == FlowState.LOGIN_HANDLED
    assert after.login_verifier == digest(verifier)
    assert verifier != after.login_verifier
    assert after.login_error == rejection.to_json()
    assert after.login is None
    assert after.subject is None
    assert after.authenticated_at is None


@pytest.mark.parametrize("consent_skip", [False, True])
def test_redeem_login_verifier_requests_consent(consent_skip):
    flow, _ = walk_to(FlowState.LOGIN_HANDLED)
    after, challenge, consent_csrf = flow.redeem_login_verifier(LOGIN_CSRF, NOW, consent_skip)
    assert after.state == FlowState.CONSENT_REQUESTED
    assert challenge and consent_csrf
    assert challenge != consent_csrf
    assert after.consent_challenge == digest(challenge)
    assert after.consent_csrf == digest(consent_csrf)
    assert challenge != after.consent_challenge
    assert consent_csrf != after.consent_csrf
    assert after.consent_skip is consent_skip
    assert after.subject == "alice"


def test_rejected_login_verifier_leads_to_done_without_consent():
    flow, _ = walk_to(FlowState.LOGIN_HANDLED, rejected_login=True)
    after, challenge, consent_csrf = flow.redeem_login_verifier(LOGIN_CSRF, NOW, False)
    assert after.state == FlowState.DONE
    assert challenge is None
    assert consent_csrf is None
    assert after.consent_challenge is None
    assert after.consent_csrf is None
    assert after.login_error == Rejection().to_json()


@pytest.mark.parametrize(
    ("remember", "remember_for", "until"),
    [
        (True, 3600, NOW + 3600),
        (True, 0, None),  # 0 = remember forever
        (False, 3600, None),
        (False, 0, None),
    ],
)
def test_accept_consent(remember, remember_for, until):
    flow, _ = walk_to(FlowState.CONSENT_REQUESTED)
    acceptance = ConsentAcceptance(
        grant_scope=("openid", "offline"),
        grant_access_token_audience=("https://api.example",),
        remember=remember,
        remember_for=remember_for,
        id_token_claims={"email": "alice@example.com"},
    )
    after, verifier = flow.accept_consent(acceptance, NOW)
    assert after.state == FlowState.CONSENT_HANDLED
    assert after.consent_verifier == digest(verifier)
    assert verifier != after.consent_verifier
    assert after.consent == acceptance.to_json()
    assert after.consent_error is None
    assert after.consent_remember is remember
    assert after.consent_remember_until == until
    assert after.consent_handled_at == NOW
    assert after.granted_scope == ("openid", "offline")
    assert after.granted_audience == ("https://api.example",)


def test_reject_consent():
    flow, _ = walk_to(FlowState.CONSENT_REQUESTED)
    rejection = Rejection(error="consent_required", status_code=403)
    after, verifier = flow.reject_consent(rejection, NOW + 1)
    assert after.state == FlowState.CONSENT_HANDLED
    assert after.consent_verifier == digest(verifier)
    assert verifier != after.consent_verifier
    assert after.consent_error == rejection.to_json()
    assert after.consent is None
    assert after.consent_handled_at == NOW + 1
    assert after.granted_scope == ()
    assert after.granted_audience == ()


def test_redeem_consent_verifier_after_reject():
    flow, secrets = walk_to(FlowState.CONSENT_REQUESTED)
    flow, _ = flow.reject_consent(Rejection(), NOW)
    done = flow.redeem_consent_verifier(secrets["consent_csrf"], NOW)
    assert done.state == FlowState.DONE
    assert done.consent_error == Rejection().to_json()


def test_full_flow():
    flow, secrets = walk_to(FlowState.CONSENT_HANDLED)
    done = flow.redeem_consent_verifier(secrets["consent_csrf"], NOW)
    assert done.state == FlowState.DONE
    assert done.subject == "alice"
    assert done.granted_scope == ("openid",)
    assert done.login_verifier == digest(secrets["login_verifier"])
    assert done.consent_verifier == digest(secrets["consent_verifier"])


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_every_legal_transition_succeeds_until_expiry(name):
    start, transition = TRANSITIONS[name]
    flow, secrets = walk_to(start)
    result = transition(flow, secrets, NOW + TTL - 1)
    after = result[0] if isinstance(result, tuple) else result
    assert after.state > start


# -- guards --------------------------------------------------------------------------------

ILLEGAL = [
    pytest.param(state, name, rejected, id=f"{state.name}{'-rejected' if rejected else ''}-{name}")
    for state, rejected in [
        (FlowState.LOGIN_REQUESTED, False),
        (FlowState.LOGIN_HANDLED, False),
        (FlowState.LOGIN_HANDLED, True),
        (FlowState.CONSENT_REQUESTED, False),
        (FlowState.CONSENT_HANDLED, False),
        (FlowState.DONE, False),
        (FlowState.DONE, True),
    ]
    for name, (legal_from, _) in TRANSITIONS.items()
    if legal_from != state
]


@pytest.mark.parametrize(("state", "name", "rejected"), ILLEGAL)
def test_illegal_transition_raises_already_handled(state, name, rejected):
    flow, secrets = walk_to(state, rejected_login=rejected)
    _, transition = TRANSITIONS[name]
    with pytest.raises(FlowAlreadyHandled) as info:
        transition(flow, secrets, NOW)
    assert info.value.error == "request_already_handled"
    assert info.value.status == 410


def test_illegal_table_covers_every_state():
    covered = {param.values[0] for param in ILLEGAL}
    assert covered == set(FlowState)
    pairs = {(param.values[0], param.values[1]) for param in ILLEGAL}
    # Every (state, transition) pair except the one legal start state of each transition.
    assert len(pairs) == len(FlowState) * len(TRANSITIONS) - len(TRANSITIONS)


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_illegal_transition_on_an_expired_flow_is_already_handled(name):
    legal_from, transition = TRANSITIONS[name]
    state = FlowState.DONE if legal_from != FlowState.DONE else FlowState.LOGIN_REQUESTED
    flow, secrets = walk_to(state)
    with pytest.raises(FlowAlreadyHandled):
        transition(flow, secrets, NOW + TTL + 10)


@pytest.mark.parametrize("late", [0, 1, 10_000])
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_expired_flow_raises_expired(name, late):
    legal_from, transition = TRANSITIONS[name]
    flow, secrets = walk_to(legal_from)
    with pytest.raises(FlowExpired) as info:
        transition(flow, secrets, flow.expires_at + late)
    assert info.value.error == "request_expired"
    assert info.value.status == 410


def test_is_expired_boundary():
    flow = new_flow()
    assert not flow.is_expired(flow.expires_at - 1)
    assert flow.is_expired(flow.expires_at)


@pytest.mark.parametrize(
    "csrf",
    [None, "", "wrong", digest(LOGIN_CSRF), LOGIN_CSRF + "x"],
    ids=["none", "empty", "wrong", "the-digest", "suffixed"],
)
def test_login_csrf_mismatch(csrf):
    flow, _ = walk_to(FlowState.LOGIN_HANDLED)
    with pytest.raises(CsrfMismatch) as info:
        flow.redeem_login_verifier(csrf, NOW, False)
    assert info.value.error == "request_forbidden"
    assert info.value.status == 403


@pytest.mark.parametrize("wrong", [None, "", "wrong", LOGIN_CSRF, "digest"])
def test_consent_csrf_mismatch(wrong):
    flow, secrets = walk_to(FlowState.CONSENT_HANDLED)
    if wrong == "digest":
        wrong = flow.consent_csrf
    with pytest.raises(CsrfMismatch) as info:
        flow.redeem_consent_verifier(wrong, NOW)
    assert info.value.status == 403


def test_correct_csrf_values_pass():
    flow, secrets = walk_to(FlowState.LOGIN_HANDLED)
    flow, _, consent_csrf = flow.redeem_login_verifier(LOGIN_CSRF, NOW, False)
    assert flow.state == FlowState.CONSENT_REQUESTED
    flow, _ = flow.accept_consent(ConsentAcceptance(), NOW)
    assert flow.redeem_consent_verifier(consent_csrf, NOW).state == FlowState.DONE


def test_error_classes():
    for cls in (FlowAlreadyHandled, FlowExpired, CsrfMismatch):
        assert issubclass(cls, FlowError)
    assert (FlowError.error, FlowError.status) == ("invalid_request", 400)


# -- LoginAcceptance -----------------------------------------------------------------------


def test_login_acceptance_from_json():
    acceptance = LoginAcceptance.from_json(
        {
            "subject": "alice",
            "remember": True,
            "remember_for": 3600,
            "acr": "urn:acr:1",
            "amr": ["pwd", "otp", "pwd"],
            "context": {"a": 1},
            "extend_session_lifespan": True,
            "identity_provider_session_id": "idp-1",
        }
    )
    assert acceptance == LoginAcceptance(
        subject="alice",
        remember=True,
        remember_for=3600,
        acr="urn:acr:1",
        amr=("pwd", "otp"),
        context={"a": 1},
        extend_session_lifespan=True,
        identity_provider_session_id="idp-1",
    )
    assert LoginAcceptance.from_json(acceptance.to_json()) == acceptance


def test_login_acceptance_defaults_and_nulls():
    acceptance = LoginAcceptance.from_json(
        {"subject": "a" * 255, "remember": None, "remember_for": None, "amr": None, "acr": None}
    )
    assert acceptance == LoginAcceptance(subject="a" * 255)
    assert LoginAcceptance.from_json({"subject": "bob", "force_subject_identifier": ""}).subject


BAD_LOGIN_BODIES = [
    pytest.param([], id="array-body"),
    pytest.param("alice", id="string-body"),
    pytest.param(None, id="null-body"),
    pytest.param(1, id="number-body"),
    pytest.param({}, id="subject-missing"),
    pytest.param({"subject": ""}, id="subject-empty"),
    pytest.param({"subject": None}, id="subject-null"),
    pytest.param({"subject": 42}, id="subject-number"),
    pytest.param({"subject": "a" * 256}, id="subject-too-long"),
    pytest.param({"subject": "alice", "remember": "true"}, id="remember-string"),
    pytest.param({"subject": "alice", "remember": 1}, id="remember-number"),
    pytest.param({"subject": "alice", "remember_for": -1}, id="remember_for-negative"),
    pytest.param({"subject": "alice", "remember_for": True}, id="remember_for-bool"),
    pytest.param({"subject": "alice", "remember_for": "3600"}, id="remember_for-string"),
    pytest.param({"subject": "alice", "remember_for": 1.5}, id="remember_for-float"),
    pytest.param({"subject": "alice", "amr": "pwd"}, id="amr-string"),
    pytest.param({"subject": "alice", "amr": ["pwd", 1]}, id="amr-not-strings"),
    pytest.param({"subject": "alice", "amr": {"pwd": True}}, id="amr-object"),
    pytest.param({"subject": "alice", "acr": 1}, id="acr-number"),
    pytest.param({"subject": "alice", "acr": "a" * 256}, id="acr-too-long"),
    pytest.param({"subject": "alice", "force_subject_identifier": "x"}, id="force-subject"),
    pytest.param({"subject": "alice", "extend_session_lifespan": "yes"}, id="extend-string"),
]


@pytest.mark.parametrize("body", BAD_LOGIN_BODIES)
def test_bad_login_acceptance(body):
    with pytest.raises(FlowError) as info:
        LoginAcceptance.from_json(body)
    assert info.value.status == 400
    assert info.value.error == "invalid_request"


# -- ConsentAcceptance ---------------------------------------------------------------------


def test_consent_acceptance_from_json():
    acceptance = ConsentAcceptance.from_json(
        {
            "grant_scope": ["openid", "offline", "openid"],
            "grant_access_token_audience": ["https://api.example"],
            "remember": True,
            "remember_for": 60,
            "session": {"access_token": {"role": "admin"}, "id_token": {"email": "a@x"}},
            "context": ["c"],
        }
    )
    assert acceptance.grant_scope == ("openid", "offline")
    assert acceptance.grant_access_token_audience == ("https://api.example",)
    assert acceptance.remember is True
    assert acceptance.remember_for == 60
    assert acceptance.access_token_claims == {"role": "admin"}
    assert acceptance.id_token_claims == {"email": "a@x"}
    assert acceptance.context == ["c"]
    assert ConsentAcceptance.from_json(acceptance.to_json()) == acceptance


def test_consent_acceptance_empty_body():
    assert ConsentAcceptance.from_json({}) == ConsentAcceptance()
    assert ConsentAcceptance.from_json({"session": None}) == ConsentAcceptance()


RESERVED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
    "auth_time",
    "jti",
    "azp",
    "nbf",
    "c_hash",
    "rat",
]


def test_reserved_id_token_claims_are_dropped():
    assert set(RESERVED) <= RESERVED_ID_TOKEN_CLAIMS
    id_token = {name: f"forged-{name}" for name in RESERVED}
    id_token.update({"email": "alice@example.com", "groups": ["a", "b"], "custom": {"x": 1}})
    acceptance = ConsentAcceptance.from_json(
        {"session": {"id_token": id_token, "access_token": {"sub": "kept-in-ext"}}}
    )
    assert acceptance.id_token_claims == {
        "email": "alice@example.com",
        "groups": ["a", "b"],
        "custom": {"x": 1},
    }
    # Access token claims travel under "ext" and are not filtered.
    assert acceptance.access_token_claims == {"sub": "kept-in-ext"}


BAD_CONSENT_BODIES = [
    pytest.param([], id="array-body"),
    pytest.param("x", id="string-body"),
    pytest.param(None, id="null-body"),
    pytest.param({"grant_scope": "openid"}, id="grant_scope-string"),
    pytest.param({"grant_scope": ["openid", 1]}, id="grant_scope-not-strings"),
    pytest.param({"grant_access_token_audience": "aud"}, id="audience-string"),
    pytest.param({"remember": "true"}, id="remember-string"),
    pytest.param({"remember_for": -5}, id="remember_for-negative"),
    pytest.param({"remember_for": False}, id="remember_for-bool"),
    pytest.param({"remember_for": "60"}, id="remember_for-string"),
    pytest.param({"session": "x"}, id="session-string"),
    pytest.param({"session": []}, id="session-array"),
    pytest.param({"session": {"id_token": "x"}}, id="id_token-string"),
    pytest.param({"session": {"id_token": ["email"]}}, id="id_token-array"),
    pytest.param({"session": {"access_token": 1}}, id="access_token-number"),
]


@pytest.mark.parametrize("body", BAD_CONSENT_BODIES)
def test_bad_consent_acceptance(body):
    with pytest.raises(FlowError) as info:
        ConsentAcceptance.from_json(body)
    assert info.value.status == 400


# -- Rejection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"error": "", "status_code": None}, {"error": None, "status_code": 0}],
    ids=["empty", "empty-strings", "nulls"],
)
def test_rejection_defaults(body):
    rejection = Rejection.from_json(body)
    assert rejection.error == "access_denied"
    assert rejection.status_code == 400
    assert rejection == Rejection()


def test_rejection_from_json():
    rejection = Rejection.from_json(
        {
            "error": "login_required",
            "error_description": "The user is not logged in.",
            "error_hint": "Log in first.",
            "status_code": 401,
        }
    )
    assert rejection == Rejection(
        "login_required", "The user is not logged in.", "Log in first.", 401
    )
    assert Rejection.from_json(rejection.to_json()) == rejection


@pytest.mark.parametrize("status", [400, 403, 599])
def test_rejection_status_range(status):
    assert Rejection.from_json({"status_code": status}).status_code == status


BAD_REJECTIONS = [
    pytest.param([], id="array-body"),
    pytest.param(None, id="null-body"),
    pytest.param({"status_code": 200}, id="status-200"),
    pytest.param({"status_code": 302}, id="status-302"),
    pytest.param({"status_code": 399}, id="status-399"),
    pytest.param({"status_code": 600}, id="status-600"),
    pytest.param({"status_code": True}, id="status-true"),
    pytest.param({"status_code": False}, id="status-false"),
    pytest.param({"status_code": ""}, id="status-empty-string"),
    pytest.param({"status_code": []}, id="status-empty-list"),
    pytest.param({"status_code": "400"}, id="status-string"),
    pytest.param({"status_code": 400.0}, id="status-float"),
    pytest.param({"status_code": -400}, id="status-negative"),
    pytest.param({"error": "access denied"}, id="error-space"),
    pytest.param({"error": 'access"denied'}, id="error-quote"),
    pytest.param({"error": "access\\denied"}, id="error-backslash"),
    pytest.param({"error": "access\tdenied"}, id="error-tab"),
    pytest.param({"error": "accès_refusé"}, id="error-non-ascii"),
    pytest.param({"error": "e" * 129}, id="error-too-long"),
    pytest.param({"error": 1}, id="error-number"),
    pytest.param({"error_description": "d" * 1025}, id="description-too-long"),
    pytest.param({"error_hint": ["h"]}, id="hint-array"),
]


@pytest.mark.parametrize("body", BAD_REJECTIONS)
def test_bad_rejection(body):
    with pytest.raises(FlowError) as info:
        Rejection.from_json(body)
    assert info.value.status == 400


# -- remembered consent --------------------------------------------------------------------


def remembered(**changes) -> Flow:
    flow = new_flow(
        state=FlowState.DONE,
        subject="alice",
        consent={
            "grant_scope": ["openid", "offline"],
            "grant_access_token_audience": ["https://api.example", "https://b.example"],
        },
        consent_remember=True,
        consent_remember_until=NOW + 3600,
        consent_handled_at=NOW,
    )
    return replace(flow, **changes)


SCOPES = ["openid", "offline"]
AUDIENCE = ["https://api.example"]

COVERS = [
    pytest.param({}, SCOPES, AUDIENCE, NOW, True, id="all-granted"),
    pytest.param({}, [], [], NOW, True, id="nothing-requested"),
    pytest.param({}, ["openid"], [], NOW, True, id="scope-subset"),
    pytest.param({}, ["openid", "offline", "email"], [], NOW, False, id="scope-superset"),
    pytest.param({}, ["email"], [], NOW, False, id="scope-disjoint"),
    pytest.param(
        {}, SCOPES, ["https://api.example", "https://b.example"], NOW, True, id="audience-all"
    ),
    pytest.param({}, SCOPES, ["https://c.example"], NOW, False, id="audience-not-granted"),
    pytest.param(
        {}, SCOPES, ["https://api.example", "https://c.example"], NOW, False, id="audience-more"
    ),
    pytest.param({"consent_remember": False}, SCOPES, AUDIENCE, NOW, False, id="not-remembered"),
    pytest.param({"consent_revoked": True}, SCOPES, AUDIENCE, NOW, False, id="revoked"),
    pytest.param(
        {"consent_error": Rejection().to_json()}, [], [], NOW, False, id="consent-rejected"
    ),
    pytest.param({}, SCOPES, AUDIENCE, NOW + 3599, True, id="just-before-expiry"),
    pytest.param({}, SCOPES, AUDIENCE, NOW + 3600, False, id="expired-at-boundary"),
    pytest.param({}, SCOPES, AUDIENCE, NOW + 7200, False, id="expired"),
    pytest.param(
        {"consent_remember_until": None}, SCOPES, AUDIENCE, NOW + 10**9, True, id="forever"
    ),
    pytest.param(
        {"consent": None, "consent_remember_until": None}, ["openid"], [], NOW, False, id="no-grant"
    ),
]


@pytest.mark.parametrize(("changes", "scopes", "audience", "now", "expected"), COVERS)
def test_remembered_consent_covers(changes, scopes, audience, now, expected):
    assert remembered(**changes).remembered_consent_covers(scopes, audience, now) is expected


def test_remember_for_zero_is_remembered_forever():
    flow, _ = walk_to(FlowState.CONSENT_REQUESTED)
    flow, _ = flow.accept_consent(
        ConsentAcceptance(grant_scope=("openid",), remember=True, remember_for=0), NOW
    )
    assert flow.consent_remember_until is None
    assert flow.remembered_consent_covers(["openid"], [], NOW + 10**9)


# -- the answers, read back typed ----------------------------------------------------------


def test_a_new_flow_has_no_answers():
    flow = new_flow()
    assert flow.accepted_login is None
    assert flow.login_rejection is None
    assert flow.accepted_consent is None
    assert flow.consent_rejection is None
    assert flow.granted_scope == ()
    assert flow.granted_audience == ()


def test_accepted_answers_read_back_as_given():
    login = LoginAcceptance(
        "alice",
        remember=True,
        remember_for=60,
        acr="2",
        amr=("pwd", "otp"),
        context={"k": [1]},
        extend_session_lifespan=True,
        identity_provider_session_id="idp-1",
    )
    consent = ConsentAcceptance(
        grant_scope=("openid", "offline"),
        grant_access_token_audience=("https://api.example",),
        remember=True,
        remember_for=30,
        access_token_claims={"team": "a"},
        id_token_claims={"email": "a@example.com"},
        context="ctx",
    )
    flow, _ = new_flow().accept_login(login, NOW)
    flow, _, _ = flow.redeem_login_verifier(LOGIN_CSRF, NOW, consent_skip=False)
    flow, _ = flow.accept_consent(consent, NOW)
    assert flow.accepted_login == login
    assert flow.accepted_consent == consent
    assert flow.granted_scope == ("openid", "offline")
    assert flow.granted_audience == ("https://api.example",)
    assert flow.login_rejection is None
    assert flow.consent_rejection is None


def test_rejections_read_back_as_given():
    rejection = Rejection("login_required", "no", "try again", 401)
    flow, _ = new_flow().reject_login(rejection, NOW)
    assert flow.login_rejection == rejection
    assert flow.accepted_login is None
    flow, _ = walk_to(FlowState.CONSENT_REQUESTED)
    flow, _ = flow.reject_consent(rejection, NOW)
    assert flow.consent_rejection == rejection
    assert flow.accepted_consent is None


@pytest.mark.parametrize(
    "acceptance",
    [
        LoginAcceptance("alice"),
        LoginAcceptance("bob", True, 5, "1", ("pwd",), None, True, "sid"),
        LoginAcceptance.from_json({"subject": "carol", "context": {"a": None}}),
    ],
)
def test_login_acceptance_stored_round_trip(acceptance):
    assert LoginAcceptance.from_stored(acceptance.to_json()) == acceptance


@pytest.mark.parametrize(
    "acceptance",
    [
        ConsentAcceptance(),
        ConsentAcceptance(("openid",), ("aud",), True, 9, {"a": 1}, {"b": 2}, [1]),
        ConsentAcceptance.from_json({"session": {"id_token": {"sub": "x", "email": "e"}}}),
    ],
)
def test_consent_acceptance_stored_round_trip(acceptance):
    assert ConsentAcceptance.from_stored(acceptance.to_json()) == acceptance


@pytest.mark.parametrize("rejection", [Rejection(), Rejection("e", "d", "h", 503)])
def test_rejection_stored_round_trip(rejection):
    assert Rejection.from_stored(rejection.to_json()) == rejection


def test_partial_stored_answers_read_with_defaults():
    assert LoginAcceptance.from_stored({}) == LoginAcceptance(subject="")
    assert LoginAcceptance.from_stored({"subject": "a", "amr": None}) == LoginAcceptance("a")
    assert ConsentAcceptance.from_stored({}) == ConsentAcceptance()
    assert ConsentAcceptance.from_stored({"session": None}) == ConsentAcceptance()
    assert ConsentAcceptance.from_stored(
        {"grant_scope": ["openid"], "session": {"id_token": {"e": 1}}}
    ) == ConsentAcceptance(grant_scope=("openid",), id_token_claims={"e": 1})
    assert Rejection.from_stored({}) == Rejection()
    assert Rejection.from_stored({"error": "", "status_code": None}) == Rejection()


def test_typed_answers_leave_the_stored_flow_unchanged():
    flow, _ = walk_to(FlowState.DONE)
    before = {name: getattr(flow, name) for name in ("login", "consent")}
    assert flow.accepted_login is flow.accepted_login  # read once per flow object
    assert flow.accepted_consent is not None
    assert {name: getattr(flow, name) for name in ("login", "consent")} == before
    assert replace(flow) == flow


# -- consent needed, but prompt=none --------------------------------------------------------


def test_end_without_consent():
    flow, _ = walk_to(FlowState.CONSENT_REQUESTED)
    after = flow.end_without_consent()
    assert after.state == FlowState.DONE
    assert after.consent is None
    assert after.consent_error is None
    assert after.accepted_consent is None
    assert after == replace(flow, state=FlowState.DONE)
    assert flow.state == FlowState.CONSENT_REQUESTED


@pytest.mark.parametrize(
    "state",
    [s for s in FlowState if s != FlowState.CONSENT_REQUESTED],
    ids=lambda s: s.name,
)
def test_end_without_consent_only_from_consent_requested(state):
    flow, _ = walk_to(state)
    with pytest.raises(FlowAlreadyHandled):
        flow.end_without_consent()
