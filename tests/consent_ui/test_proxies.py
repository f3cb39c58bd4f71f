"""Secure cookies on https (direct or via a trusted proxy), and forwarded headers believed
only from CONSENT_UI_TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from consent_ui.proxies import TrustedProxies, parse_networks
from tests.consent_ui.conftest import Clock, Site, base_config, form_of

PROXY = "10.0.0.2"
PROXIES = "10.0.0.0/8, fd00::/8"
HTTPS = {"X-Forwarded-Proto": "https"}

# how the request arrives -> are cookies Secure?
ARRIVALS = {
    "plain http": ({}, False),
    "https": ({"base_url": "https://localhost"}, True),
    "trusted proxy, X-Forwarded-Proto https": (
        {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": HTTPS},
        True,
    ),
    "trusted proxy, X-Forwarded-Proto http": (
        {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": {"X-Forwarded-Proto": "http"}},
        False,
    ),
    "untrusted address, X-Forwarded-Proto https": (
        {"environ_base": {"REMOTE_ADDR": "192.0.2.1"}, "headers": HTTPS},
        False,
    ),
}


def login_cookies(client, admin, arrival: dict) -> dict[str, str]:
    """Every Set-Cookie of a login page and a remembered login, by cookie name."""
    admin.add_login()
    page = client.get("/login?login_challenge=login-1", **arrival)
    data = form_of(page).submit_data(
        "login", tick=["remember"], email="foo@bar.com", password="foobar"
    )
    response = client.post("/login", data=MultiDict(data), **arrival)
    assert response.status_code == 302
    headers = page.headers.getlist("Set-Cookie") + response.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


@pytest.mark.parametrize(("arrival", "secure"), ARRIVALS.values(), ids=ARRIVALS)
def test_every_cookie_is_secure_exactly_when_the_browser_used_https(admin, arrival, secure):
    app = create_app(base_config(TRUSTED_PROXIES=PROXIES), admin_api=admin)

    cookies = login_cookies(app.test_client(), admin, arrival)

    assert set(cookies) == {"consent_ui_session", "consent_ui_remember", "consent_ui_device"}
    for name, header in cookies.items():
        assert ("; Secure" in header) is secure, name


def test_consent_ui_https_makes_every_cookie_secure_even_on_plain_http(admin):
    app = create_app(base_config(HTTPS=True), admin_api=admin)

    cookies = login_cookies(app.test_client(), admin, {})

    assert len(cookies) == 3
    assert all("; Secure" in header for header in cookies.values())


def seen_by_the_app(remote: str, forwarded_for: str = "", proto: str = "") -> tuple[str, str]:
    """(REMOTE_ADDR, wsgi.url_scheme) as the app behind TrustedProxies sees them."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []

    environ = {"REMOTE_ADDR": remote, "wsgi.url_scheme": "http"}
    if forwarded_for:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if proto:
        environ["HTTP_X_FORWARDED_PROTO"] = proto
    TrustedProxies(app, parse_networks(PROXIES))(environ, None)
    return seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]


# (REMOTE_ADDR, X-Forwarded-For, X-Forwarded-Proto) -> (client address, scheme)
FORWARDED = [
    (("192.0.2.1", "203.0.113.7", "https"), ("192.0.2.1", "http")),  # not our proxy
    ((PROXY, "", ""), (PROXY, "http")),
    ((PROXY, "203.0.113.7", "https"), ("203.0.113.7", "https")),
    ((PROXY, "1.2.3.4, 203.0.113.7", "http, https"), ("203.0.113.7", "https")),  # spoofed left
    ((PROXY, "203.0.113.7, 10.0.0.3", ""), ("203.0.113.7", "http")),  # two of our proxies
    ((PROXY, "10.0.0.9, 10.0.0.3", ""), ("10.0.0.9", "http")),  # all ours: the furthest
    ((PROXY, "not-an-ip, 203.0.113.7", ""), ("203.0.113.7", "http")),
    ((PROXY, "2001:DB8:0::1", "HTTPS"), ("2001:db8::1", "https")),  # canonical form
    (("::ffff:10.0.0.2", "203.0.113.7", "https"), ("203.0.113.7", "https")),  # dual stack
    (("fd00::5", "203.0.113.7", "gopher"), ("203.0.113.7", "http")),  # unknown scheme
    (("garbage", "203.0.113.7", "https"), ("garbage", "http")),
]


@pytest.mark.parametrize(("request_", "expected"), FORWARDED)
def test_forwarded_headers_are_believed_only_from_trusted_proxies(request_, expected):
    assert seen_by_the_app(*request_) == expected


def test_without_trusted_proxies_nothing_is_rewritten():
    seen = {}
    app = TrustedProxies(lambda environ, start: seen.update(environ) or [], ())
    app({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "1.2.3.4", "wsgi.url_scheme": "http"}, None)

    assert seen["REMOTE_ADDR"] == PROXY


def test_bad_networks_are_refused():
    with pytest.raises(ValueError, match="'10.0.0.300/8'"):
        parse_networks("10.0.0.0/8, 10.0.0.300/8")


def guesses(browser, forwarded_for: list[str]) -> list[int]:
    """Retry-After (0: none) of a wrong password sent with each X-Forwarded-For."""
    waits = []
    for value in forwarded_for:
        browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = value
        response = browser.login(email="victim@bar.com", password="guess")
        waits.append(int(response.headers.get("Retry-After", 0)))
    return waits


def test_the_throttle_counts_the_client_behind_the_proxy_not_the_proxy(admin):
    clock = Clock()
    site = Site(admin, clock, TRUSTED_PROXIES=PROXIES)
    rotating = [f"1.1.1.{n}, 203.0.113.7" for n in range(6)]  # spoofed on the left

    assert guesses(site.browser(PROXY), rotating) == [0] * 5 + [300]  # its own pair: locked
    clock.now += 1  # past the account's short delay
    assert guesses(site.browser(PROXY), ["198.51.100.1"]) == [0]  # the proxy is not locked


def test_forwarded_for_from_anyone_else_does_not_dodge_the_throttle(admin):
    site = Site(admin, Clock(), TRUSTED_PROXIES=PROXIES)
    rotating = [f"1.1.1.{n}" for n in range(6)]

    assert guesses(site.browser("192.0.2.1"), rotating) == [0] * 5 + [300]
