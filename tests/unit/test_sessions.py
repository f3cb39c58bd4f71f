"""Login sessions, grant sessions and logout requests (domain/sessions.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from authserver.domain.flows import (
    CsrfMismatch,
    FlowAlreadyHandled,
    FlowExpired,
    digest,
)
from authserver.domain.sessions import (
    GrantSession,
    LoginSession,
    LogoutRequest,
    LogoutState,
    verifier_matches,
)

NOW = 1_700_000_000


# -- LoginSession --------------------------------------------------------------------------


def login_session(**changes) -> LoginSession:
    session = LoginSession(
        id="sid-1",
        cookie_digest=digest("cookie"),
        subject="alice",
        authenticated_at=NOW - 100,
        remember=True,
        expires_at=NOW + 100,
    )
    return replace(session, **changes)


@pytest.mark.parametrize(
    ("expires_at", "now", "valid"),
    [
        (NOW + 100, NOW, True),
        (NOW + 100, NOW + 99, True),
        (NOW + 100, NOW + 100, False),
        (NOW + 100, NOW + 101, False),
        (None, NOW + 10**9, True),
    ],
)
def test_login_session_is_valid(expires_at, now, valid):
    assert login_session(expires_at=expires_at).is_valid(now) is valid


@pytest.mark.parametrize(
    ("max_age", "now", "satisfied"),
    [
        (None, NOW + 10**9, True),
        (100, NOW, True),  # exactly max_age seconds ago
        (99, NOW, False),
        (1000, NOW, True),
        (0, NOW - 100, True),  # authenticated this very second
        (0, NOW - 99, False),
    ],
)
def test_login_session_satisfies_max_age(max_age, now, satisfied):
    assert login_session().satisfies_max_age(max_age, now) is satisfied


# -- GrantSession --------------------------------------------------------------------------


def grant(**changes) -> GrantSession:
    session = GrantSession(
        subject="alice",
        scope=("openid", "offline_access", "email"),
        audience=("https://api.example",),
        auth_time=NOW - 10,
        requested_at=NOW - 20,
        acr="urn:acr:1",
        amr=("pwd", "otp"),
        sid="sid-1",
        nonce="n-1",
        access_token_claims={"role": "admin"},
        id_token_claims={"email": "alice@example.com"},
    )
    return replace(session, **changes)


def test_grant_session_round_trip():
    session = grant()
    data = session.to_json()
    assert data["scope"] == ["openid", "offline_access", "email"]
    assert data["audience"] == ["https://api.example"]
    assert data["amr"] == ["pwd", "otp"]
    assert GrantSession.from_json(data) == session
    assert GrantSession.from_json(json.loads(json.dumps(data))) == session


def test_grant_session_from_minimal_json():
    session = GrantSession.from_json({"subject": "bob", "scope": None})
    assert session == GrantSession(subject="bob", scope=(), audience=())
    assert session.amr == ()
    assert session.auth_time is None
    assert GrantSession.from_json(session.to_json()) == session


@pytest.mark.parametrize(
    ("scope", "refresh", "openid"),
    [
        (("openid", "offline_access"), True, True),
        (("offline",), True, False),
        (("openid", "email"), False, True),
        ((), False, False),
        (("offline_accessx", "openidx"), False, False),
    ],
)
def test_grant_session_properties(scope, refresh, openid):
    session = grant(scope=scope)
    assert session.wants_refresh_token is refresh
    assert session.is_openid is openid
    assert session.scope_string == " ".join(scope)


def test_grant_session_narrowed():
    session = grant()
    narrowed = session.narrowed(("openid",))
    assert narrowed.scope == ("openid",)
    assert narrowed == replace(session, scope=("openid",))
    assert session.scope == ("openid", "offline_access", "email")
    assert narrowed.wants_refresh_token is False


# -- LogoutRequest -------------------------------------------------------------------------


def logout(**changes) -> LogoutRequest:
    request = LogoutRequest(
        id="logout-1",
        challenge=digest("logout-challenge"),
        status=LogoutState.REQUESTED,
        subject="alice",
        session_id="sid-1",
        client_id="app",
        request_url="https://auth.example/oauth2/sessions/logout",
        post_logout_redirect_uri="https://app.example/bye",
        rp_initiated=True,
        requested_at=NOW,
        expires_at=NOW + 600,
    )
    return replace(request, **changes)


def test_accept():
    request = logout()
    accepted, verifier = request.accept(NOW)
    assert accepted.status == LogoutState.ACCEPTED
    assert accepted.verifier == digest(verifier)
    assert verifier != accepted.verifier
    assert verifier_matches(verifier, accepted.verifier)
    assert request.status == LogoutState.REQUESTED
    assert request.verifier is None


def test_reject():
    rejected = logout().reject(NOW)
    assert rejected.status == LogoutState.REJECTED
    assert rejected.verifier is None


def test_redeem():
    accepted, _ = logout().accept(NOW)
    done = accepted.redeem("sid-1", NOW + 1)
    assert done.status == LogoutState.DONE
    assert done.verifier == accepted.verifier


@pytest.mark.parametrize(
    ("presented", "stored", "expected"),
    [
        ("v", digest("v"), True),
        ("w", digest("v"), False),
        (None, digest("v"), False),
        ("v", None, False),
        (digest("v"), digest("v"), False),
    ],
)
def test_verifier_matches(presented, stored, expected):
    assert verifier_matches(presented, stored) is expected


def in_state(status: LogoutState) -> LogoutRequest:
    request = logout()
    if status == LogoutState.REQUESTED:
        return request
    if status == LogoutState.REJECTED:
        return request.reject(NOW)
    request, _ = request.accept(NOW)
    if status == LogoutState.ACCEPTED:
        return request
    return request.redeem("sid-1", NOW)


LOGOUT_TRANSITIONS = {
    "accept": (LogoutState.REQUESTED, lambda request, now: request.accept(now)),
    "reject": (LogoutState.REQUESTED, lambda request, now: request.reject(now)),
    "redeem": (LogoutState.ACCEPTED, lambda request, now: request.redeem("sid-1", now)),
}

ILLEGAL_LOGOUT = [
    pytest.param(status, name, id=f"{status.name}-{name}")
    for status in LogoutState
    for name, (legal_from, _) in LOGOUT_TRANSITIONS.items()
    if legal_from != status
]


@pytest.mark.parametrize(("status", "name"), ILLEGAL_LOGOUT)
def test_illegal_logout_transition(status, name):
    request = in_state(status)
    assert request.status == status
    _, transition = LOGOUT_TRANSITIONS[name]
    with pytest.raises(FlowAlreadyHandled):
        transition(request, NOW)


def test_accept_twice_is_already_handled():
    accepted, _ = logout().accept(NOW)
    with pytest.raises(FlowAlreadyHandled) as info:
        accepted.accept(NOW)
    assert info.value.status == 410


@pytest.mark.parametrize("late", [0, 1, 10_000])
@pytest.mark.parametrize("name", list(LOGOUT_TRANSITIONS))
def test_expired_logout(name, late):
    legal_from, transition = LOGOUT_TRANSITIONS[name]
    request = in_state(legal_from)
    with pytest.raises(FlowExpired):
        transition(request, request.expires_at + late)


@pytest.mark.parametrize("name", list(LOGOUT_TRANSITIONS))
def test_logout_transition_just_before_expiry(name):
    legal_from, transition = LOGOUT_TRANSITIONS[name]
    request = in_state(legal_from)
    transition(request, request.expires_at - 1)


@pytest.mark.parametrize("browser_session", ["sid-2", None, ""])
def test_redeem_from_another_browser_session(browser_session):
    accepted, _ = logout().accept(NOW)
    with pytest.raises(CsrfMismatch) as info:
        accepted.redeem(browser_session, NOW)
    assert info.value.status == 403


@pytest.mark.parametrize("browser_session", [None, "", "sid-anything"])
def test_redeem_without_a_bound_session(browser_session):
    accepted, _ = logout(session_id="").accept(NOW)
    assert accepted.redeem(browser_session, NOW).status == LogoutState.DONE


@pytest.mark.parametrize("browser_session", [None, "", "sid-2"])
def test_redeem_when_the_bound_session_is_gone(browser_session):
    """A session revoked meanwhile (the logout app forgot every login of the subject):
    there is nothing left to protect, so any browser may finish the logout (as Hydra)."""
    accepted, _ = logout().accept(NOW)
    done = accepted.redeem(browser_session, NOW, session_gone=True)
    assert done.status == LogoutState.DONE
