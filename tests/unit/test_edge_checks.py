"""The checks at the edge: what no request value may carry, how request values are logged,
how HTTP Basic client credentials are decoded, and when plain http is acceptable."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError

from authserver.config import load_settings
from authserver.oauth2.client_auth import decode_basic, presented_credentials
from authserver.repeats import RepeatedLog
from authserver.web.bodies import MAX_JSON_DEPTH, json_problem
from authserver.web.guard import body_problem, path_problem, urlencoded_problem
from authserver.web.logs import printable
from authserver.web.transport import TransportPolicy

# -- paths, query strings and form bodies ---------------------------------------------------


def _path(raw: bytes) -> dict:
    return {"PATH_INFO": raw.decode("latin-1")}  # as a WSGI server hands it over


@pytest.mark.parametrize(
    "raw",
    [b"/a\x00b", b"/a\r\nFORGED", b"/a\tb", b"/a\x7fb", b"/\xff", b"/\xed\xa0\x80", b"/\xc3"],
    ids=["nul", "crlf", "tab", "del", "invalid-utf8", "surrogate-utf8", "truncated-utf8"],
)
def test_paths_refused(raw):
    assert path_problem(_path(raw))


@pytest.mark.parametrize("raw", [b"/admin/clients/abc", "/é/ü".encode(), b"/a%20b"])
def test_paths_accepted(raw):
    assert path_problem(_path(raw)) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"a=%00",
        b"%00=a",
        b"a=x%00y&b=c",
        b"a=%ff",
        b"a=%ED%A0%80",
        b"a=\xff",
        b"a=b&c=%e2%82",
        b"a=\x00",
    ],
)
def test_urlencoded_refused(raw):
    assert urlencoded_problem(raw, "query string")


@pytest.mark.parametrize(
    "raw",
    [b"", b"a=b", b"a=%20&b=%C3%A9", b"a=1+2&a=3", b"state=%0D%0A", "a=é".encode(), b"&&=&"],
)
def test_urlencoded_accepted(raw):
    assert urlencoded_problem(raw, "query string") is None


def test_form_body_is_checked_and_left_readable():
    body = b"grant_type=client_credentials&client_id=a%00b"
    environ = {
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    assert body_problem(environ, 1024)
    assert environ["wsgi.input"].read() == body


def test_other_bodies_are_left_to_the_app():
    for content_type, length in (("application/json", "5"), ("text/plain", "5")):
        environ = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": length}
        assert body_problem(environ, 1024) is None  # no wsgi.input read
    too_big = {"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "2048"}
    assert body_problem(too_big, 1024) is None  # the app answers 413


# -- JSON documents -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {"subject": "a\x00b"},
        {"a\x00": 1},
        {"client_name": "\ud800"},
        {"nested": [{"deep": ["\udfff"]}]},
        json.loads("[" * (MAX_JSON_DEPTH + 2) + "]" * (MAX_JSON_DEPTH + 2)),
    ],
    ids=["nul-value", "nul-key", "lone-surrogate", "nested-surrogate", "too-deep"],
)
def test_json_refused(document):
    assert json_problem(document)


def test_json_accepted():
    assert json_problem({"a": [1, 2.5, None, True, {"b": "é ✓ 𝄞"}], "c": ""}) is None
    depth = MAX_JSON_DEPTH - 1
    assert json_problem(json.loads("[" * depth + "]" * depth)) is None


# -- logging --------------------------------------------------------------------------------


def test_printable_escapes_what_could_start_a_log_line():
    assert printable("/a\r\nFORGED 200") == "/a\\x0d\\x0aFORGED 200"
    assert printable("x\u2028y\x00z\x9b") == "x\\u2028y\\x00z\\x9b"
    assert printable("/é/ü") == "/é/ü"
    assert len(printable("a" * 10_000)) == 2048


def test_repeated_log_writes_once_per_interval_with_a_count(caplog):
    now = [0.0]
    repeated = RepeatedLog(logging.getLogger("test.repeats"), interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.repeats"):
        for _ in range(50):
            repeated.log(logging.WARNING, "db", "database unavailable")
        repeated.log(logging.WARNING, "other", "another problem")
        now[0] = 11.0
        repeated.log(logging.WARNING, "db", "database unavailable")
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == "database unavailable"
    assert messages[1] == "another problem"
    assert messages[2].startswith("database unavailable (and 49 more time(s)")
    assert len(messages) == 3


# -- HTTP Basic client credentials (RFC 6749 §2.3.1) ----------------------------------------


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_credentials_are_form_url_decoded():
    assert decode_basic(_basic(b"a%3Ab%25c:s%20e%26c")) == ("a:b%c", "s e&c")
    assert decode_basic("basic " + base64.b64encode(b"id:pass:word").decode()) == (
        "id",
        "pass:word",
    )


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + "ü:ß",  # raw UTF-8 (as latin-1 text), not base64
        "Basic !!!",
        "Basic",
        _basic(b"no-colon"),
        _basic(b":secret"),
        _basic(b"id:"),
        _basic(b"\xff\xfe:\xff"),
        _basic(b"a\x00b:secret"),
        _basic(b"a%00b:secret"),
        _basic(b"a%ED%A0%80:secret"),
        _basic(b"a\r\nb:secret"),
        "Bearer abc",
    ],
)
def test_bad_basic_credentials_are_invalid_client(header):
    with pytest.raises(InvalidClientError) as info:
        decode_basic(header)
    assert info.value.status_code == 401


def test_one_authentication_method_per_request():
    header = {"Authorization": _basic(b"id:secret")}
    with pytest.raises(InvalidRequestError):
        presented_credentials(header, {"client_secret": "secret"})
    with pytest.raises(InvalidRequestError):
        presented_credentials(header, {"client_id": "someone-else"})
    assert presented_credentials(header, {"client_id": "id"}).method == "client_secret_basic"
    body = {"client_id": "id", "client_secret": "s"}
    assert presented_credentials({}, body).method == "client_secret_post"
    assert presented_credentials({}, {"client_id": "id"}).method == "none"


# -- transport security ---------------------------------------------------------------------

SECRET = "s" * 32


def _policy(issuer: str, trusted: str = "", dev: bool = False) -> TransportPolicy:
    env = {"SECRETS_SYSTEM": SECRET, "URLS_SELF_ISSUER": issuer}
    if trusted:
        env["SERVE_TLS_ALLOW_TERMINATION_FROM"] = trusted
    return TransportPolicy(load_settings(env=env, dev=dev))


def _environ(peer: str, host: str = "localhost", proto: str | None = None, scheme="http"):
    environ = {"REMOTE_ADDR": peer, "HTTP_HOST": host, "wsgi.url_scheme": scheme}
    if proto:
        environ["HTTP_X_FORWARDED_PROTO"] = proto
    return environ


TRANSPORT = [
    # issuer, trusted proxies, dev, environ, served?
    ("https://auth.example/", "", False, _environ("127.0.0.1"), False),
    ("https://auth.example/", "", False, _environ("::1", "[::1]"), False),
    ("https://auth.example/", "", False, _environ("127.0.0.1", "127.0.0.1:1"), False),
    ("https://auth.example/", "", False, _environ("127.0.0.1", proto="https"), False),
    ("https://auth.example/", "10.0.0.0/8", False, _environ("10.1.2.3", proto="https"), True),
    ("https://auth.example/", "10.0.0.0/8", False, _environ("10.1.2.3"), False),
    ("https://auth.example/", "10.0.0.0/8", False, _environ("10.1.2.3", proto="http"), False),
    ("https://auth.example/", "10.0.0.0/8", False, _environ("11.0.0.1", proto="https"), False),
    ("https://auth.example/", "", False, _environ("203.0.113.9", scheme="https"), True),
    ("https://auth.example/", "", True, _environ("203.0.113.9"), True),
    ("http://127.0.0.1:4444/", "", False, _environ("127.0.0.1", "auth.example"), True),
    ("http://127.0.0.1:4444/", "", False, _environ("::ffff:127.0.0.1"), True),
    ("http://127.0.0.1:4444/", "", False, _environ("::1"), True),
    ("http://127.0.0.1:4444/", "", False, _environ("192.0.2.7", "localhost"), False),
    ("http://127.0.0.1:4444/", "", False, _environ("not-an-address"), False),
]


@pytest.mark.parametrize(("issuer", "trusted", "dev", "environ", "served"), TRANSPORT)
def test_transport_policy(issuer, trusted, dev, environ, served):
    assert _policy(issuer, trusted, dev).is_secure(environ) is served
