"""Pairwise subject identifiers (OIDC Core §8) end to end, on a server that offers them.

The ``sub`` a client sees is checked where the client sees it (ID tokens, /userinfo, JWT
access tokens, a refresh) against Hydra's formula computed here with hashlib. Sector
identifier documents are served by a throwaway HTTP server on 127.0.0.1 that each test
fills with its own paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import jwt
import pytest
import requests

from tests.conftest import dedicated_server
from tests.integration.oauth_flow import FlowDriver
from tests.quiet_server import QuietHTTPServer

TIMEOUT = 10
SALT = "pairwise-salt-for-tests"
PAIRWISE_ENV = {
    "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES": "public,pairwise",
    "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT": SALT,
}
FETCH_TIMEOUT = 5  # authserver.outbound.DEFAULT_TIMEOUT


def hydra_pairwise(sector: str, subject: str) -> str:
    return hashlib.sha256((sector + subject + SALT).encode()).hexdigest()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- the sector documents --------------------------------------------------------------------


class SectorSite:
    """``path -> (status, body bytes, seconds to wait before answering)``."""

    def __init__(self):
        self.pages: dict[str, tuple[int, bytes, float]] = {}
        self.release = threading.Event()  # ends a deliberately slow answer early
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body, delay = site.pages.get(self.path, (404, b"not found", 0))
                if delay:
                    site.release.wait(delay)
                with contextlib.suppress(OSError):  # the server may have hung up already
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, body, status: int = 200, delay: float = 0) -> str:
        """Publish ``body`` (JSON-encoded unless bytes) at a new path; return its URL."""
        path = f"/{uuid.uuid4().hex}.json"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.pages[path] = (status, raw, delay)
        return self.url + path


@pytest.fixture(scope="module")
def site():
    site = SectorSite()
    thread = threading.Thread(target=site.httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    site.release.set()
    site.httpd.shutdown()
    site.httpd.server_close()


# -- one pairwise server per backend -----------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pairwise_server(request, tmp_path_factory):
    with dedicated_server(request, tmp_path_factory, "pairwise", PAIRWISE_ENV) as server:
        yield server


def register(server, **fields) -> requests.Response:
    body = {
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline_access",
        **fields,
    }
    return requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)


def pairwise_client(server, redirect_uri: str, **fields) -> dict:
    response = register(server, subject_type="pairwise", redirect_uris=[redirect_uri], **fields)
    assert response.status_code == 201, response.text
    return response.json()


def assert_refused(response: requests.Response, error: str = "invalid_client_metadata"):
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def login(server, client: dict, subject: str, **login_fields) -> tuple[FlowDriver, dict]:
    """A full authorization-code flow for ``subject``; the driver and the token response."""
    driver = FlowDriver(server, client, redirect_uri=client["redirect_uris"][0])
    callback = driver.run(login={"subject": subject, **login_fields})
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    return driver, response.json()


def id_token_sub(server, tokens: dict, client: dict) -> str:
    """The ``sub`` of a verified ID token (PyJWT, the server's published keys)."""
    jwks = requests.get(server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT).json()
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    key = jwt.PyJWK(next(key for key in jwks["keys"] if key["kid"] == kid))
    claims = jwt.decode(
        tokens["id_token"],
        key=key.key,
        algorithms=[key.algorithm_name],
        audience=client["client_id"],
        options={"verify_iss": False},
    )
    return claims["sub"]


def userinfo_sub(server, access_token: str) -> str:
    response = requests.get(
        server.public_url + "/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["sub"]


# -- what clients see ------------------------------------------------------------------------


def test_clients_of_different_sectors_see_different_subs(pairwise_server):
    server, subject = pairwise_server, unique("user")
    first = pairwise_client(server, "https://app-one.example/cb")
    second = pairwise_client(server, "https://app-two.example/cb")
    _, first_tokens = login(server, first, subject)
    _, second_tokens = login(server, second, subject)
    assert id_token_sub(server, first_tokens, first) == hydra_pairwise("app-one.example", subject)
    assert id_token_sub(server, second_tokens, second) == hydra_pairwise("app-two.example", subject)


def test_clients_sharing_a_sector_identifier_uri_see_the_same_sub(pairwise_server, site):
    server, subject = pairwise_server, unique("user")
    uris = ["https://web.example/cb", "https://mobile.example/cb"]
    sector = site.serve(uris)
    web = pairwise_client(server, uris[0], sector_identifier_uri=sector)
    mobile = pairwise_client(server, uris[1], sector_identifier_uri=sector)
    _, web_tokens = login(server, web, subject)
    _, mobile_tokens = login(server, mobile, subject)
    expected = hydra_pairwise("127.0.0.1", subject)  # the sector URI's host (OIDC Core 8.1)
    assert id_token_sub(server, web_tokens, web) == expected
    assert id_token_sub(server, mobile_tokens, mobile) == expected


def test_a_public_client_sees_the_real_subject(pairwise_server):
    server, subject = pairwise_server, unique("user")
    response = register(server, redirect_uris=["https://public.example/cb"])
    assert response.status_code == 201, response.text
    client = response.json()
    assert client["subject_type"] == "public"
    _, tokens = login(server, client, subject)
    assert id_token_sub(server, tokens, client) == subject
    assert userinfo_sub(server, tokens["access_token"]) == subject


def test_userinfo_and_refresh_keep_the_pairwise_sub(pairwise_server):
    server, subject = pairwise_server, unique("user")
    client = pairwise_client(server, "https://refresh.example/cb")
    driver, tokens = login(server, client, subject)
    expected = hydra_pairwise("refresh.example", subject)
    assert id_token_sub(server, tokens, client) == expected
    assert userinfo_sub(server, tokens["access_token"]) == expected
    refreshed = driver.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    refreshed = refreshed.json()
    assert id_token_sub(server, refreshed, client) == expected
    assert userinfo_sub(server, refreshed["access_token"]) == expected


def test_introspection_of_an_opaque_token_names_the_real_subject_as_hydra(pairwise_server):
    server, subject = pairwise_server, unique("user")
    client = pairwise_client(server, "https://opaque.example/cb")
    driver, tokens = login(server, client, subject)
    assert driver.introspect(tokens["access_token"])["sub"] == subject


def test_a_jwt_access_token_carries_the_pairwise_sub(pairwise_server):
    server, subject = pairwise_server, unique("user")
    client = pairwise_client(server, "https://jwt.example/cb", access_token_strategy="jwt")
    driver, tokens = login(server, client, subject)
    expected = hydra_pairwise("jwt.example", subject)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == expected
    assert subject not in json.dumps(claims)  # nowhere in the token the client can read
    assert driver.introspect(tokens["access_token"])["sub"] == expected
    assert userinfo_sub(server, tokens["access_token"]) == expected


def test_logout_accepts_a_pairwise_id_token_hint(pairwise_server):
    server, subject = pairwise_server, unique("user")
    client = pairwise_client(server, "https://logout.example/cb")
    driver, tokens = login(server, client, subject, remember=True)
    assert id_token_sub(server, tokens, client) != subject
    response = driver.browser.get(
        server.public_url + "/oauth2/sessions/logout",
        params={"id_token_hint": tokens["id_token"]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302, response.text
    assert "logout_challenge=" in response.headers["Location"]


def test_logout_refuses_a_pairwise_hint_of_another_user(pairwise_server):
    server = pairwise_server
    client = pairwise_client(server, "https://logout-other.example/cb")
    _, other_tokens = login(server, client, unique("other"), remember=True)
    driver, _ = login(server, client, unique("user"), remember=True)
    response = driver.browser.get(
        server.public_url + "/oauth2/sessions/logout",
        params={"id_token_hint": other_tokens["id_token"]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 400, response.text


# -- registration: the sector ------------------------------------------------------------------


def test_a_sector_document_must_list_every_redirect_uri(pairwise_server, site):
    sector = site.serve(["https://listed.example/cb"])
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://listed.example/cb", "https://unlisted.example/cb"],
        sector_identifier_uri=sector,
    )
    assert_refused(response)


def test_an_update_is_checked_against_the_sector_document_too(pairwise_server, site):
    sector = site.serve(["https://updated.example/cb"])
    client = pairwise_client(
        pairwise_server, "https://updated.example/cb", sector_identifier_uri=sector
    )
    client["redirect_uris"].append("https://unlisted.example/cb")
    client.pop("client_secret", None)
    response = requests.put(
        f"{pairwise_server.admin_url}/admin/clients/{client['client_id']}",
        json=client,
        timeout=TIMEOUT,
    )
    assert_refused(response)


def test_a_public_client_with_a_sector_identifier_uri_is_checked_as_in_hydra(pairwise_server, site):
    sector = site.serve(["https://elsewhere.example/cb"])
    response = register(
        pairwise_server, redirect_uris=["https://mine.example/cb"], sector_identifier_uri=sector
    )
    assert_refused(response)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"this is not JSON", 200),
        ({"redirect_uris": ["https://doc.example/cb"]}, 200),  # not an array
        ([1, 2], 200),  # not strings
        ([], 200),  # empty (Hydra refuses it too)
        (["https://doc.example/cb"], 404),
        (["https://doc.example/cb"], 500),
        (json.dumps(["https://doc.example/cb", "x" * 70_000]).encode(), 200),  # over 64 KiB
    ],
    ids=["not-json", "object", "numbers", "empty", "404", "500", "too-big"],
)
def test_a_bad_sector_document_is_refused(pairwise_server, site, body, status):
    sector = site.serve(body, status=status)
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://doc.example/cb"],
        sector_identifier_uri=sector,
    )
    assert_refused(response)


def test_an_unreachable_sector_document_is_refused(pairwise_server, site):
    closed = site.url.rsplit(":", 1)[0] + ":1/sector.json"  # nothing listens on port 1
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://doc.example/cb"],
        sector_identifier_uri=closed,
    )
    assert_refused(response)


def test_a_sector_document_that_never_comes_is_refused_after_the_fetch_timeout(
    pairwise_server, site
):
    sector = site.serve(["https://slow.example/cb"], delay=FETCH_TIMEOUT + 5)
    started = time.monotonic()
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://slow.example/cb"],
        sector_identifier_uri=sector,
    )
    elapsed = time.monotonic() - started
    assert_refused(response)
    assert FETCH_TIMEOUT - 0.5 <= elapsed < FETCH_TIMEOUT + 3


def test_pairwise_redirect_uris_on_two_hosts_need_a_sector_identifier_uri(pairwise_server):
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://one.example/cb", "https://two.example/cb"],
    )
    assert_refused(response)


def test_pairwise_redirect_uris_on_one_host_need_no_sector_identifier_uri(pairwise_server):
    response = register(
        pairwise_server,
        subject_type="pairwise",
        redirect_uris=["https://one.example/cb", "https://one.example/other"],
    )
    assert response.status_code == 201, response.text


def test_pairwise_is_refused_where_it_is_not_offered(server):
    response = register(server, subject_type="pairwise", redirect_uris=["https://app.example/cb"])
    assert_refused(response)
