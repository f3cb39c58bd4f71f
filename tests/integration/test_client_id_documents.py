"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document) on a real
server, on SQLite and on PostgreSQL: a client whose ``client_id`` is the URL of its
metadata logs a user in with PKCE as a public client, or with ``private_key_jwt`` and the
document's ``jwks_uri``; the stored copy follows the document; and documents that are
slow, huge, not JSON, redirected or name another client_id are refused with
``invalid_client``, never a 5xx.

The documents are served by a small HTTP server on 127.0.0.1 (the authorization server
runs with ``--dev``, which is what lets it fetch from a loopback http URL)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.conftest import dedicated_server
from tests.integration.oauth_flow import FlowDriver, query
from tests.quiet_server import QuietHTTPServer

TIMEOUT = 10
REDIRECT = "http://127.0.0.1:9999/callback"
KEY = ECKey.generate_key("P-256", parameters={"kid": "tool-key"}, private=True)


class Documents:
    """What the document server answers, per path: (status, headers, body, delay)."""

    def __init__(self):
        self.answers: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self.hits: dict[str, int] = {}
        self.base = ""
        # A slow answer waits on this, set at teardown: the server thread ends at once.
        self.released = threading.Event()

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def serve_json(self, name: str, document, status=200, delay=0.0, cache="no-store") -> str:
        body = json.dumps(document).encode() if not isinstance(document, bytes) else document
        headers = {"Content-Type": "application/json", "Cache-Control": cache}
        self.answers["/" + name] = (status, headers, body, delay)
        return self.url(name)

    def client(self, name: str, **fields) -> str:
        url = self.url(name)
        return self.serve_json(
            name, {"client_id": url, "client_name": name, "redirect_uris": [REDIRECT], **fields}
        )


def _handler(documents: Documents):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            documents.hits[self.path] = documents.hits.get(self.path, 0) + 1
            status, headers, body, delay = documents.answers.get(
                self.path, (404, {}, b"not found", 0.0)
            )
            documents.released.wait(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def documents():
    documents = Documents()
    server = QuietHTTPServer(("127.0.0.1", 0), _handler(documents))
    server.daemon_threads = True
    documents.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield documents
    documents.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cimd_server(request, tmp_path_factory):
    env = {"OAUTH2_CLIENT_ID_METADATA_DOCUMENTS_ENABLED": "true"}
    with dedicated_server(request, tmp_path_factory, "cimd", env) as server:
        yield server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}.json"


def log_in(server, client_id: str, **params) -> tuple[FlowDriver, str]:
    driver = FlowDriver(server, {"client_id": client_id}, redirect_uri=REDIRECT)
    callback = driver.run(**params)
    return driver, callback["code"]


def redeem(server, driver: FlowDriver, code: str, **form) -> requests.Response:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": driver.code_verifier,
        "client_id": driver.client["client_id"],
        **form,
    }
    return requests.post(server.public_url + "/oauth2/token", data=body, timeout=TIMEOUT)


def error_page(response: requests.Response) -> str:
    """The error of the server's own error page (never a redirect to an unchecked URI)."""
    assert response.status_code in (400, 401, 403), response.status_code
    assert "Location" not in response.headers
    marker = "<dt>error</dt><dd><code>"
    start = response.text.index(marker) + len(marker)
    return response.text[start : response.text.index("</code>", start)]


# -- a client that is its URL -------------------------------------------------------------


def test_discovery_says_documents_are_supported(cimd_server, server):
    on = requests.get(cimd_server.public_url + "/.well-known/openid-configuration", timeout=10)
    off = requests.get(server.public_url + "/.well-known/openid-configuration", timeout=10)
    assert on.json()["client_id_metadata_document_supported"] is True
    assert off.json()["client_id_metadata_document_supported"] is False


def test_a_public_document_client_logs_a_user_in_with_pkce(cimd_server, documents):
    client_id = documents.client(unique("tool"), scope="openid offline_access")
    driver, code = log_in(cimd_server, client_id)
    response = redeem(cimd_server, driver, code)
    assert response.status_code == 200, response.text
    tokens = response.json()
    claims = driver.introspect(tokens["access_token"])
    assert claims["client_id"] == client_id and claims["sub"] == "foo@bar.com"
    listed = requests.get(cimd_server.admin_url + "/admin/clients", timeout=TIMEOUT).json()
    stored = next(item for item in listed if item["client_id"] == client_id)
    assert stored["token_endpoint_auth_method"] == "none"
    assert stored["metadata"] == {"client_id_metadata_document": True}


def test_a_document_client_must_use_pkce_and_its_own_redirect_uris(cimd_server, documents):
    client_id = documents.client(unique("strict"))
    driver = FlowDriver(cimd_server, {"client_id": client_id}, redirect_uri=REDIRECT)
    without_pkce = driver.authorize(pkce=False)
    assert without_pkce.status_code == 302
    assert query(without_pkce.headers["Location"])["error"] == "invalid_request"
    elsewhere = driver.authorize(redirect_uri="http://127.0.0.1:9999/elsewhere")
    assert error_page(elsewhere) == "invalid_request"


def test_the_stored_client_follows_the_document(cimd_server, documents):
    name = unique("changing")
    client_id = documents.client(name)
    log_in(cimd_server, client_id)
    new_redirect = "http://127.0.0.1:9999/new-callback"
    documents.serve_json(
        name, {"client_id": client_id, "client_name": "renamed", "redirect_uris": [new_redirect]}
    )
    driver = FlowDriver(cimd_server, {"client_id": client_id}, redirect_uri=new_redirect)
    assert "login_challenge=" in driver.authorize().headers["Location"]
    old = FlowDriver(cimd_server, {"client_id": client_id}, redirect_uri=REDIRECT)
    assert error_page(old.authorize()) == "invalid_request"


def test_a_document_client_with_private_key_jwt(cimd_server, documents):
    keys = documents.serve_json(unique("keys"), {"keys": [KEY.as_dict(private=False)]})
    client_id = documents.client(
        unique("keyed"), token_endpoint_auth_method="private_key_jwt", jwks_uri=keys
    )
    driver, code = log_in(cimd_server, client_id)
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256", "kid": KEY.kid},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": cimd_server.public_url + "/oauth2/token",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 60,
        },
        KEY,
    )
    unauthenticated = redeem(cimd_server, driver, code)
    assert unauthenticated.status_code == 401
    response = redeem(
        cimd_server,
        driver,
        code,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=assertion,
    )
    assert response.status_code == 200, response.text


# -- documents that cannot be used --------------------------------------------------------

BAD_DOCUMENTS = [
    pytest.param(
        lambda url: ({"client_id": url + "x", "redirect_uris": [REDIRECT]},), id="other-id"
    ),
    pytest.param(lambda url: (b"<html>not json</html>",), id="not-json"),
    pytest.param(lambda url: ([1, 2, 3],), id="json-array"),
    pytest.param(lambda url: (b"{" * 5 + b"x" * (70 * 1024),), id="huge"),
    pytest.param(lambda url: ({"client_id": url, "redirect_uris": [REDIRECT]}, 302), id="redirect"),
    pytest.param(lambda url: ({"client_id": url, "redirect_uris": [REDIRECT]}, 500), id="500"),
    pytest.param(
        lambda url: ({"client_id": url, "redirect_uris": [REDIRECT], "client_secret": "s"},),
        id="shared-secret",
    ),
    pytest.param(lambda url: ({"client_id": url},), id="no-redirect-uris"),
    pytest.param(
        lambda url: ({"client_id": url, "redirect_uris": ["myapp://cb"]},), id="custom-scheme"
    ),
    pytest.param(
        lambda url: ({"client_id": url, "redirect_uris": [REDIRECT]}, 200, 7.0), id="slow"
    ),
]


@pytest.mark.parametrize("answer", BAD_DOCUMENTS)
def test_documents_that_cannot_be_used(cimd_server, documents, answer):
    name = unique("bad")
    url = documents.url(name)
    document, *rest = answer(url)
    status = rest[0] if rest else 200
    delay = rest[1] if len(rest) > 1 else 0.0
    documents.serve_json(name, document, status=status, delay=delay)
    driver = FlowDriver(cimd_server, {"client_id": url}, redirect_uri=REDIRECT)
    started = time.monotonic()
    response = driver.authorize()
    assert time.monotonic() - started < 7  # the 5 s fetch deadline, not the server's delay
    assert error_page(response) == "invalid_client"
    token = requests.post(
        cimd_server.public_url + "/oauth2/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": url},
        timeout=TIMEOUT,
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


BAD_URLS = [
    pytest.param("https://127.0.0.1:1/c.json#frag", id="fragment"),
    pytest.param("https://user@127.0.0.1:1/c.json", id="userinfo"),
    pytest.param("https://127.0.0.1:1", id="no-path"),
    pytest.param("https://127.0.0.1:1/a/../c.json", id="dot-segments"),
    pytest.param("https://127.0.0.1:1/c.json?x=1", id="query"),
    pytest.param("ftp://127.0.0.1:1/c.json", id="ftp"),
    pytest.param("https://169.254.169.254/latest/meta-data", id="metadata-address"),
    pytest.param("https://127.0.0.1:1/" + "a" * 300, id="too-long"),
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_client_id_urls_that_are_refused(cimd_server, url):
    driver = FlowDriver(cimd_server, {"client_id": url}, redirect_uri=REDIRECT)
    assert error_page(driver.authorize()) == "invalid_client"


def test_documents_are_off_by_default(server, documents):
    client_id = documents.client(unique("off"))
    driver = FlowDriver(server, {"client_id": client_id}, redirect_uri=REDIRECT)
    assert error_page(driver.authorize()) == "invalid_client"
    assert documents.hits.get("/" + client_id.rsplit("/", 1)[1], 0) == 0
