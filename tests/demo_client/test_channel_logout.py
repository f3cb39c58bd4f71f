"""Logout from the authorization server ends the session here: OIDC Back-Channel Logout 1.0
(``POST /backchannel-logout`` with a logout token, validated as §2.6 says) and Front-Channel
Logout 1.0 (``GET /frontchannel-logout?iss=…&sid=…`` in an iframe of the server's logout
page); the per-instance cookie and name; and what ``--register`` registers for them."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid

import pytest
from joserfc import jws
from joserfc.jwk import RSAKey

from demo_client import channel_logout, create_app
from demo_client.config import ConfigError, load_config
from demo_client.register import client_document, register_client
from tests.demo_client.conftest import BASE, Browser, query, settings
from tests.demo_client.fake_server import CLIENT_ID, ISSUER, SUBJECT, http_session
from tests.demo_client.test_config_register import FakeAdmin, registering

EVENT = "http://schemas.openid.net/event/backchannel-logout"
SID = "session-1"  # the fake server's ID tokens carry this sid
DROP = object()  # an override that removes the claim or header field
FORM = "application/x-www-form-urlencoded"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def logout_token(key: RSAKey, header: dict | None = None, **claims) -> str:
    """A logout token as the authorization server makes it, with ``claims`` changed (DROP
    removes one), signed with ``key`` as the fake signs ID tokens."""
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": [CLIENT_ID],
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
        "events": {EVENT: {}},
        "sub": SUBJECT,
        "sid": SID,
    }
    body.update(claims)
    head = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt", **(header or {})}
    head = {name: value for name, value in head.items() if value is not DROP}
    body = {name: value for name, value in body.items() if value is not DROP}
    return jws.serialize_compact(head, json.dumps(body).encode(), key)


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def send(browser: Browser, token: str | None = None, **kwargs):
    """The authorization server's POST: no cookie, no CSRF token."""
    server = browser.app.test_client(use_cookies=False)
    if token is not None:
        kwargs.setdefault("data", {"logout_token": token})
    return server.post(BASE + "/backchannel-logout", **kwargs)


def logged_in(browser: Browser) -> bool:
    return "You are logged in" in browser.get("/").text


def assert_refused(response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert body["error_description"].isascii()


@pytest.fixture
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})  # same kid, other key


def now() -> int:
    return int(time.time())


BAD_CLAIMS = {
    "wrong iss": {"iss": "http://other-issuer.example/"},
    "iss without its slash": {"iss": ISSUER.rstrip("/")},
    "aud another client": {"aud": ["another-client"]},
    "aud missing": {"aud": DROP},
    "iat missing": {"iat": DROP},
    "iat five minutes ahead": {"iat": now() + 300},
    "iat eleven minutes old": {"iat": now() - 660, "exp": now() + 60},
    "iat not a number": {"iat": "now"},
    "iat out of any date's range": {"iat": 1e300},
    "exp passed": {"iat": now() - 300, "exp": now() - 180},
    "jti missing": {"jti": DROP},
    "jti not a string": {"jti": 12345},
    "jti empty": {"jti": ""},
    "events missing": {"events": DROP},
    "events without the logout event": {"events": {"http://example.com/other": {}}},
    "events value not an object": {"events": {EVENT: "yes"}},
    "events not an object": {"events": [EVENT]},
    "neither sub nor sid": {"sub": DROP, "sid": DROP},
    "sid not a string": {"sid": 7},
    "nonce present": {"nonce": "n-0S6_WzA2Mj"},
}
BAD_HEADERS = {
    "typ JWT": {"typ": "JWT"},
    "typ missing": {"typ": DROP},
    "kid unknown": {"kid": "no-such-key"},
}


def bad_tokens(key: RSAKey, other: RSAKey) -> dict[str, str]:
    good = logout_token(key)
    head, claims, _ = good.split(".")
    claims_json = json.loads(base64.urlsafe_b64decode(claims + "=="))
    tokens = {name: logout_token(key, **claims) for name, claims in BAD_CLAIMS.items()}
    tokens |= {name: logout_token(key, header) for name, header in BAD_HEADERS.items()}
    tokens |= {
        "signed by another key": logout_token(other),
        "signature cut off": f"{head}.{claims}.",
        "claims changed after signing": f"{head}.{b64(b'{}')}.{good.split('.')[2]}",
        "alg none": unsigned({"alg": "none", "typ": "logout+jwt"}, claims_json),
        "alg HS256": unsigned({"alg": "HS256", "kid": key.kid, "typ": "logout+jwt"}, claims_json)
        + "c2lnbmF0dXJl",
        "an ID token's shape (no typ, a nonce)": logout_token(key, {"typ": DROP}, nonce="x"),
        "garbage": "garbage",
        "empty": "",
        "NUL bytes": "a\x00b.c\x00d.e",
        "CR LF": "a.b.c\r\nSet-Cookie: x=1",
        "five parts (a JWE)": "a.b.c.d.e",
        "not base64 JSON": "Zm9v.YmFy.YmF6",
        "JSON nested thousands deep": f"{b64(b'[' * 20_000)}.{claims}.c2ln",
        "claims an array": f"{head}.{b64(b'[1, 2]')}.c2ln",
        "over-long": "a" * 40_000 + "." + "b" * 20_000 + ".c",
    }
    return tokens


# The check each bad token fails first (the others: "format", "alg", "typ", "kid", "signature").
EXPECTED = {
    "wrong iss": "iss",
    "iss without its slash": "iss",
    "aud another client": "aud",
    "aud missing": "aud",
    "iat missing": "iat",
    "iat five minutes ahead": "iat",
    "iat eleven minutes old": "iat",
    "iat not a number": "iat",
    "iat out of any date's range": "iat",
    "exp passed": "exp",
    "jti missing": "jti",
    "jti not a string": "jti",
    "jti empty": "jti",
    "events missing": "events",
    "events without the logout event": "events",
    "events value not an object": "events",
    "events not an object": "events",
    "neither sub nor sid": "sub/sid",
    "sid not a string": "sub/sid",
    "nonce present": "nonce",
    "typ JWT": "typ",
    "typ missing": "typ",
    "kid unknown": "kid",
    "signed by another key": "signature",
    "signature cut off": "signature",
    "claims changed after signing": "signature",
    "alg none": "alg",
    "alg HS256": "alg",
    "an ID token's shape (no typ, a nonce)": "typ",
}


def test_bad_logout_tokens_are_400_and_end_nothing(browser, signing_key, other_key, caplog):
    browser.login()
    tokens = bad_tokens(signing_key, other_key)
    with caplog.at_level(logging.INFO, logger="demo_client.views.channel_logout"):
        for name, token in tokens.items():
            response = send(browser, token)
            assert_refused(response)
            check = EXPECTED.get(name, "format")
            description = response.get_json()["error_description"]
            if check == "format":
                assert "not a compact JWS" in description, name
            else:
                assert description == f"the logout token failed the {check} check", name
            assert logged_in(browser), name
    refusals = [r.getMessage() for r in caplog.records if "logout token refused" in r.getMessage()]
    assert len(refusals) == len(tokens)
    assert "back-channel logout token refused: typ check" in refusals
    assert "back-channel logout token refused: format check" in refusals
    for token in tokens.values():
        assert len(token) < 20 or token not in caplog.text


BAD_REQUESTS = {
    "no parameter": {"data": {}},
    "two parameters": {"data": "logout_token=a.b.c&logout_token=a.b.c", "content_type": FORM},
    "JSON body": {"json": {"logout_token": "a.b.c"}},
    "over 64 KiB": {"data": "logout_token=" + "a" * 70_000, "content_type": FORM},
    "invalid UTF-8": {"data": b"logout_token=%FF%FE.%00.x", "content_type": FORM},
    "raw bytes": {"data": b"logout_token=\xff\x00\xed\xa0\x80", "content_type": FORM},
    "multipart": {"data": {"logout_token": "a.b.c"}, "content_type": "multipart/form-data"},
    "token in the query": {
        "query_string": {"logout_token": "a.b.c"},
        "data": {"logout_token": "a.b.c"},
    },
}


@pytest.mark.parametrize("request_kwargs", BAD_REQUESTS.values(), ids=BAD_REQUESTS)
def test_bad_requests_are_400(browser, request_kwargs):
    browser.login()
    assert_refused(send(browser, **request_kwargs))
    assert logged_in(browser)


def test_two_logout_token_parameters_even_good_ones_are_refused(browser, signing_key):
    browser.login()
    token = logout_token(signing_key)
    response = send(browser, data=f"logout_token={token}&logout_token={token}", content_type=FORM)
    assert_refused(response)
    assert "exactly one" in response.get_json()["error_description"]
    assert logged_in(browser)


def test_get_on_the_back_channel_route_is_405(browser):
    assert browser.get("/backchannel-logout").status_code == 405


def test_a_good_logout_token_ends_the_session(browser, signing_key, caplog):
    browser.login()
    token = logout_token(signing_key)
    with caplog.at_level(logging.DEBUG):
        response = send(browser, token)

    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Cache-Control"] == "no-store"
    assert "back-channel logout ended 1 session(s)" in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text

    home = browser.get("/")
    assert "You are logged in" not in home.text
    text = " ".join(re.sub(r"<[^>]+>", "", home.text).split())
    assert (
        "Your session here was ended by back-channel logout from the authorization server" in text
    )
    link = re.search(r'href="/inspector#step-(\d+)" id="ended-step"', home.text)
    assert link

    inspector = browser.get("/inspector").text
    step = inspector.split(f'id="step-{link.group(1)}"')[1].split("</li>")[0]
    assert 'data-step="backchannel-logout"' in inspector
    assert "Back-channel logout" in step
    assert "Your browser was not involved" in " ".join(step.split())
    for row in ("header.typ", "header.alg", "claims.iss", "claims.events", "claims.sid"):
        assert f'data-logout-token="{row}"' in step
    assert "logout+jwt" in step and EVENT in step
    assert token not in inspector and token.split(".")[2] not in inspector  # shortened
    assert "✗ failed" not in step and "jti (replay)" in step


def test_a_replayed_logout_token_is_refused(browser, signing_key):
    browser.login()
    token = logout_token(signing_key)
    assert send(browser, token).status_code == 200
    browser.login()  # a new login, same sid: the copy must not end it
    response = send(browser, token)
    assert_refused(response)
    assert "jti (replay)" in response.get_json()["error_description"]
    assert logged_in(browser)


def test_the_jti_is_recorded_only_once_every_other_check_passed(browser, signing_key):
    browser.login()
    jti = str(uuid.uuid4())
    assert_refused(send(browser, logout_token(signing_key, jti=jti, aud=["someone-else"])))
    assert send(browser, logout_token(signing_key, jti=jti)).status_code == 200
    assert not logged_in(browser)


def test_a_token_for_another_session_is_200_and_ends_nothing(browser, signing_key, caplog):
    browser.login()
    with caplog.at_level(logging.INFO):
        response = send(browser, logout_token(signing_key, sid="another-session"))
    assert response.status_code == 200
    assert "back-channel logout ended 0 session(s)" in caplog.text
    assert logged_in(browser)


def test_the_sid_decides_even_when_the_sub_matches(browser, signing_key):
    browser.login()
    assert send(browser, logout_token(signing_key, sid="other", sub=SUBJECT)).status_code == 200
    assert logged_in(browser)


def test_a_token_with_only_a_sub_ends_that_users_sessions(browser, signing_key):
    browser.login()
    assert send(browser, logout_token(signing_key, sid=DROP, sub="someone-else")).status_code == 200
    assert logged_in(browser)
    assert send(browser, logout_token(signing_key, sid=DROP)).status_code == 200
    assert not logged_in(browser)


def test_a_string_aud_is_accepted(browser, signing_key):
    browser.login()
    assert send(browser, logout_token(signing_key, aud=CLIENT_ID, exp=DROP)).status_code == 200
    assert not logged_in(browser)


def test_every_browser_of_that_login_ends(make_browser, signing_key):
    first = make_browser()
    second = Browser(first.app, first.fake)  # another browser, same app
    first.login()
    second.login()  # the fake gives every login the same sid
    assert send(first, logout_token(signing_key)).status_code == 200
    assert not logged_in(first) and not logged_in(second)


def test_a_new_login_after_back_channel_logout_clears_the_notice(browser, signing_key):
    browser.login()
    send(browser, logout_token(signing_key))
    assert 'id="ended-notice"' in browser.get("/").text
    assert logged_in(browser) is False
    browser.login()
    assert 'id="ended-notice"' not in browser.get("/").text


def test_a_rotated_key_is_fetched_once_then_not_again_at_once(browser, monkeypatch):
    browser.login()
    fake = browser.fake
    send(browser, logout_token(fake.key, sid="x"))  # the JWKS is now cached

    def jwks_fetches() -> int:
        return sum(url.endswith("/jwks.json") for _, url in fake.requests)

    before = jwks_fetches()
    fake.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-2"})  # rotated
    assert_refused(send(browser, logout_token(fake.key)))  # fetched too recently
    assert jwks_fetches() == before
    monkeypatch.setattr(channel_logout, "REFETCH_SECONDS", 0)
    assert send(browser, logout_token(fake.key)).status_code == 200  # an unknown kid: fetched
    assert jwks_fetches() == before + 1
    assert not logged_in(browser)


def test_unreachable_keys_are_a_400(browser, signing_key):
    browser.login()
    browser.fake.reachable = set()
    response = send(browser, logout_token(signing_key))
    assert_refused(response)
    assert logged_in(browser)  # the home page itself needs no network


def test_the_replay_cache_is_bounded():
    cache = channel_logout.build_backchannel_logout(
        load_config(settings()), None, None, None
    ).replays
    assert cache._max == channel_logout.MAX_JTIS
    assert cache._keep >= 10 * 60
    for number in range(cache._max + 50):
        cache.first_use(f"jti-{number}", 1000.0)
    assert len(cache._seen) == cache._max


# -- front-channel logout --------------------------------------------------------------


def frontchannel(browser: Browser, **params):
    return browser.get("/frontchannel-logout", query_string=params)


def test_front_channel_logout_with_the_sid_ends_the_session(browser):
    browser.login()
    response = frontchannel(browser, iss=ISSUER, sid=SID)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "ended 1 session(s)" in response.text
    assert any(
        c.startswith("demo_client_session_4446=;") for c in response.headers.getlist("Set-Cookie")
    )
    assert not logged_in(browser)


def test_front_channel_logout_ends_other_browsers_of_that_login_with_a_notice(make_browser):
    first = make_browser()
    second = Browser(first.app, first.fake)
    first.login()
    second.login()
    assert frontchannel(first, iss=ISSUER, sid=SID).status_code == 200
    home = second.get("/")
    assert "You are logged in" not in home.text
    assert 'id="ended-notice" data-channel="front-channel"' in home.text
    inspector = second.get("/inspector").text
    assert 'data-step="frontchannel-logout"' in inspector
    assert "invisible iframe" in inspector and SID in inspector


def test_front_channel_logout_without_a_sid_ends_the_browsers_own_session(make_browser):
    first = make_browser()
    second = Browser(first.app, first.fake)
    first.login()
    second.login()
    assert frontchannel(first).status_code == 200
    assert not logged_in(first)
    assert logged_in(second)


@pytest.mark.parametrize(
    "params",
    [
        {"iss": "http://evil.example/", "sid": SID},
        {"iss": "http://evil.example/"},
        {"sid": SID},  # sid comes with iss (§2)
        {"iss": [ISSUER, ISSUER], "sid": SID},
        {"iss": ISSUER, "sid": [SID, "other"]},
        {"iss": ISSUER, "sid": ""},
        "iss=%00%0D%0A&sid=%ED%A0%80",
        "iss=%FF%FE&sid=session-1",
    ],
)
def test_front_channel_logout_with_wrong_parameters_is_400_and_ends_nothing(browser, params):
    browser.login()
    if isinstance(params, str):
        response = browser.get("/frontchannel-logout?" + params)
    else:
        response = frontchannel(browser, **params)
    assert response.status_code == 400
    assert "Nothing was ended" in response.text
    assert not response.headers.getlist("Set-Cookie")
    assert logged_in(browser)


def test_front_channel_logout_for_another_sid_ends_nothing(browser):
    browser.login()
    assert "ended 0 session(s)" in frontchannel(browser, iss=ISSUER, sid="other").text
    assert logged_in(browser)


def test_front_channel_during_a_logout_this_app_started_keeps_the_cookie(browser):
    browser.login()
    state = query(browser.press("/logout").headers["Location"])["state"]
    response = frontchannel(browser, iss=ISSUER, sid=SID)
    assert response.status_code == 200
    assert not response.headers.getlist("Set-Cookie")
    done = browser.get(f"/logged-out?state={state}")
    assert done.status_code == 200
    assert 'data-step="frontchannel-logout"' in done.text
    assert 'id="ended-notice"' in done.text and 'href="#step-' in done.text


def test_front_channel_answer_may_be_framed_by_the_issuer_only(browser):
    response = frontchannel(browser, iss=ISSUER, sid=SID)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors http://issuer.example:9000;" in csp + ";"
    assert "frame-ancestors 'none'" not in csp
    assert "X-Frame-Options" not in response.headers
    assert "<script" not in response.text.lower()
    refused = frontchannel(browser, iss="http://evil.example/")
    assert "X-Frame-Options" not in refused.headers
    for page in (browser.get("/"), browser.get("/inspector"), send(browser, "x")):
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_an_issuer_no_csp_can_name_gets_self():
    from demo_client import frontchannel_content_security_policy

    csp = frontchannel_content_security_policy("http://user:pw@issuer.example")
    assert "frame-ancestors 'self'" in csp and "pw" not in csp


def test_front_channel_is_get_only_and_back_channel_needs_no_csrf_token(browser, signing_key):
    assert browser.post("/frontchannel-logout").status_code in (400, 405)
    browser.login()
    assert send(browser, logout_token(signing_key)).status_code == 200  # no CSRF token


# -- several instances: cookie, name; registration ----------------------------------------


def test_two_instances_on_one_host_have_different_cookies(fake):
    first = create_app(settings(), http=http_session(fake))
    second = create_app(
        settings(PORT="4447", DEMO_CLIENT_REDIRECT_URI="http://127.0.0.1:4447/callback"),
        http=http_session(fake),
    )
    assert first.config["SESSION_COOKIE_NAME"] == "demo_client_session_4446"
    assert second.config["SESSION_COOKIE_NAME"] == "demo_client_session_4447"
    named = create_app(settings(DEMO_CLIENT_SESSION_COOKIE="my-app_1"), http=http_session(fake))
    assert named.config["SESSION_COOKIE_NAME"] == "my-app_1"


def test_the_cookie_follows_the_redirect_uris_port_not_the_listening_one():
    config = load_config({"PORT": "8000", "DEMO_CLIENT_REDIRECT_URI": "http://x.example:9/cb"})
    assert config.session_cookie_name == "demo_client_session_9"


@pytest.mark.parametrize(
    "value", ["my cookie", "a;b", "a=b", "é", "x" * 65, "a\x00", "demo,client", '"q"']
)
def test_a_cookie_name_must_be_a_plain_token(value):
    with pytest.raises(ConfigError) as error:
        load_config({"DEMO_CLIENT_SESSION_COOKIE": value})
    assert "DEMO_CLIENT_SESSION_COOKIE" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_display_name_is_shown_and_checked(make_browser):
    browser = make_browser(DEMO_CLIENT_NAME="Second app")
    home = browser.get("/").text
    assert '<a class="brand" href="/">Second app</a>' in home
    assert "<title>Second app ·" in home
    assert "<title>Flow inspector · Second app ·" in browser.get("/inspector").text
    assert load_config({}).name == "Demo client"
    with pytest.raises(ConfigError):
        load_config({"DEMO_CLIENT_NAME": "a\x00b"})
    with pytest.raises(ConfigError):
        load_config({"DEMO_CLIENT_NAME": "x" * 81})


def test_registration_sends_the_logout_uris_and_the_name():
    admin = FakeAdmin()
    config = registering(DEMO_CLIENT_NAME="Second app")
    register_client(config, admin.session())
    stored = admin.clients["demo-client"]
    assert stored["client_name"] == "Second app"
    assert stored["backchannel_logout_uri"] == "http://127.0.0.1:4446/backchannel-logout"
    assert stored["frontchannel_logout_uri"] == "http://127.0.0.1:4446/frontchannel-logout"
    assert stored["backchannel_logout_session_required"] is True
    assert stored["frontchannel_logout_session_required"] is True

    docker = registering(
        DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI="http://demo-client:4446/backchannel-logout"
    )
    register_client(docker, admin.session())  # an update, as for the other fields
    assert admin.calls[-1] == "PUT"
    stored = admin.clients["demo-client"]
    assert stored["backchannel_logout_uri"] == "http://demo-client:4446/backchannel-logout"
    assert stored["frontchannel_logout_uri"] == "http://127.0.0.1:4446/frontchannel-logout"
    assert client_document(docker)["backchannel_logout_session_required"] is True


def test_a_back_channel_logout_uri_must_be_a_url_without_fragment():
    for value in ("demo-client:4446/x", "http://x.example/bcl#frag"):
        with pytest.raises(ConfigError) as error:
            load_config({"DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI": value})
        assert "DEMO_CLIENT_BACKCHANNEL_LOGOUT_URI" in str(error.value)
