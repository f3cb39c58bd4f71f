"""The browser's trips through the authorization server and the login, consent and logout
apps. The client cannot see them: these steps are described, not recorded."""

from __future__ import annotations

from urllib.parse import urlsplit

from demo_client.inspector.model import BROWSER, LOGIN_APP, SERVER, Step
from demo_client.inspector.redaction import safe_url


def _described(key, title, source, target, purpose, ref, method, url, at) -> Step:
    return Step(
        key, title, source, target, purpose, ref, method=method, url=url, at=at, recorded=False
    )


def browser_trip_steps(authorization_url: str, at: float) -> list[Step]:
    """What happens between the redirect and the callback. The client cannot see it: these
    steps are described, not recorded."""
    parts = urlsplit(authorization_url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    hydra = "Hydra's login & consent flow (no RFC)"
    return [
        _described(
            "browser-authorize",
            "Your browser asks the authorization server",
            BROWSER,
            SERVER,
            "Your browser follows the redirect. The server checks client_id, "
            "redirect_uri, scope and PKCE, stores the request and answers with a "
            "redirect to the login app.",
            "RFC 6749 §4.1.1",
            "GET",
            safe_url(authorization_url),
            at,
        ),
        _described(
            "browser-login",
            "Your browser opens the login app",
            BROWSER,
            LOGIN_APP,
            "The authorization server never shows a login screen itself: it sends "
            "your browser to the login app with a one-time login_challenge.",
            hydra,
            "GET",
            "<login app>?login_challenge=…",
            at,
        ),
        _described(
            "login-accept",
            "The login app accepts the login",
            LOGIN_APP,
            SERVER,
            "The login app reads the login request on the admin API, authenticates "
            "you, and accepts it with your subject; the admin API answers with a "
            "redirect_to carrying a login_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/login/accept",
            at,
        ),
        _described(
            "browser-login-verifier",
            "Your browser returns with the login verifier",
            BROWSER,
            SERVER,
            "The login_verifier is single-use and bound to this browser by a cookie. "
            "The server answers with a redirect to the consent app.",
            hydra,
            "GET",
            f"{endpoint}?login_verifier=…",
            at,
        ),
        _described(
            "browser-consent",
            "Your browser opens the consent app",
            BROWSER,
            LOGIN_APP,
            "The consent app gets a one-time consent_challenge and shows what the client asks for.",
            hydra,
            "GET",
            "<consent app>?consent_challenge=…",
            at,
        ),
        _described(
            "consent-accept",
            "The consent app accepts the consent",
            LOGIN_APP,
            SERVER,
            "It accepts on the admin API with the granted scopes and the "
            "claims for the ID token; the answer is a redirect_to carrying a "
            "consent_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/consent/accept",
            at,
        ),
        _described(
            "browser-consent-verifier",
            "Your browser returns with the consent verifier",
            BROWSER,
            SERVER,
            "The server issues a one-time authorization code and redirects your "
            "browser to the client's redirect_uri with the code, the state and iss.",
            hydra + "; RFC 6749 §4.1.2",
            "GET",
            f"{endpoint}?consent_verifier=…",
            at,
        ),
    ]


def logout_trip_steps(end_session_url: str, at: float) -> list[Step]:
    parts = urlsplit(end_session_url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    hydra = "Hydra's logout flow (no RFC)"
    return [
        _described(
            "browser-logout",
            "Your browser asks the server to log out",
            BROWSER,
            SERVER,
            "The server checks the id_token_hint and the "
            "post_logout_redirect_uri. With a login session in this browser it "
            "redirects to the logout app; without one, straight back to the client.",
            "OIDC RP-Initiated Logout §2",
            "GET",
            safe_url(end_session_url),
            at,
        ),
        _described(
            "browser-logout-app",
            "Your browser opens the logout app",
            BROWSER,
            LOGIN_APP,
            "The logout app gets a one-time logout_challenge (and may ask “really log out?”).",
            hydra,
            "GET",
            "<logout app>?logout_challenge=…",
            at,
        ),
        _described(
            "logout-accept",
            "The logout app accepts the logout",
            LOGIN_APP,
            SERVER,
            "It accepts on the admin API and gets a redirect_to carrying a logout_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/logout/accept",
            at,
        ),
        _described(
            "browser-logout-verifier",
            "Your browser returns with the logout verifier",
            BROWSER,
            SERVER,
            "The server ends the login session and "
            "redirects to the post_logout_redirect_uri with the state.",
            hydra + "; OIDC RP-Initiated Logout §3",
            "GET",
            f"{endpoint}?logout_verifier=…",
            at,
        ),
    ]
