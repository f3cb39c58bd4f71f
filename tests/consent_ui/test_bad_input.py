"""No input gets a 5xx: every route of the app (read from its url_map, so a new route is
covered without touching this file), GET and POST with malformed values in the query, the
form (with and without its CSRF token, each button), cookies, headers and the body, and
the odd methods; lone surrogates in the admin API's JSON too. The answer must be a 4xx or
the normal page, never a 500."""

from __future__ import annotations

import json
import re

import pytest

from consent_ui import create_app
from consent_ui.admin_api import AdminApi
from tests.consent_ui.conftest import base_config
from tests.consent_ui.html_forms import forms

METHODS = ("GET", "POST")  # what the routes serve; the odd ones have their own test
ODD_METHODS = ("HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND")
NOT_ALLOWED = {"PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"}
FORM = "application/x-www-form-urlencoded"
CHALLENGES = {
    "login_challenge": "login-1",
    "consent_challenge": "consent-1",
    "logout_challenge": "logout-1",
    "device_challenge": "device-1",
}
VALID_QUERY = "&".join(f"{name}={value}" for name, value in CHALLENGES.items())

# Malformed values as they travel in a URL or a form body (percent-encoded) ...
ENCODED = {
    "NUL": "%00",
    "lone surrogate": "%ED%A0%80",
    "invalid UTF-8": "%FF%FE",
    "CR LF": "%0D%0ASet-Cookie:%20x=1",
    "over-long": "a" * 8_000,
    "empty": "",
}
# ... and as raw header bytes (WSGI hands them over as latin-1 text).
RAW = {
    "NUL": "\x00",
    "lone surrogate": "\xed\xa0\x80",
    "invalid UTF-8": "\xff\xfe",
    "over-long": "a" * 8_000,
    "empty": "",
}
HEADERS = ("X-Forwarded-For", "X-Forwarded-Proto", "Accept-Language", "User-Agent", "Referer")
COOKIES = ("consent_ui_session", "consent_ui_remember", "consent_ui_device")

# What the buttons do once past the CSRF check ("Log in" fails: the email is bad).
REACHED_WITH_A_TOKEN = {
    "reject_login",
    "accept_consent",
    "reject_consent",
    "accept_logout",
    "reject_logout",
}

# Bodies that are not what a form sends.
BODIES = {
    "JSON with a lone surrogate": ("application/json", b'{"email": "\\ud800", "x": [1'),
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\n"),
    "broken multipart": ("multipart/form-data; boundary=x", b"--x\r\nContent-Dispo\x00"),
    "text": ("text/plain", b"email=foo@bar.com"),
    "unknown charset": ("application/x-www-form-urlencoded; charset=klingon", b"email=%FF"),
    "form, over 64 KiB": ("application/x-www-form-urlencoded", b"email=" + b"a" * 70_000),
    "no content type": ("", b"\x00\xff"),
}


class Probe:
    """The app with a fake admin API whose four requests are always open, and what its
    pages offer: each form's fields and buttons, its challenge, a valid CSRF token."""

    def __init__(self, admin):
        self.admin = admin
        self.app = create_app(
            base_config(
                # High limits: the point is to reach the password check with bad input.
                THROTTLE_MAX_FAILURES=10**6,
                THROTTLE_ADDRESS_MAX_FAILURES=10**6,
                TRUSTED_PROXIES="127.0.0.0/8",  # the test client's address: parse the headers
            ),
            admin_api=admin,
        )
        self.client = self.app.test_client()
        self.failures: list[str] = []
        self.forms = {path: self.page_form(path) for path in self.paths()}
        inputs = [item for form in self.forms.values() if form for item in form.inputs]
        self.fields = sorted({item.name for item in inputs if item.type != "submit"})
        self.buttons = sorted({item.name for item in inputs if item.type == "submit"})
        self.csrf = next(item.value for item in inputs if item.name == "csrf_token")

    def paths(self) -> list[str]:
        """One URL per rule; a converter gets a plausible value."""
        return [
            re.sub(r"<[^>]+>", lambda m: "style.css" if "filename" in m[0] else "x", rule.rule)
            for rule in self.app.url_map.iter_rules()
        ]

    def page_form(self, path: str):
        response = self.send("GET", f"{path}?{VALID_QUERY}")
        if response.mimetype != "text/html":  # the favicon, the stylesheet
            return None
        found = forms(response.get_data(as_text=True))
        return found[0] if found else None

    def reset(self) -> None:
        self.admin.requests.clear()
        self.admin.gone.clear()
        self.admin.add_login()
        self.admin.add_consent()
        self.admin.add_logout()
        self.admin.add_device()

    def send(self, method: str, url: str, client=None, **kwargs):
        self.reset()
        response = (client or self.client).open(url, method=method, **kwargs)
        body = response.get_data()  # bytes: the favicon is not text
        response.close()
        if response.status_code >= 500 or b"Traceback" in body:
            self.failures.append(f"{method} {url[:120]} {kwargs!r:.200} -> {response.status_code}")
        return response

    def everywhere(self, query: str = "", methods=METHODS, form=None, **kwargs) -> None:
        """Every route with every method; ``form(path)`` gives each route its body."""
        for path in self.paths():
            if form is not None:
                kwargs.update(data=form(path), content_type=FORM)
            for method in methods:
                self.send(method, path + ("?" + query if query else ""), **kwargs)

    def form(self, value: str, csrf: bool, button: str = ""):
        """A form body per route: every field ``value`` (latin-1: raw bytes stay raw) but
        the route's own challenge, and the CSRF token if asked."""

        def body(path: str) -> bytes:
            page = self.forms.get(path)
            has_challenge = page and any(item.name == "challenge" for item in page.inputs)
            challenge = page.named("challenge").value if has_challenge else value
            fields = [f"{name}={value}" for name in self.fields if name != "csrf_token"]
            fields.insert(0, f"challenge={challenge}")  # the first one wins
            fields += [f"csrf_token={self.csrf}"] * csrf + [f"{button}=1"] * bool(button)
            return "&".join(fields).encode("latin-1")

        return body


@pytest.fixture
def probe(admin) -> Probe:
    return Probe(admin)


def assert_no_server_error(probe: Probe) -> None:
    assert not probe.failures, f"{len(probe.failures)} 5xx answers:\n" + "\n".join(
        probe.failures[:20]
    )


@pytest.mark.parametrize("value", ENCODED.values(), ids=ENCODED)
def test_bad_query_parameters(probe, value):
    names = [*CHALLENGES, *probe.fields, "unknown"]
    probe.everywhere("&".join(f"{name}={value}" for name in names))
    # The right challenge, then the same parameter again with the bad value.
    duplicated = "&".join(f"{name}={value}" for name in CHALLENGES)
    probe.everywhere(f"{VALID_QUERY}&{duplicated}&x={value}")
    assert_no_server_error(probe)


@pytest.mark.parametrize("csrf", [True, False], ids=["with CSRF token", "without CSRF token"])
@pytest.mark.parametrize("value", ENCODED.values(), ids=ENCODED)
def test_bad_form_fields_with_every_button(probe, value, csrf):
    probe.everywhere(VALID_QUERY, form=probe.form(value, csrf))
    for button in probe.buttons:  # only a POST reads them
        probe.everywhere(VALID_QUERY, ["POST"], form=probe.form(value, csrf, button))
    assert_no_server_error(probe)
    answered = {call.method for call in probe.admin.answers()}
    # The logout form's "forget" box is ticked by any non-empty value.
    forgotten = {"revoke_login_sessions"} if value else set()
    assert answered == (REACHED_WITH_A_TOKEN | forgotten if csrf else set())  # the views ran


@pytest.mark.parametrize("value", RAW.values(), ids=RAW)
def test_raw_bytes_in_the_query_string_and_the_form(probe, value):
    query = f"{VALID_QUERY}&x={value}&{'&'.join(f'{name}={value}' for name in CHALLENGES)}"
    probe.everywhere(environ_overrides={"QUERY_STRING": query})
    for button in probe.buttons:
        probe.everywhere(VALID_QUERY, ["POST"], form=probe.form(value, True, button))
    assert_no_server_error(probe)


@pytest.mark.parametrize("value", RAW.values(), ids=RAW)
def test_bad_cookies(probe, value):
    jarless = probe.app.test_client(use_cookies=False)  # send exactly this Cookie header
    cookies = "; ".join(f"{name}={value}" for name in COOKIES)
    garbage = f"{value}; {cookies}; {cookies}"  # nameless, then each cookie twice
    probe.everywhere(VALID_QUERY, client=jarless, environ_base={"HTTP_COOKIE": garbage})
    assert_no_server_error(probe)


@pytest.mark.parametrize("value", RAW.values(), ids=RAW)
def test_bad_headers(probe, value):
    headers = {"HTTP_" + header.upper().replace("-", "_"): value for header in HEADERS}
    probe.everywhere(VALID_QUERY, environ_overrides={**headers, "HTTP_HOST": value or "x"})
    probe.everywhere(VALID_QUERY, environ_base={"REMOTE_ADDR": value})
    assert_no_server_error(probe)


@pytest.mark.parametrize("host", ["a..b", "a" * 64, ".", "x:99999999", "[::1", "é.example"])
def test_hosts_no_url_can_be_built_for(probe, host):
    probe.everywhere(VALID_QUERY, environ_overrides={"HTTP_HOST": host})
    assert_no_server_error(probe)


@pytest.mark.parametrize(("content_type", "body"), BODIES.values(), ids=BODIES)
def test_wrong_content_types_and_bodies(probe, content_type, body):
    probe.everywhere(VALID_QUERY, data=body, content_type=content_type)
    assert_no_server_error(probe)


def test_odd_methods_with_bad_input_are_405_or_the_normal_answer(probe):
    body, query = probe.form("%ED%A0%80%00", True), f"{VALID_QUERY}&x=%00%FF%0D%0A"
    for path in probe.paths():
        for method in ODD_METHODS:
            response = probe.send(method, f"{path}?{query}", data=body(path), content_type=FORM)
            if method in NOT_ALLOWED:
                assert response.status_code == 405, (method, path)
    assert_no_server_error(probe)


class JsonSession:
    """A requests.Session stand-in: the admin API's JSON, as text, for every call."""

    def __init__(self, text: str):
        self.text = text

    def request(self, method, url, params=None, json=None, timeout=None):
        import requests

        response = requests.Response()
        response.status_code = 200
        response._content = self.text.encode()
        response.headers["Content-Type"] = "application/json"
        return response


def test_lone_surrogates_in_the_admin_apis_json_are_shown_not_a_500():
    odd = "\\ud800 \\udfff"  # JSON escapes that decode to lone surrogates
    client = {"client_id": "app", "client_name": odd, "client_uri": f"https://a.example/{odd}"}
    answer = {
        "challenge": odd,
        "subject": "foo@bar.com",
        "client": client,
        "requested_scope": ["openid", odd],
        "oidc_context": {"login_hint": odd},
    }
    text = json.dumps(answer).replace("\\\\u", "\\u")
    api = AdminApi("http://admin.invalid", session=JsonSession(text))
    app = create_app(base_config(), admin_api=api)

    for url in ("/login?login_challenge=c", "/consent?consent_challenge=c"):
        response = app.test_client().get(url)
        assert response.status_code == 200, url
        assert "\ufffd" in response.get_data(as_text=True)
