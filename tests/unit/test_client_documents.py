"""``authserver.oauth2.client_documents``: client ID metadata documents served by a real web
server on 127.0.0.1 (``dev=True``: loopback http), fetched for real, then tables of URLs and
of documents that must be refused, and the cache's reading of HTTP caching headers."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate

import pytest
from joserfc.jwk import ECKey

from authserver.oauth2.client_documents import (
    ClientDocument,
    ClientDocumentError,
    ClientDocuments,
    cache_lifetime,
    check_document_url,
    is_document_client_id,
    parse_document,
)
from authserver.outbound import FetchedDocument, FetchError, FetchPolicy
from tests.quiet_server import QuietHTTPServer

# RFC 6749 section 5.2: what an error_description may hold.
_SAFE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
JSON = {"Content-Type": "application/json"}


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    wait: float = 0.0  # seconds to hold the answer back (cut short at teardown)


class Site:
    """A web server on 127.0.0.1 answering from ``routes`` and counting requests per path."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        self.server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = False  # server_close joins every handler thread
        self.server.site = self
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,))

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, document: object = None, **route) -> str:
        """Serve ``document`` (default: a valid one naming this URL) at ``path``."""
        url = self.url(path)
        if document is None:
            document = valid_document(url)
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = Route(body=body, **route)
        return url


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        site = self.server.site
        site.hits[self.path] += 1
        route = site.routes.get(self.path, Route(status=404, headers={}))
        if route.wait and site.release.wait(route.wait):
            return  # teardown: give up at once
        try:
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
        except OSError:
            pass  # the client gave up first (size limit, deadline)

    def log_message(self, *args):
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    site.thread.start()
    yield site
    site.release.set()
    site.server.shutdown()
    site.server.server_close()
    site.thread.join()


class Now:
    def __init__(self, at: int = 1_800_000_000):
        self.at = at

    def __call__(self) -> int:
        return self.at


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def documents(now) -> ClientDocuments:
    return ClientDocuments(policy_for_dev=True, clock=now, timeout=1.0)


def valid_document(url: str, **changed) -> dict:
    document = {
        "client_id": url,
        "client_name": "Example MCP client",
        "redirect_uris": ["http://127.0.0.1:33418/callback", "https://app.example/cb"],
    }
    document.update(changed)
    return {name: value for name, value in document.items() if value is not ...}


def assert_safe(error: ClientDocumentError) -> None:
    assert error.description, "a refusal says what is wrong"
    assert _SAFE.fullmatch(error.description), error.description
    assert str(error) == error.description


# -- documents that load -------------------------------------------------------------------


def test_a_public_client_document_loads(site, documents, now):
    url = site.serve("/client.json")
    loaded = documents.load(url)
    assert loaded == ClientDocument(
        url=url,
        metadata={
            "client_id": url,
            "token_endpoint_auth_method": "none",
            "redirect_uris": ("http://127.0.0.1:33418/callback", "https://app.example/cb"),
            "post_logout_redirect_uris": (),
            "grant_types": ("authorization_code",),
            "response_types": ("code",),
            "scope": "",
            "client_name": "Example MCP client",
            "client_uri": "",
            "logo_uri": "",
            "tos_uri": "",
            "policy_uri": "",
            "contacts": (),
        },
        fetched_at=now.at,
        expires_at=now.at + 300,  # no caching headers: the default
    )


def test_a_private_key_jwt_document_with_a_jwks_uri_loads(site, documents):
    url = site.serve(
        "/confidential.json",
        valid_document(
            site.url("/confidential.json"),
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri="https://app.example/jwks.json",
            grant_types=["authorization_code", "refresh_token"],
            scope="openid  offline_access",
            logo_uri="https://app.example/logo.png",
            contacts=["ops@app.example"],
            software_id="ignored: unknown fields are",
        ),
        headers={"Content-Type": "Application/JSON; charset=UTF-8"},  # lenient on params
    )
    metadata = documents.load(url).metadata
    assert metadata["token_endpoint_auth_method"] == "private_key_jwt"
    assert metadata["jwks_uri"] == "https://app.example/jwks.json"
    assert "jwks" not in metadata
    assert metadata["grant_types"] == ("authorization_code", "refresh_token")
    assert metadata["scope"] == "openid offline_access"
    assert metadata["logo_uri"] == "https://app.example/logo.png"
    assert metadata["contacts"] == ("ops@app.example",)
    assert "software_id" not in metadata


def test_a_private_key_jwt_document_with_inline_keys_loads(site, documents):
    jwks = {"keys": [ECKey.generate_key("P-256", parameters={"kid": "k1"}).as_dict(private=False)]}
    url = site.url("/inline.json")
    site.serve(
        "/inline.json",
        valid_document(url, token_endpoint_auth_method="private_key_jwt", jwks=jwks),
        headers={"Content-Type": "application/client-metadata+json"},
    )
    assert documents.load(url).metadata["jwks"] == jwks


# -- answers that are refused --------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BAD_ANSWERS = {
    "another client_id": lambda url: Route(
        body=json.dumps(valid_document("https://elsewhere.example/client.json")).encode()
    ),
    "a trailing slash more": lambda url: Route(body=json.dumps(valid_document(url + "/")).encode()),
    "no client_id": lambda url: Route(body=json.dumps(valid_document(url, client_id=...)).encode()),
    "not JSON": lambda url: Route(body=b"client_id: " + url.encode()),
    "not UTF-8": lambda url: Route(body=json.dumps(valid_document(url)).encode("utf-16")),
    "served as HTML": lambda url: Route(
        body=json.dumps(valid_document(url)).encode(), headers={"Content-Type": "text/html"}
    ),
    "no content type": lambda url: Route(body=json.dumps(valid_document(url)).encode(), headers={}),
    "a JSON array": lambda url: Route(body=json.dumps([valid_document(url)]).encode()),
    "70 KiB": lambda url: Route(
        body=json.dumps(valid_document(url, client_name="x" * 70 * 1024)).encode()
    ),
    "10,000 nested arrays": lambda url: Route(body=_nested(10_000)),
    "10,000 nested arrays in a field": lambda url: Route(
        body=json.dumps(valid_document(url))[:-1].encode() + b', "x": ' + _nested(10_000) + b"}"
    ),
    "50 nested arrays in a field": lambda url: Route(
        body=json.dumps(valid_document(url))[:-1].encode() + b', "x": ' + _nested(50) + b"}"
    ),
    "302": lambda url: Route(status=302, headers={"Location": "http://169.254.169.254/"}),
    "404": lambda url: Route(status=404),
    "500": lambda url: Route(status=500),
    "204": lambda url: Route(status=204),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_bad_answers_are_refused(site, documents, case):
    url = site.url("/client.json")
    site.routes["/client.json"] = BAD_ANSWERS[case](url)
    with pytest.raises(ClientDocumentError) as caught:
        documents.load(url)
    assert_safe(caught.value)
    assert "127.0.0.1" not in caught.value.description.replace(url, "")


def test_a_slow_server_is_cut_off_at_the_timeout(site, documents):
    url = site.serve("/slow.json", wait=5.0)
    started = time.monotonic()
    with pytest.raises(ClientDocumentError) as caught:
        documents.load(url)  # the fixture's timeout: 1 s
    assert time.monotonic() - started < 2.5
    assert_safe(caught.value)


def test_an_internal_address_is_not_fetched_nor_named(monkeypatch, now):
    def private(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    def no_connection(*args, **kwargs):
        raise AssertionError("connected to an address that is refused")

    monkeypatch.setattr(socket, "getaddrinfo", private)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    documents = ClientDocuments(policy_for_dev=False, clock=now)
    with pytest.raises(ClientDocumentError) as caught:
        documents.load("https://client.example/client.json")
    assert "10.20.30.40" not in caught.value.description
    assert_safe(caught.value)


@pytest.mark.parametrize("url", ["https://127.0.0.1/client.json", "https://[::1]/client.json"])
def test_loopback_is_fetched_from_only_in_dev(monkeypatch, now, url):
    def no_connection(*args, **kwargs):
        raise AssertionError("connected to loopback outside dev")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(ClientDocumentError):
        ClientDocuments(policy_for_dev=False, clock=now).load(url)


def test_the_fetch_policy_follows_the_constructor(now):
    seen = []

    def fetch(url, policy):
        seen.append(policy)
        raise FetchError("stop here")

    for dev in (False, True):
        with pytest.raises(ClientDocumentError):
            ClientDocuments(dev, fetch=fetch, clock=now, timeout=2.5, max_bytes=1000).load(
                "https://client.example/c.json"
            )
    assert seen == [
        FetchPolicy(dev=False, loopback=False, timeout=2.5, max_bytes=1000),
        FetchPolicy(dev=True, loopback=True, timeout=2.5, max_bytes=1000),
    ]


# -- caching -------------------------------------------------------------------------------


def test_max_age_is_honoured(site, documents, now):
    url = site.serve("/c.json", headers={**JSON, "Cache-Control": "public, max-age=600"})
    first = documents.load(url)
    now.at += 599
    assert documents.load(url) is first
    assert site.hits["/c.json"] == 1
    now.at += 1
    assert documents.load(url).fetched_at == now.at
    assert site.hits["/c.json"] == 2


def test_no_store_is_fetched_every_time(site, documents):
    url = site.serve("/c.json", headers={**JSON, "Cache-Control": "no-store"})
    for _ in range(3):
        loaded = documents.load(url)
    assert loaded.expires_at == loaded.fetched_at
    assert site.hits["/c.json"] == 3


def test_expires_is_honoured(site, documents):
    expires = formatdate(time.time() + 1200, usegmt=True)
    url = site.serve("/c.json", headers={**JSON, "Expires": expires})
    loaded = documents.load(url)
    assert 1198 <= loaded.expires_at - loaded.fetched_at <= 1201
    documents.load(url)
    assert site.hits["/c.json"] == 1


def test_malformed_cache_control_means_the_default(site, documents):
    url = site.serve("/c.json", headers={**JSON, "Cache-Control": "max-age=soon"})
    loaded = documents.load(url)
    assert loaded.expires_at - loaded.fetched_at == 300


def test_a_failure_is_remembered_for_ten_seconds(site, documents, now):
    url = site.serve("/c.json", status=500)
    for _ in range(3):
        with pytest.raises(ClientDocumentError):
            documents.load(url)
    assert site.hits["/c.json"] == 1
    site.serve("/c.json")  # repaired
    now.at += 9
    with pytest.raises(ClientDocumentError):
        documents.load(url)
    now.at += 1
    assert documents.load(url).url == url
    assert site.hits["/c.json"] == 2


def test_a_failed_refetch_replaces_the_stale_document(site, documents, now):
    url = site.serve("/c.json", headers={**JSON, "Cache-Control": "max-age=60"})
    documents.load(url)
    site.routes["/c.json"] = Route(status=404)
    now.at += 60
    with pytest.raises(ClientDocumentError):
        documents.load(url)


def test_forget_makes_the_next_load_fetch(site, documents):
    url = site.serve("/c.json")
    documents.load(url)
    documents.forget(url)
    documents.forget(url)  # twice: nothing to forget is fine
    documents.load(url)
    assert site.hits["/c.json"] == 2


def test_the_cache_is_bounded(site, now):
    documents = ClientDocuments(policy_for_dev=True, clock=now, max_entries=2)
    urls = [site.serve(f"/c{n}.json") for n in range(3)]
    for url in urls:
        documents.load(url)
    documents.load(urls[2])
    documents.load(urls[0])  # the least recently used: gone
    assert [site.hits[f"/c{n}.json"] for n in range(3)] == [2, 1, 1]


def test_concurrent_loads_of_a_cold_url_fetch_once(site, documents):
    url = site.serve("/c.json", wait=0.3)
    results, errors = [], []

    def load():
        try:
            results.append(documents.load(url))
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 6 and all(result is results[0] for result in results)
    assert site.hits["/c.json"] == 1


def test_a_non_200_from_an_injected_fetch_is_refused(now):
    def fetch(url, policy):
        return FetchedDocument(b"{}", 203, dict(JSON))

    with pytest.raises(ClientDocumentError):
        ClientDocuments(False, fetch=fetch, clock=now).load("https://client.example/c.json")


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({}, 300),
        ({"cache-control": "max-age=600"}, 600),
        ({"cache-control": 'max-age="600"'}, 600),
        ({"cache-control": "max-age=600", "age": "100"}, 500),
        ({"cache-control": "max-age=600", "age": "1000"}, 60),  # clamped up
        ({"cache-control": "max-age=0"}, 60),
        ({"cache-control": "max-age=99999999999999999999"}, 86400),  # clamped down
        ({"cache-control": "s-maxage=600"}, 300),  # for shared caches: ignored
        ({"cache-control": "s-maxage=10, max-age=900"}, 900),
        ({"cache-control": "no-store"}, 0),
        ({"cache-control": "No-Cache, max-age=600"}, 0),
        ({"cache-control": "private, must-revalidate"}, 300),
        ({"cache-control": "max-age=-5"}, 300),
        ({"cache-control": "max-age=1e3"}, 300),
        ({"cache-control": "max age=600"}, 300),
        ({"cache-control": "max-age=600", "age": "old"}, 300),
        ({"cache-control": "max-age=\u0661\u0662\u0660"}, 300),  # Arabic-Indic digits
        (
            {"expires": "Thu, 01 Jan 2026 01:00:00 GMT", "date": "Thu, 01 Jan 2026 00:00:00 GMT"},
            3600,
        ),
        ({"expires": formatdate(1_800_000_000 + 7200, usegmt=True)}, 7200),  # minus now
        ({"expires": "0"}, 300),
        ({"expires": "Thu, 01 Jan 2026 01:00:00 GMT", "date": "yesterday"}, 300),
        (
            {"expires": "Thu, 01 Jan 2026 00:00:00 GMT", "date": "Thu, 01 Jan 2026 01:00:00 GMT"},
            60,
        ),
        (
            {"cache-control": "max-age=120", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"},
            120,  # max-age wins over Expires
        ),
    ],
)
def test_cache_lifetime(headers, lifetime):
    assert cache_lifetime(headers, now=1_800_000_000) == lifetime


@pytest.mark.parametrize(
    "headers", [{"cache-control": None}, {"expires": None}, {"age": 5}, {"date": b"x"}, None]
)
def test_cache_lifetime_never_raises(headers):
    assert cache_lifetime(headers, now=0, default=123) in (123, 60, 86400)


# -- URL checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "dev"),
    [
        ("http://client.example/client.json", True),  # plain http beyond loopback
        ("http://127.0.0.1:8080/client.json", False),  # loopback http outside dev
        ("http://localhost/client.json", False),
        ("HTTPS://client.example/client.json", False),  # the id is compared as a string
        ("ftp://client.example/client.json", True),
        ("client.example/client.json", True),
        ("https://client.example/client.json#me", False),
        ("https://client.example/client.json#", False),
        ("https://user@client.example/client.json", False),
        ("https://user:pw@client.example/client.json", False),
        ("https://client.example", False),
        ("https://client.example/", False),
        ("https://client.example/./client.json", False),
        ("https://client.example/a/../client.json", False),
        ("https://client.example/a/%2e%2E/client.json", False),
        ("https://client.example/a/..", False),
        ("https://client.example/" + "a" * 240, False),  # 263 characters
        ("https://client.example/cl\u00efent.json", False),
        ("https://client.example/client\x00.json", False),
        ("https://client.example/client .json", False),
        ("https://client.example/client\n.json", False),
        ('https://client.example/"client".json', False),
        ("https://client.example\\@evil.example/client.json", False),
        # The draft: SHOULD NOT contain a query; refused here so each client has one spelling.
        ("https://client.example/client.json?v=1", False),
        ("https://client.example/client.json?", False),
        ("https://client.example:port/client.json", False),
        ("https://[::1/client.json", False),
        ("https:///client.json", False),
        ("", False),
    ],
)
def test_urls_that_cannot_name_a_client(url, dev, now):
    with pytest.raises(ClientDocumentError) as caught:
        check_document_url(url, dev)
    assert_safe(caught.value)

    def no_fetch(url, policy):
        raise AssertionError("fetched a URL that was refused")

    with pytest.raises(ClientDocumentError):
        ClientDocuments(dev, fetch=no_fetch, clock=now).load(url)


@pytest.mark.parametrize(
    ("url", "dev"),
    [
        ("https://client.example/client.json", False),
        ("https://client.example/a/", False),
        ("https://client.example:8443/clients/mcp", False),
        ("https://c.example/x", False),
        ("https://client.example/a/..b/.c", False),  # dots inside a segment are fine
        ("https://client.example/" + "a" * 232, False),  # 255 characters
        ("http://127.0.0.1:8080/client.json", True),
        ("http://localhost:8080/client.json", True),
        ("http://[::1]:8080/client.json", True),
    ],
)
def test_urls_that_can_name_a_client(url, dev):
    assert len(url) <= 255
    check_document_url(url, dev)


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [
        ("https://client.example/c.json", True),
        ("http://127.0.0.1/c.json", True),
        ("3f0a2b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", False),
        ("my-client", False),
        ("HTTPS://client.example/c.json", False),
        ("", False),
    ],
)
def test_is_document_client_id(client_id, expected):
    assert is_document_client_id(client_id) is expected


# -- document fields -----------------------------------------------------------------------

URL = "https://client.example/client.json"


def _deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


BAD_DOCUMENTS = {
    "client_secret": {"client_secret": "s3cret-s3cret"},
    "empty client_secret": {"client_secret": ""},
    "client_secret_expires_at": {"client_secret_expires_at": 0},
    "client_secret_basic": {"token_endpoint_auth_method": "client_secret_basic"},
    "client_secret_post": {"token_endpoint_auth_method": "client_secret_post"},
    "client_secret_jwt": {"token_endpoint_auth_method": "client_secret_jwt"},
    "unknown auth method": {"token_endpoint_auth_method": "tls_client_auth"},
    "auth method not a string": {"token_endpoint_auth_method": ["none"]},
    "private_key_jwt without keys": {"token_endpoint_auth_method": "private_key_jwt"},
    "private_key_jwt with an empty jwks": {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": []},
    },
    "jwks not a key set": {"jwks": {"keys": "none"}},
    "jwks with a private key": {
        "jwks": {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]}
    },
    "jwks and jwks_uri": {
        "jwks": {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]},
        "jwks_uri": "https://client.example/jwks",
    },
    "jwks_uri over http": {"jwks_uri": "http://client.example/jwks"},
    "jwks_uri over loopback http outside dev": {"jwks_uri": "http://127.0.0.1/jwks"},
    "jwks_uri not a URL": {"jwks_uri": "jwks.json"},
    "redirect_uris missing": {"redirect_uris": ...},
    "redirect_uris null": {"redirect_uris": None},
    "redirect_uris empty": {"redirect_uris": []},
    "redirect_uris a string": {"redirect_uris": "https://app.example/cb"},
    "redirect_uris with a number": {"redirect_uris": ["https://app.example/cb", 7]},
    "redirect_uris with an empty string": {"redirect_uris": [" "]},
    "redirect_uri with a fragment": {"redirect_uris": ["https://app.example/cb#x"]},
    "redirect_uri with userinfo": {"redirect_uris": ["https://app.example@evil.example/cb"]},
    "redirect_uri with a custom scheme": {"redirect_uris": ["com.example.app:/callback"]},
    "redirect_uri javascript": {"redirect_uris": ["javascript:alert(1)"]},
    "redirect_uri http beyond loopback": {"redirect_uris": ["http://app.example/cb"]},
    "redirect_uri relative": {"redirect_uris": ["/cb"]},
    "redirect_uri non-ASCII": {"redirect_uris": ["https://app.example/c\u00e9"]},
    "101 redirect_uris": {"redirect_uris": [f"https://app.example/{n}" for n in range(101)]},
    "a 2049-character redirect_uri": {"redirect_uris": ["https://app.example/" + "a" * 2029]},
    "post_logout_redirect_uri with a fragment": {
        "post_logout_redirect_uris": ["https://app.example/bye#x"]
    },
    "grant_types client_credentials": {"grant_types": ["client_credentials"]},
    "grant_types with client_credentials": {
        "grant_types": ["authorization_code", "client_credentials"]
    },
    "grant_types implicit": {"grant_types": ["implicit"]},
    "grant_types a string": {"grant_types": "authorization_code"},
    "response_types token": {"response_types": ["token"]},
    "response_types code and token": {"response_types": ["code", "token"]},
    "response_types code id_token": {"response_types": ["code id_token"]},
    "scope not a string": {"scope": ["openid"]},
    "scope with a quote": {"scope": 'openid "x"'},
    "client_name not a string": {"client_name": {"en": "x"}},
    "client_name with a newline": {"client_name": "Example\nclient"},
    "client_name of 2049 characters": {"client_name": "x" * 2049},
    "logo_uri javascript": {"logo_uri": "javascript:alert(1)"},
    "client_uri relative": {"client_uri": "/home"},
    "tos_uri with userinfo": {"tos_uri": "https://a@b.example/tos"},
    "policy_uri not a string": {"policy_uri": 1},
    "contacts not a list": {"contacts": "ops@app.example"},
    "101 contacts": {"contacts": [f"{n}@app.example" for n in range(101)]},
    "10,000 nested arrays": {"extra": _deep_list(10_000)},
    "nesting in jwks": {"jwks": {"keys": [{"kty": "EC", "x": _deep_list(50)}]}},
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_documents_that_are_refused(case):
    with pytest.raises(ClientDocumentError) as caught:
        parse_document(URL, valid_document(URL, **BAD_DOCUMENTS[case]))
    assert_safe(caught.value)


@pytest.mark.parametrize("raw", [None, [], "client", 7, True, [valid_document(URL)]])
def test_a_document_is_an_object(raw):
    with pytest.raises(ClientDocumentError):
        parse_document(URL, raw)


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"token_endpoint_auth_method": None}, {"token_endpoint_auth_method": "none"}),
        ({"token_endpoint_auth_method": "none"}, {"token_endpoint_auth_method": "none"}),
        ({"grant_types": []}, {"grant_types": ("authorization_code",)}),
        ({"grant_types": ["refresh_token"]}, {"grant_types": ("refresh_token",)}),
        ({"response_types": ["code", "code"]}, {"response_types": ("code",)}),
        (
            {"redirect_uris": ["http://[::1]:1/cb", "http://localhost:9/cb", "http://[::1]:1/cb"]},
            {"redirect_uris": ("http://[::1]:1/cb", "http://localhost:9/cb")},
        ),
        ({"redirect_uris": ["https://app.example/cb?x=1"]}, {}),
        ({"post_logout_redirect_uris": ["https://app.example/bye"]}, {}),
        ({"client_name": "  Spaced  "}, {"client_name": "Spaced"}),
        ({"jwks": {"keys": []}}, {}),  # an empty key set: as none
        ({"scope": None, "client_uri": None, "contacts": None}, {}),
        ({"redirect_uris": [f"https://app.example/{n}" for n in range(100)]}, {}),
        ({"unknown": {"nested": [1, 2, {"x": None}]}, "software_version": "1.2"}, {}),
    ],
)
def test_documents_that_are_accepted(changed, expected):
    metadata = parse_document(URL, valid_document(URL, **changed))
    assert metadata["client_id"] == URL
    assert "jwks" not in metadata and "unknown" not in metadata
    for name, value in expected.items():
        assert metadata[name] == value


def test_jwks_uri_may_be_loopback_http_in_dev():
    document = valid_document(
        URL, token_endpoint_auth_method="private_key_jwt", jwks_uri="http://127.0.0.1:9/jwks"
    )
    assert parse_document(URL, document, dev=True)["jwks_uri"] == "http://127.0.0.1:9/jwks"


def test_descriptions_are_safe_whatever_they_are_given():
    error = ClientDocumentError('bad "value" \\ caf\u00e9\n\x00' + "x" * 1000)
    assert_safe(error)
    assert len(error.description) <= 400
