"""A scripted browser plus a scripted login/consent app, over real HTTP.

``FlowDriver`` plays both parts of Hydra's login and consent flow: the browser (a
``requests.Session`` keeping cookies, never following redirects on its own) and the login
or consent app (calls to the admin API). Tests use it step by step or all at once::

    driver = FlowDriver(server, client)
    callback = driver.run()                 # login + consent accepted
    tokens = driver.exchange(callback["code"]).json()
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import requests

REDIRECT_URI = "http://127.0.0.1:9999/callback"
TIMEOUT = 10


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def create_code_client(server, **fields) -> dict:
    """A confidential client for the authorization code flow (secret included)."""
    body = {
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [REDIRECT_URI],
        "scope": "openid offline_access offline profile email",
        **fields,
    }
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


class FlowDriver:
    def __init__(self, server, client: dict, redirect_uri: str = REDIRECT_URI):
        self.server = server
        self.client = client
        self.redirect_uri = redirect_uri
        self.browser = requests.Session()
        self.code_verifier, self.code_challenge = pkce_pair()
        self.state = secrets.token_urlsafe(12)
        self.nonce = secrets.token_urlsafe(12)

    # -- the browser -----------------------------------------------------------------

    def authorize(self, pkce: bool = True, **params) -> requests.Response:
        """GET /oauth2/auth with sensible defaults; ``None`` values drop a parameter."""
        defaults = {
            "client_id": self.client["client_id"],
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": "openid offline_access",
            "state": self.state,
            "nonce": self.nonce,
        }
        if pkce:
            defaults.update(code_challenge=self.code_challenge, code_challenge_method="S256")
        merged = {key: value for key, value in {**defaults, **params}.items() if value is not None}
        return self.browser.get(
            self.server.public_url + "/oauth2/auth",
            params=merged,
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def follow(self, url: str) -> requests.Response:
        return self.browser.get(url, allow_redirects=False, timeout=TIMEOUT)

    def start(self, **params) -> str:
        """Start a flow; return the login challenge the browser is sent to the login app with."""
        response = self.authorize(**params)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert "login_challenge=" in location, location
        return query(location)["login_challenge"]

    # -- the login and consent app (admin API) ----------------------------------------

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.server.admin_url + path, timeout=TIMEOUT, **kwargs)

    def get_login(self, challenge: str) -> requests.Response:
        return self.admin(
            "GET", "/admin/oauth2/auth/requests/login", params={"login_challenge": challenge}
        )

    def accept_login(self, challenge: str, subject: str = "foo@bar.com", **body) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/login/accept",
            params={"login_challenge": challenge},
            json={"subject": subject, **body},
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def reject_login(self, challenge: str, **body) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/login/reject",
            params={"login_challenge": challenge},
            json=body,
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def consent_challenge_after(self, redirect_to: str) -> str:
        response = self.follow(redirect_to)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert "consent_challenge=" in location, location
        return query(location)["consent_challenge"]

    def get_consent(self, challenge: str) -> requests.Response:
        return self.admin(
            "GET", "/admin/oauth2/auth/requests/consent", params={"consent_challenge": challenge}
        )

    def accept_consent(self, challenge: str, grant_scope: list[str] | None = None, **body) -> str:
        if grant_scope is None:
            grant_scope = self.get_consent(challenge).json()["requested_scope"]
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/consent/accept",
            params={"consent_challenge": challenge},
            json={"grant_scope": grant_scope, **body},
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def reject_consent(self, challenge: str, **body) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/consent/reject",
            params={"consent_challenge": challenge},
            json=body,
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def callback_after(self, redirect_to: str) -> dict[str, str]:
        """Follow the consent verifier; return the query the client's callback receives."""
        response = self.follow(redirect_to)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri), location
        return query(location)

    def run(
        self,
        login: dict | None = None,
        consent: dict | None = None,
        **params,
    ) -> dict[str, str]:
        """The whole flow with both steps accepted; the client's callback parameters."""
        challenge = self.start(**params)
        redirect_to = self.accept_login(challenge, **(login or {}))
        consent_challenge = self.consent_challenge_after(redirect_to)
        redirect_to = self.accept_consent(consent_challenge, **(consent or {}))
        return self.callback_after(redirect_to)

    # -- the client's back channel ----------------------------------------------------

    def exchange(self, code: str, **overrides) -> requests.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.code_verifier,
            **overrides,
        }
        form = {key: value for key, value in form.items() if value is not None}
        return requests.post(
            self.server.public_url + "/oauth2/token",
            data=form,
            auth=(self.client["client_id"], self.client["client_secret"]),
            timeout=TIMEOUT,
        )

    def refresh(self, refresh_token: str, **overrides) -> requests.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **overrides}
        return requests.post(
            self.server.public_url + "/oauth2/token",
            data=form,
            auth=(self.client["client_id"], self.client["client_secret"]),
            timeout=TIMEOUT,
        )

    def introspect(self, token: str) -> dict:
        response = self.admin("POST", "/admin/oauth2/introspect", data={"token": token})
        assert response.status_code == 200, response.text
        return response.json()
