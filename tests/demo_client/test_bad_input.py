"""No input gets a 5xx: every route of the demo client (read from its url_map, so a new
route is covered without touching this file), GET and POST with malformed values in the
query, the form (with and without its CSRF token), cookies, headers and the body, the odd
methods; and odd strings (lone surrogates) in every JSON answer of the authorization
server. The answer must be a 4xx or the normal page, never a 500."""

from __future__ import annotations

import pytest

from tests.demo_client.conftest import BASE, query
from tests.demo_client.fake_server import ISSUER

METHODS = ("GET", "POST")  # what the routes serve; the odd ones have their own test
ODD_METHODS = ("HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND")
NOT_ALLOWED = {"PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"}
FORM = "application/x-www-form-urlencoded"
# The OAuth 2.0 / OpenID Connect parameters the pages read, and the forms' own fields.
PARAMETERS = ("prompt", "state", "code", "error", "error_description", "iss", "token")

ENCODED = {  # as they travel in a URL or a form body
    "NUL": "%00",
    "lone surrogate": "%ED%A0%80",
    "invalid UTF-8": "%FF%FE",
    "CR LF": "%0D%0ASet-Cookie:%20x=1",
    "over-long": "a" * 8_000,
    "empty": "",
}
RAW = {  # as raw bytes (WSGI hands them over as latin-1 text)
    "NUL": "\x00",
    "lone surrogate": "\xed\xa0\x80",
    "invalid UTF-8": "\xff\xfe",
    "over-long": "a" * 8_000,
}
HEADERS = ("Host", "X-Forwarded-For", "X-Forwarded-Proto", "Accept-Language", "User-Agent")
BODIES = {
    "JSON with a lone surrogate": ("application/json", b'{"token": "\\ud800", "x": [1'),
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\n"),
    "broken multipart": ("multipart/form-data; boundary=x", b"--x\r\nContent-Dispo\x00"),
    "unknown charset": (FORM + "; charset=klingon", b"token=%FF"),
    "form, over 64 KiB": (FORM, b"token=" + b"a" * 70_000),
    "no content type": ("", b"\x00\xff"),
}


class Probe:
    """A logged-in browser that sends everything everywhere and notes every 5xx."""

    def __init__(self, browser):
        self.browser = browser
        browser.login()
        self.csrf = browser.csrf_token()
        self.failures: list[str] = []

    def paths(self) -> list[str]:
        return [
            rule.rule.replace("<path:filename>", "style.css")
            for rule in self.browser.app.url_map.iter_rules()
        ]

    def send(self, method: str, url: str, client=None, **kwargs):
        response = (client or self.browser.client).open(BASE + url, method=method, **kwargs)
        body = response.get_data(as_text=True)
        response.close()
        if response.status_code >= 500 or "Traceback" in body:
            self.failures.append(f"{method} {url[:120]} {kwargs!r:.200} -> {response.status_code}")
        return response

    def everywhere(self, query: str = "", methods=METHODS, **kwargs) -> None:
        for path in self.paths():
            for method in methods:
                self.send(method, path + ("?" + query if query else ""), **kwargs)

    def form(self, value: str, csrf: bool) -> bytes:
        fields = [f"{name}={value}" for name in PARAMETERS]
        fields += [f"csrf_token={self.csrf}"] * csrf
        return "&".join(fields).encode("latin-1")

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} 5xx answers:\n" + "\n".join(
            self.failures[:20]
        )


@pytest.fixture
def probe(browser) -> Probe:
    return Probe(browser)


@pytest.mark.parametrize("value", ENCODED.values(), ids=ENCODED)
def test_bad_query_parameters(probe, value):
    probe.everywhere("&".join(f"{name}={value}" for name in PARAMETERS))
    probe.everywhere(f"prompt=login&prompt={value}&state=x&state={value}")  # duplicated
    assert "state=" in probe.browser.start_login()  # still works afterwards
    probe.check()


@pytest.mark.parametrize("value", ENCODED.values(), ids=ENCODED)
def test_a_callback_with_a_real_state_and_bad_parameters(probe, value):
    for name in ("code", "iss", "error", "error_description"):
        state = query(probe.browser.start_login())["state"]
        probe.send("GET", f"/callback?state={state}&code=c&{name}={value}")
    probe.check()


@pytest.mark.parametrize("csrf", [True, False], ids=["with CSRF token", "without CSRF token"])
@pytest.mark.parametrize("value", ENCODED.values(), ids=ENCODED)
def test_bad_form_fields(probe, value, csrf):
    probe.everywhere(data=probe.form(value, csrf), content_type=FORM)
    probe.check()
    revoked = any(url.endswith("/oauth2/revoke") for _, url in probe.browser.fake.requests)
    assert revoked is csrf  # with the token, the views really ran


@pytest.mark.parametrize("value", RAW.values(), ids=RAW)
def test_raw_bytes_in_the_query_string_and_the_form(probe, value):
    raw_query = "&".join(f"{name}={value}" for name in PARAMETERS)
    probe.everywhere(environ_overrides={"QUERY_STRING": raw_query})
    probe.everywhere(methods=["POST"], data=probe.form(value, True), content_type=FORM)
    probe.check()


@pytest.mark.parametrize("value", RAW.values(), ids=RAW)
def test_bad_cookies_and_headers(probe, value):
    jarless = probe.browser.app.test_client(use_cookies=False)
    cookie = (
        f"{value}; demo_client_session_4446={value}; session={value}; demo_client_session_4446=x"
    )
    probe.everywhere(client=jarless, environ_base={"HTTP_COOKIE": cookie})
    headers = {"HTTP_" + name.upper().replace("-", "_"): value or "x" for name in HEADERS}
    probe.everywhere(environ_overrides=headers)
    probe.check()


@pytest.mark.parametrize("host", ["a..b", "a" * 64, ".", "x:99999999", "[::1", "é.example"])
def test_hosts_no_url_can_be_built_for(probe, host):
    probe.everywhere(environ_overrides={"HTTP_HOST": host})
    probe.check()


@pytest.mark.parametrize(("content_type", "body"), BODIES.values(), ids=BODIES)
def test_wrong_content_types_and_bodies(probe, content_type, body):
    probe.everywhere(data=body, content_type=content_type)
    probe.check()


def test_odd_methods_with_bad_input_are_405_or_the_normal_answer(probe):
    body = probe.form("%ED%A0%80%00", True)
    for path in probe.paths():
        for method in ODD_METHODS:
            response = probe.send(method, f"{path}?state=%00%FF", data=body, content_type=FORM)
            if method in NOT_ALLOWED:
                assert response.status_code == 405, (method, path)
    probe.check()


ODD = "\ud800 \udfff"  # lone surrogates: JSON can spell them, UTF-8 cannot
ANSWERS = {
    "token response": ("token", {"odd": ODD, "scope": ODD}),
    "ID token claims": ("id_token", {"name": ODD, ODD: ODD}),
    "userinfo": ("userinfo", {"name": ODD, "address": {"street": [ODD]}}),
    "introspection": ("introspection", {"ext": {ODD: ODD}}),
    "discovery": ("metadata", {"code_challenge_methods_supported": ["S256", ODD]}),
}


@pytest.mark.parametrize(("answer", "members"), ANSWERS.values(), ids=ANSWERS)
def test_lone_surrogates_in_the_servers_json_are_shown_not_a_500(make_browser, answer, members):
    browser = make_browser()
    if answer == "id_token":
        browser.fake.id_token_overrides = members
    else:
        browser.fake.extra[answer] = members

    home = browser.login()  # asserts the callback's 303

    assert home.status_code == 200
    assert "\ufffd" in home.text + browser.get("/inspector").text  # discovery: the inspector's
    for path in ("/inspector", "/"):
        assert browser.get(path).status_code == 200
    assert browser.press("/refresh").status_code == 303
    assert browser.get("/").status_code == 200


def test_a_callback_naming_another_issuer_is_a_400_not_a_502(browser):
    location = browser.start_login()
    callback = browser.fake.authorize(location, iss="http://mix-up.example/")

    page = browser.callback(callback)

    assert page.status_code == 400
    assert "issuer_mismatch" in page.text and ISSUER in page.text
    assert browser.fake.token_requests() == []
