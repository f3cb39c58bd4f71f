"""The "Log in with a device" page (RFC 8628): the app plays a device against the fake
server — start (CSRF-protected), the user code, its link and QR code, polling that honours
the interval and slow_down, the tokens stored as after the code flow, and every bad end
explained."""

from __future__ import annotations

import re
import time

import pytest

from demo_client import device_flow
from tests.demo_client.fake_server import CLIENT_ID, DEVICE_GRANT, ISSUER, USER_CODE

VERIFY = ISSUER.rstrip("/") + "/oauth2/device/verify"


@pytest.fixture(autouse=True)
def quick_slow_down(monkeypatch):
    monkeypatch.setattr(device_flow, "SLOW_DOWN_SECONDS", 0.01)


def csrf(browser, path="/device") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text).group(1)


def start(browser):
    response = browser.post("/device/start", data={"csrf_token": csrf(browser)})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/device"
    return browser.get("/device")


def poll(browser, json=True):
    time.sleep(0.03)  # past the fake's interval (0.01 s, + 0.01 after a slow_down)
    path = "/device/poll.json" if json else "/device/poll"
    return browser.post(path, headers={"X-CSRFToken": csrf(browser)})


def test_the_home_page_links_the_device_page(browser):
    assert 'href="/device"' in browser.get("/").text
    page = browser.get("/device")
    assert page.status_code == 200 and "Start a device login" in page.text


def test_start_needs_a_csrf_token(browser):
    for form in ({}, {"csrf_token": "forged"}):
        response = browser.post("/device/start", data=form)
        assert response.status_code == 400 and "csrf_failed" in response.text
    assert browser.fake.requests == []
    assert browser.post("/device/poll.json").status_code == 400  # no token header


def test_the_page_shows_the_code_link_and_an_inline_qr_code(browser):
    page = start(browser)
    html = page.text
    assert f'id="user-code">{USER_CODE}<' in html
    assert f'href="{VERIFY}"' in html
    assert f'href="{VERIFY}?user_code={USER_CODE}"' in html
    assert "<svg" in html and 'class="segno"' in html and " style=" not in html
    # The device code stays on this server; the one script is this app's own file.
    assert not any(code in html for code in browser.fake.device_codes)
    assert '<script src="/static/device.js">' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "script-src 'none'" in browser.get("/").headers["Content-Security-Policy"]
    form = browser.fake.bodies[-1]
    assert form["scope"] and "client_secret" not in form  # HTTP Basic
    assert browser.fake.requests[-1][1].endswith("/oauth2/device/auth")


def test_pending_slow_down_then_tokens_stored_as_after_the_code_flow(browser):
    browser.fake.device_polls = ["authorization_pending", "authorization_pending", "slow_down"]
    browser.fake.device_polls.append("tokens")
    start(browser)
    answers = [poll(browser).get_json() for _ in range(3)]
    assert [a["status"] for a in answers] == [
        "authorization_pending",
        "authorization_pending",
        "slow_down",
    ]
    assert answers[2]["interval"] == pytest.approx(0.02)
    done = poll(browser).get_json()
    assert done == {"status": "done", "next": "/"}
    home = browser.get("/").text
    access = browser.fake.issued[1]
    assert "You are logged in" in home and f'id="access-token">{access}</code>' in home
    polls = [b for b in browser.fake.bodies if b.get("grant_type") == DEVICE_GRANT]
    assert len(polls) == 4
    assert browser.fake.device_codes == {}


def test_the_interval_is_honoured_server_side(browser):
    browser.fake.device_interval = 30
    start(browser)
    first = poll(browser).get_json()
    assert first["status"] == "authorization_pending"
    again = [poll(browser).get_json()["status"] for _ in range(3)]
    assert again == ["waiting"] * 3
    polls = [b for b in browser.fake.bodies if b.get("grant_type") == DEVICE_GRANT]
    assert len(polls) == 1  # one token request: the interval had not passed


def test_check_now_works_without_javascript(browser):
    browser.fake.device_polls = ["authorization_pending", "tokens"]
    start(browser)
    response = poll(browser, json=False)
    assert response.status_code == 303 and response.headers["Location"] == "/device"
    assert "Not yet" in browser.get("/device").text
    response = poll(browser, json=False)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "You are logged in" in browser.get("/").text


@pytest.mark.parametrize(
    ("answer", "title"),
    [("access_denied", "The device was refused"), ("expired_token", "The device code expired")],
)
def test_denied_and_expired_are_explained(browser, answer, title):
    browser.fake.device_polls = ["authorization_pending", answer]
    start(browser)
    poll(browser)
    assert poll(browser).get_json() == {"status": "failed", "next": "/device"}
    page = browser.get("/device")
    assert page.status_code == 400 and title in page.text and answer in page.text
    assert "Start a device login" in browser.get("/device").text  # shown once, then reset
    assert "You are logged in" not in browser.get("/").text


def test_denied_without_javascript_is_the_error_page(browser):
    browser.fake.device_polls = ["access_denied"]
    start(browser)
    page = poll(browser, json=False)
    assert page.status_code == 400 and "The device was refused" in page.text


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", "<html><body>a login page</body></html>"),
        (500, "text/plain", "Internal Server Error"),
        (200, "application/json", "{not json"),
        (200, "application/json", '{"device_code": "x"}'),
        (400, "application/json", '{"error": "unauthorized_client"}'),
    ],
)
def test_bad_device_authorization_answers_are_explained(browser, answer):
    browser.fake.device_answer = answer
    response = browser.post("/device/start", data={"csrf_token": csrf(browser)})
    assert response.status_code == 400
    assert "The device authorization request was refused" in response.text
    assert "Traceback" not in response.text
    assert "Device authorization request" in response.text  # the inspector shows it


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", "<html>hi</html>"),
        (500, "text/plain", "oops"),
        (200, "application/json", "{garbage"),
        (200, "application/json", '{"token_type": "bearer"}'),
    ],
)
def test_bad_poll_answers_are_explained(browser, answer):
    browser.fake.device_polls = [answer]
    start(browser)
    assert poll(browser).get_json()["status"] == "failed"
    page = browser.get("/device")
    assert page.status_code == 400 and "invalid_response" in page.text


def test_unreachable_server_is_explained(browser):
    browser.get("/")
    token = csrf(browser)
    browser.fake.reachable.clear()
    response = browser.post("/device/start", data={"csrf_token": token})
    assert response.status_code == 502 and "unreachable" in response.text


def test_polling_without_a_device_login(browser):
    browser.get("/")
    assert (
        browser.post("/device/poll.json", headers={"X-CSRFToken": csrf(browser)}).get_json()[
            "status"
        ]
        == "failed"
    )
    page = browser.post("/device/poll", data={"csrf_token": csrf(browser)})
    assert page.status_code == 400 and "no_device_login" in page.text


def test_the_inspector_shows_every_device_step(browser):
    browser.fake.device_polls = ["authorization_pending"] * 3 + ["slow_down", "tokens"]
    start(browser)
    for _ in range(5):
        poll(browser)
    html = browser.get("/inspector").text
    assert "Device authorization request" in html
    assert "Token request (device poll) ×3" in html  # a run of pending polls, once
    assert html.count("Token request (device poll)") == 3  # ×3, slow_down, the tokens
    assert "slow_down" in html and "authorization_pending" in html
    assert "You enter the user code on another device" in html
    assert "RFC 8628" in html
    for code in browser.fake.issued[:1]:  # the device code: shortened, never whole
        assert code not in html and code[:8] + "…" in html
    assert CLIENT_ID in html
