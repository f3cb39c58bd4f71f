"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) through a logout app, as
Hydra does it: ``/oauth2/sessions/logout`` → logout app with a ``logout_challenge`` → the
app accepts (or rejects) on the admin API → the browser returns with the logout verifier →
the login session ends and the browser goes to the post-logout redirect URI."""

from __future__ import annotations

import time
import uuid
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import jwt
import requests

from tests.integration.oauth_flow import FlowDriver, create_code_client, query

TIMEOUT = 10
LOGGED_OUT = "http://127.0.0.1:9999/logged-out"
SESSION_COOKIE = "authserver_session"


def unique_subject() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def logout_client(server) -> dict:
    return create_code_client(server, post_logout_redirect_uris=[LOGGED_OUT])


def logged_in(server, client: dict, subject: str | None = None):
    """A browser with a remembered login; returns (driver, login request, tokens)."""
    driver = FlowDriver(server, client)
    challenge = driver.start()
    login_request = driver.get_login(challenge).json()
    redirect_to = driver.accept_login(challenge, subject=subject or unique_subject(), remember=True)
    consent_challenge = driver.consent_challenge_after(redirect_to)
    callback = driver.callback_after(driver.accept_consent(consent_challenge))
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    assert driver.browser.cookies.get(SESSION_COOKIE)
    return driver, login_request, response.json()


def start_logout(driver: FlowDriver, browser: requests.Session | None = None, **params):
    browser = browser or driver.browser
    response = browser.get(
        driver.server.public_url + "/oauth2/sessions/logout",
        params=params,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code < 500, response.text
    return response


def logout_challenge_of(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert "logout_challenge=" in location, location
    return query(location)["logout_challenge"]


def admin_logout(driver: FlowDriver, method: str, action: str, challenge: str):
    path = "/admin/oauth2/auth/requests/logout" + (f"/{action}" if action else "")
    return driver.admin(method, path, params={"logout_challenge": challenge})


def accept(driver: FlowDriver, challenge: str) -> str:
    response = admin_logout(driver, "PUT", "accept", challenge)
    assert response.status_code == 200, response.text
    return response.json()["redirect_to"]


def assert_error_page(response: requests.Response, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def cookie_cleared(response: requests.Response, name: str) -> bool:
    for header in response.raw.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name not in cookie:
            continue
        morsel = cookie[name]
        if morsel["max-age"] == "0":
            return True
        if morsel["expires"] and parsedate_to_datetime(morsel["expires"]).timestamp() < time.time():
            return True
    return False


def next_login_skip(driver: FlowDriver) -> bool:
    return driver.get_login(driver.start()).json()["skip"]


# -- the whole logout ----------------------------------------------------------------------


def test_rp_initiated_logout(dev_server):
    client = logout_client(dev_server)
    subject = unique_subject()
    driver, _, tokens = logged_in(dev_server, client, subject)
    # The session is remembered: a second login is skipped, in this session.
    second = driver.get_login(driver.start()).json()
    assert second["skip"] is True
    assert second["subject"] == subject
    sid = second["session_id"]
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["sid"] == sid

    response = start_logout(
        driver,
        id_token_hint=tokens["id_token"],
        post_logout_redirect_uri=LOGGED_OUT,
        state="xyz-state",
    )
    challenge = logout_challenge_of(response)
    assert response.headers["Location"].startswith(
        dev_server.public_url + "/oauth2/fallbacks/logout?"
    )

    request = admin_logout(driver, "GET", "", challenge)
    assert request.status_code == 200, request.text
    details = request.json()
    assert details["subject"] == subject
    assert details["sid"] == sid
    assert details["rp_initiated"] is True
    assert details["client"]["client_id"] == client["client_id"]

    response = driver.follow(accept(driver, challenge))
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.split("?")[0] == LOGGED_OUT
    assert query(location) == {"state": "xyz-state"}
    assert cookie_cleared(response, SESSION_COOKIE), response.headers
    assert SESSION_COOKIE not in driver.browser.cookies

    assert next_login_skip(driver) is False


def test_browser_initiated_logout_ends_at_the_default_page(dev_server):
    client = logout_client(dev_server)
    subject = unique_subject()
    driver, _, _ = logged_in(dev_server, client, subject)

    challenge = logout_challenge_of(start_logout(driver))
    details = admin_logout(driver, "GET", "", challenge).json()
    assert details["subject"] == subject
    assert details["rp_initiated"] is False

    response = driver.follow(accept(driver, challenge))
    assert response.status_code == 302, response.text
    destination = response.headers["Location"]
    assert destination == dev_server.public_url + "/oauth2/fallbacks/logout/callback"
    assert cookie_cleared(response, SESSION_COOKIE)
    assert driver.follow(destination).status_code == 200
    assert next_login_skip(driver) is False


def test_rejected_logout_keeps_the_session(dev_server):
    client = logout_client(dev_server)
    driver, _, tokens = logged_in(dev_server, client)
    challenge = logout_challenge_of(
        start_logout(driver, id_token_hint=tokens["id_token"], post_logout_redirect_uri=LOGGED_OUT)
    )
    response = admin_logout(driver, "PUT", "reject", challenge)
    assert response.status_code == 204, response.text
    assert admin_logout(driver, "GET", "", challenge).status_code == 410
    assert next_login_skip(driver) is True


# -- bad inputs ----------------------------------------------------------------------------


def test_unregistered_post_logout_redirect_uri(dev_server):
    client = logout_client(dev_server)
    driver, _, tokens = logged_in(dev_server, client)
    for uri in ("http://127.0.0.1:9999/elsewhere", "https://evil.example/logged-out"):
        response = start_logout(
            driver, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri
        )
        assert_error_page(response)
    assert next_login_skip(driver) is True


def test_post_logout_redirect_uri_without_a_client(dev_server):
    client = logout_client(dev_server)
    driver, _, _ = logged_in(dev_server, client)
    assert_error_page(start_logout(driver, post_logout_redirect_uri=LOGGED_OUT, state="s"))
    assert next_login_skip(driver) is True


def test_post_logout_redirect_uri_with_client_id(dev_server):
    client = logout_client(dev_server)
    driver, _, _ = logged_in(dev_server, client)
    challenge = logout_challenge_of(
        start_logout(driver, client_id=client["client_id"], post_logout_redirect_uri=LOGGED_OUT)
    )
    response = driver.follow(accept(driver, challenge))
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == LOGGED_OUT


def test_garbage_id_token_hint(dev_server):
    client = logout_client(dev_server)
    driver, _, tokens = logged_in(dev_server, client)
    header, payload, signature = tokens["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    for hint in ("garbage", "a.b.c", forged):
        response = start_logout(driver, id_token_hint=hint, post_logout_redirect_uri=LOGGED_OUT)
        assert_error_page(response)
    assert next_login_skip(driver) is True


def test_id_token_hint_of_another_user(dev_server):
    client = logout_client(dev_server)
    _, _, other_tokens = logged_in(dev_server, client)
    driver, _, _ = logged_in(dev_server, client)
    response = start_logout(
        driver, id_token_hint=other_tokens["id_token"], post_logout_redirect_uri=LOGGED_OUT
    )
    assert_error_page(response)
    assert next_login_skip(driver) is True


# -- no session ----------------------------------------------------------------------------


def test_no_session_goes_straight_to_the_destination(dev_server):
    client = logout_client(dev_server)
    driver, _, tokens = logged_in(dev_server, client)
    stranger = requests.Session()
    response = start_logout(
        driver,
        stranger,
        id_token_hint=tokens["id_token"],
        post_logout_redirect_uri=LOGGED_OUT,
        state="abc",
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == LOGGED_OUT + "?state=abc"

    response = start_logout(driver, stranger)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location == dev_server.public_url + "/oauth2/fallbacks/logout/callback"
    # The logged-in browser was not affected.
    assert next_login_skip(driver) is True


# -- replays -------------------------------------------------------------------------------


def test_logout_challenge_after_accept_is_gone(dev_server):
    client = logout_client(dev_server)
    driver, _, _ = logged_in(dev_server, client)
    challenge = logout_challenge_of(start_logout(driver))
    accept(driver, challenge)
    response = admin_logout(driver, "GET", "", challenge)
    assert response.status_code == 410, response.text
    assert response.json()["redirect_to"].startswith(
        dev_server.public_url + "/oauth2/sessions/logout"
    )
    again = admin_logout(driver, "PUT", "accept", challenge)
    assert again.status_code == 410, again.text
    assert "redirect_to" in again.json()


def test_logout_verifier_used_twice(dev_server):
    client = logout_client(dev_server)
    driver, _, _ = logged_in(dev_server, client)
    challenge = logout_challenge_of(start_logout(driver))
    redirect_to = accept(driver, challenge)
    assert driver.follow(redirect_to).status_code == 302
    response = driver.follow(redirect_to)
    assert response.status_code >= 400, response.text
    assert_error_page(response, response.status_code)


def test_logout_verifier_in_another_browser(dev_server):
    client = logout_client(dev_server)
    driver, _, _ = logged_in(dev_server, client)
    challenge = logout_challenge_of(start_logout(driver))
    redirect_to = accept(driver, challenge)

    other = requests.Session()
    response = other.get(redirect_to, allow_redirects=False, timeout=TIMEOUT)
    assert_error_page(response, 403)
    # Another logged-in browser (another user's session) is refused just the same.
    someone_else, _, _ = logged_in(dev_server, client)
    response = someone_else.follow(redirect_to)
    assert_error_page(response, 403)
    # Nothing was logged out.
    assert next_login_skip(driver) is True
    assert next_login_skip(someone_else) is True
