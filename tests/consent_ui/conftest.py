"""Fixtures for consent_ui's own tests: no network, no authorization server.

``FakeAdminApi`` has the same methods as ``consent_ui.admin_api.AdminApi`` and keeps the
login, consent, logout and device requests in memory. Like Hydra, it answers a challenge once:
after an accept or reject the challenge is "gone" (410 with the request URL), an unknown
one is not found (404), and ``down = True`` makes every call fail as unreachable.

``Site`` (with ``Clock``) is the app with a user store that counts password checks and a
throttle on a fake clock; ``site.browser(address)`` is one browser at one address.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher
from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from consent_ui.admin_api import (
    AdminApiUnreachable,
    ChallengeGone,
    ChallengeNotFound,
    Client,
    ConsentRequest,
    ConsentSession,
    ConsentSessionList,
    LoginRequest,
    LogoutRequest,
    UserCodeRejected,
)
from consent_ui.config import DEMO_EMAIL, DEMO_PASSWORD
from consent_ui.throttle import LoginThrottle
from consent_ui.users import SingleUserStore
from tests.consent_ui.html_forms import forms

AUTH = "https://auth.example"
DEVICE_VERIFY = AUTH + "/oauth2/device/verify"
WRONG_CODES_ALLOWED = 5  # then the device challenge is dead (410), as the contract says
ADMIN_URL = "http://admin.invalid:4445"


def fast_hasher() -> PasswordHasher:
    """argon2id with the smallest parameters: fast tests, same code path."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class DeviceRequest:
    """A device challenge waiting for its user code (``accept_user_code``)."""

    challenge: str
    user_code: str
    wrong_codes: int = 0


@dataclass
class Call:
    method: str
    challenge: str
    arguments: dict = field(default_factory=dict)


class FakeAdminApi:
    def __init__(self):
        self.requests: dict[str, object] = {}
        self.gone: dict[str, str] = {}  # challenge -> redirect_to of its 410
        self.calls: list[Call] = []
        self.down = False
        self.consent_sessions: dict[str, list[ConsentSession]] = {}  # subject -> newest first
        self.login_sessions: set[str] = set()  # subjects with a remembered login
        # Raised by list_login_session_consents (the logout page's list of apps) if set.
        self.consent_list_error: Exception | None = None

    # -- set-up helpers -------------------------------------------------------------------

    def add_login(
        self,
        challenge="login-1",
        skip=False,
        subject="",
        login_hint="",
        request_url=AUTH + "/oauth2/auth?client_id=app",
        **client,
    ):
        self.requests[challenge] = LoginRequest(
            challenge,
            skip,
            subject,
            make_client(**client),
            login_hint,
            ("openid",),
            request_url,
        )
        return challenge

    def add_consent(
        self,
        challenge="consent-1",
        scopes=("openid", "profile", "email"),
        subject="foo@bar.com",
        skip=False,
        audience=(),
        request_url=AUTH + "/oauth2/auth?client_id=app",
        **client,
    ):
        self.requests[challenge] = ConsentRequest(
            challenge,
            skip,
            subject,
            make_client(**client),
            tuple(scopes),
            tuple(audience),
            request_url,
        )
        return challenge

    def add_device(self, challenge="device-1", user_code="BCDFGHJK"):
        """A device challenge, as ``GET /oauth2/device/verify`` starts one."""
        self.requests[challenge] = DeviceRequest(challenge, user_code)
        return challenge

    def add_logout(
        self,
        challenge="logout-1",
        subject="foo@bar.com",
        with_client=True,
        sid="sid-1",
        **client,
    ):
        self.requests[challenge] = LogoutRequest(
            challenge, subject, make_client(**client) if with_client else None, sid
        )
        return challenge

    def add_grant(
        self,
        subject="foo@bar.com",
        scopes=("openid", "profile"),
        remember=True,
        sid="sid-1",
        **client,
    ):
        """A consent session: ``subject`` allowed this client these scopes (in login
        session ``sid``)."""
        granted = ConsentSession(
            make_client(**client), tuple(scopes), remember, "2026-12-01T10:00:00Z", sid
        )
        self.consent_sessions.setdefault(subject, []).insert(0, granted)
        return granted

    def expire(self, challenge: str, redirect_to: str = AUTH + "/oauth2/auth?restart=1"):
        self.gone[challenge] = redirect_to

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def answers(self) -> list[Call]:
        """The calls that change something (accept, reject or revoke)."""
        return [call for call in self.calls if not call.method.startswith(("get_", "list_"))]

    # -- the AdminApi interface ----------------------------------------------------------

    def get_login_request(self, challenge):
        return self._find("get_login_request", challenge, LoginRequest)

    def accept_login(self, challenge, subject, remember=False, remember_for=0, acr="", amr=None):
        self._find(
            "accept_login",
            challenge,
            LoginRequest,
            subject=subject,
            remember=remember,
            remember_for=remember_for,
            acr=acr,
            amr=amr,
        )
        return self._handled(challenge, "login_verifier")

    def reject_login(self, challenge, error, description):
        self._find("reject_login", challenge, LoginRequest, error=error, description=description)
        return self._handled(challenge, "login_verifier")

    def get_consent_request(self, challenge):
        return self._find("get_consent_request", challenge, ConsentRequest)

    def accept_consent(
        self,
        challenge,
        grant_scope,
        grant_access_token_audience,
        remember=False,
        remember_for=0,
        id_token_claims=None,
        access_token_claims=None,
    ):
        self._find(
            "accept_consent",
            challenge,
            ConsentRequest,
            grant_scope=grant_scope,
            grant_access_token_audience=grant_access_token_audience,
            remember=remember,
            remember_for=remember_for,
            id_token_claims=id_token_claims,
            access_token_claims=access_token_claims,
        )
        return self._handled(challenge, "consent_verifier")

    def reject_consent(self, challenge, error, description):
        self._find(
            "reject_consent", challenge, ConsentRequest, error=error, description=description
        )
        return self._handled(challenge, "consent_verifier")

    def get_logout_request(self, challenge):
        return self._find("get_logout_request", challenge, LogoutRequest)

    def accept_logout(self, challenge):
        self._find("accept_logout", challenge, LogoutRequest)
        return self._handled(challenge, "logout_verifier", "/oauth2/sessions/logout")

    def reject_logout(self, challenge):
        self._find("reject_logout", challenge, LogoutRequest)
        self._handled(challenge, "logout_verifier")

    def accept_user_code(self, challenge, user_code):
        """Like the contract: 400 invalid_grant for a wrong code, 410 after too many."""
        device = self._find("accept_user_code", challenge, DeviceRequest, user_code=user_code)
        if user_code.replace("-", "").upper() != device.user_code:
            device.wrong_codes += 1
            if device.wrong_codes >= WRONG_CODES_ALLOWED:
                self.gone[challenge] = DEVICE_VERIFY
            raise UserCodeRejected("The user code is invalid, expired or already used.")
        self.gone[challenge] = DEVICE_VERIFY
        return f"{DEVICE_VERIFY}?device_verifier=v-{challenge}"

    def list_consent_sessions(self, subject):
        self._session_call("list_consent_sessions", subject)
        return list(self.consent_sessions.get(subject, []))

    def list_login_session_consents(self, subject, sid):
        self._session_call("list_login_session_consents", subject, sid=sid)
        if self.consent_list_error is not None:
            raise self.consent_list_error
        found = [s for s in self.consent_sessions.get(subject, []) if s.login_session_id == sid]
        return ConsentSessionList(tuple(found), len(found))

    def revoke_consent_sessions(self, subject, client_id):
        self._session_call("revoke_consent_sessions", subject, client_id=client_id)
        kept = [
            s for s in self.consent_sessions.get(subject, []) if s.client.client_id != client_id
        ]
        self.consent_sessions[subject] = kept

    def revoke_login_sessions(self, subject):
        self._session_call("revoke_login_sessions", subject)
        self.login_sessions.discard(subject)

    # -- plumbing --------------------------------------------------------------------------

    def _session_call(self, method, subject, **arguments):
        """Sessions are looked up by subject: recorded with it in place of a challenge."""
        self.calls.append(Call(method, subject, arguments))
        if self.down:
            raise AdminApiUnreachable("ConnectionError")

    def _find(self, method, challenge, kind, **arguments):
        self.calls.append(Call(method, challenge, arguments))
        if self.down:
            raise AdminApiUnreachable("ConnectionError")
        if challenge in self.gone:
            raise ChallengeGone(self.gone[challenge])
        found = self.requests.get(challenge)
        if not isinstance(found, kind):
            raise ChallengeNotFound("unknown challenge")
        return found

    def _handled(self, challenge, verifier, path="/oauth2/auth"):
        self.gone[challenge] = f"{AUTH}/oauth2/auth?client_id=app&state=restart"
        return f"{AUTH}{path}?{verifier}=v-{challenge}"


def make_client(
    client_id="app",
    client_name="Example App",
    logo_uri="",
    policy_uri="",
    tos_uri="",
    client_uri="",
    skip_consent=False,
    backchannel_logout_uri="",
    frontchannel_logout_uri="",
) -> Client:
    return Client(
        client_id,
        client_name or client_id,
        logo_uri,
        policy_uri,
        tos_uri,
        client_uri,
        skip_consent,
        backchannel_logout_uri,
        frontchannel_logout_uri,
    )


def base_config(**overrides) -> dict:
    return {
        "HYDRA_ADMIN_URL": ADMIN_URL,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PASSWORD_HASHER": fast_hasher(),
        "REMEMBER_FOR": 3600,
        **overrides,
    }


@pytest.fixture
def admin() -> FakeAdminApi:
    return FakeAdminApi()


@pytest.fixture
def app(admin):
    return create_app(base_config(), admin_api=admin)


@pytest.fixture
def client(app):
    return app.test_client()


def form_of(response, index: int = 0):
    """The index-th form of an HTML response."""
    found = forms(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found[index]


def submit(client, response, button: str, environ: dict | None = None, **kwargs):
    """Submit the page's first form the way a browser would, pressing ``button``."""
    form = form_of(response)
    return client.post(
        form.action,
        data=MultiDict(form.submit_data(button, **kwargs)),
        environ_base=environ or {},
    )


class LoginActions:
    """Like flaskr's AuthActions: drive the login page in one call."""

    def __init__(self, client, admin: FakeAdminApi):
        self.client = client
        self.admin = admin

    def page(self, challenge="login-1", **request):
        if challenge not in self.admin.requests:
            self.admin.add_login(challenge, **request)
        return self.client.get(f"/login?login_challenge={challenge}")

    def login(
        self,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        remember=False,
        challenge="login-1",
        environ=None,
    ):
        tick = ["remember"] if remember else []
        page = self.page(challenge)
        return submit(
            self.client, page, "login", environ, tick=tick, email=email, password=password
        )


@pytest.fixture
def auth(client, admin) -> LoginActions:
    return LoginActions(client, admin)


class Clock:
    """An injectable clock: tests move ``now`` instead of sleeping."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(SingleUserStore):
    """The demo user, counting password checks."""

    checks = 0

    def authenticate(self, email, password):
        self.checks += 1
        return super().authenticate(email, password)


class Site:
    """consent_ui with a counting user store and a fake clock."""

    def __init__(self, admin, clock: Clock | None = None, **config):
        self.admin = admin
        self.store = CountingStore.from_settings(
            DEMO_EMAIL, "Foo Bar", DEMO_PASSWORD, hasher=fast_hasher()
        )
        throttle = LoginThrottle(clock=clock) if clock else None
        self.app = create_app(
            base_config(**config), user_store=self.store, admin_api=admin, throttle=throttle
        )
        self.challenges = itertools.count()

    def browser(self, address: str) -> Browser:
        return Browser(self, address)


class Browser:
    """One browser (its own cookies) at one address."""

    def __init__(self, site: Site, address: str):
        self.site = site
        self.client = site.app.test_client()
        self.environ = {"REMOTE_ADDR": address}

    def login(self, password=DEMO_PASSWORD, email=DEMO_EMAIL):
        challenge = self.site.admin.add_login(f"login-{next(self.site.challenges)}")
        page = self.client.get(f"/login?login_challenge={challenge}", environ_base=self.environ)
        return submit(self.client, page, "login", self.environ, email=email, password=password)
