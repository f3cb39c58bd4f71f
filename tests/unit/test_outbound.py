"""``authserver.outbound``: the fetcher of the documents clients name (``jwks_uri``,
``sector_identifier_uri``), against a throwaway web server on 127.0.0.1 and a table of
addresses it must refuse before connecting."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from authserver.outbound import FetchError, FetchPolicy, fetch_document, fetch_json
from tests.quiet_server import QuietHTTPServer

DOCUMENT = {"keys": []}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path == "/trickle-head":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            with contextlib.suppress(ConnectionError):  # the client cuts it at its deadline
                for _ in range(1000):
                    self.wfile.write(b"X: y\r\n")
                    self.wfile.flush()
                    time.sleep(0.01)
            return
        if self.path == "/trickle":
            # A body that never ends within the deadline, one byte at a time.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the client cuts it at its deadline
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.01)
            return
        if self.path == "/short":
            # Closes after 2 of the 1000 bytes it announced: a body cut short.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"[]")
            return
        if self.path == "/with-headers":
            body = json.dumps(DOCUMENT).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Cache-Control", "max-age=600")
            self.send_header("Cache-Control", "public")
            self.send_header("Age", "7")
            self.send_header("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        bodies = {
            "/": json.dumps(DOCUMENT).encode(),
            "/big": b"[" + b" " * 100_000 + b"]",
            "/big-no-length": b"[" + b" " * 100_000 + b"]",
            "/html": b"<html></html>",
        }
        body = bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        if self.path != "/big-no-length":
            self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_loopback_document_is_fetched(site):
    assert fetch_json(site + "/") == DOCUMENT
    port = site.rsplit(":", 1)[1]
    assert fetch_json(f"http://localhost:{port}/") == DOCUMENT


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/big", FetchPolicy()),
        ("/big-no-length", FetchPolicy()),
        ("/html", FetchPolicy()),
        ("/missing", FetchPolicy()),
        ("/redirect", FetchPolicy()),  # never followed
        ("/slow", FetchPolicy(timeout=0.5)),
        ("/trickle", FetchPolicy(timeout=0.5)),  # one deadline for the whole exchange
        ("/trickle-head", FetchPolicy(timeout=0.5)),
    ],
)
def test_bad_answers_are_refused_within_the_deadline(site, path, policy):
    started = time.monotonic()
    with pytest.raises(FetchError):
        fetch_json(site + path, policy)
    assert time.monotonic() - started < policy.timeout + 1.5


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/jwks",  # plain http beyond loopback
        "https://10.1.2.3/jwks",  # private
        "https://192.168.1.1/jwks",
        "https://172.16.0.1/jwks",
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://[fe80::1]/jwks",
        "https://[fc00::1]/jwks",
        "https://[::ffff:10.0.0.1]/jwks",  # IPv4-mapped private
        "https://0.0.0.0/jwks",
        "https://224.0.0.1/jwks",
        "ftp://example.com/jwks",
        "https://user@127.0.0.1/jwks",
        "https://127.0.0.1/jwks#frag",
        "https://127.0.0.1:notaport/jwks",
        "https://no-such-host.invalid/jwks",
    ],
)
def test_addresses_that_are_never_fetched(url, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("connected to an address that is refused")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(FetchError):
        fetch_json(url, FetchPolicy(timeout=2))


def test_dev_allows_private_addresses_but_not_metadata_or_plain_http(monkeypatch):
    tried = []

    def record(address, timeout=None):
        tried.append(address)
        raise OSError("not really connecting")

    monkeypatch.setattr(socket, "create_connection", record)
    with pytest.raises(FetchError):
        fetch_json("https://10.1.2.3/jwks", FetchPolicy(dev=True, timeout=1))
    assert tried == [("10.1.2.3", 443)]
    for url in ("https://169.254.169.254/", "http://10.1.2.3/jwks"):
        with pytest.raises(FetchError):
            fetch_json(url, FetchPolicy(dev=True, timeout=1))
    assert len(tried) == 1


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """Resolved once: a name that resolves to loopback when checked is connected to by that
    address, not looked up again (DNS rebinding)."""
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def once_loopback(host, port, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)

    connected = []

    def record(address, timeout=None):
        connected.append(address)
        raise OSError("stop here")

    monkeypatch.setattr(socket, "getaddrinfo", once_loopback)
    monkeypatch.setattr(socket, "create_connection", record)
    with pytest.raises(FetchError):
        fetch_json("http://rebind.localhost:8080/jwks", FetchPolicy(timeout=1))
    assert lookups == ["rebind.localhost"]
    assert connected == [("127.0.0.1", 8080)]


def test_fetch_document_keeps_the_status_and_the_headers(site):
    answer = fetch_document(site + "/with-headers")
    assert answer.status == 200
    assert json.loads(answer.body) == DOCUMENT
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.headers["cache-control"] == "max-age=600, public"  # repeated: joined
    assert answer.headers["age"] == "7"
    assert answer.headers["expires"] == "Thu, 01 Jan 2099 00:00:00 GMT"
    assert "date" in answer.headers
    assert all(name == name.lower() for name in answer.headers)


def test_fetch_document_leaves_other_statuses_to_the_caller(site):
    answer = fetch_document(site + "/missing")
    assert (answer.status, answer.body) == (404, b"")
    assert "content-length" in answer.headers


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/redirect", FetchPolicy()),  # still never followed
        ("/big", FetchPolicy()),
        ("/big-no-length", FetchPolicy()),
        ("/slow", FetchPolicy(timeout=0.5)),
        ("/trickle", FetchPolicy(timeout=0.5)),  # cut at the deadline: not a short body
        ("/short", FetchPolicy()),
    ],
)
def test_fetch_document_refuses_what_fetch_refuses(site, path, policy):
    started = time.monotonic()
    with pytest.raises(FetchError):
        fetch_document(site + path, policy)
    assert time.monotonic() - started < policy.timeout + 1.5


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/doc",
        "https://127.0.0.2/doc",
        "https://[::1]/doc",
        "https://[::ffff:127.0.0.1]/doc",  # IPv4-mapped loopback
        "http://localhost:8080/doc",
    ],
)
def test_loopback_can_be_refused(url, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("connected to an address that is refused")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    for fetcher in (fetch_document, fetch_json):
        with pytest.raises(FetchError):
            fetcher(url, FetchPolicy(loopback=False, timeout=1))
        with pytest.raises(FetchError):
            fetcher(url, FetchPolicy(dev=True, loopback=False, timeout=1))


def test_loopback_is_allowed_by_default(site):
    assert FetchPolicy().loopback is True
    assert fetch_document(site + "/").status == 200


def test_a_body_cut_short_is_refused(site):
    """``[]`` is valid JSON, but not the 1000 bytes the server announced."""
    with pytest.raises(FetchError, match="announced length"):
        fetch_json(site + "/short")
