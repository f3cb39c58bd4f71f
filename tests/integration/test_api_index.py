"""The API roots and the favicon (issue #12), over HTTP against a real server, on both
databases: HTML for a client that prefers it, JSON for every other, HEAD alike, and an
icon on each port."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
import requests

from tests.integration import openapi_tools as tools

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
JSON = "application/json"
HTML = "text/html"

# (Accept header or None for none at all, the content type expected)
ACCEPTS = [
    (None, JSON),
    ("*/*", JSON),
    (JSON, JSON),
    ("application/*", JSON),
    (HTML, HTML),
    (BROWSER, HTML),
    ("text/*", HTML),
    ("text/html;q=0.5, application/json", JSON),
    ("text/html, application/json;q=0.5", HTML),
    ("text/html;q=0", JSON),
    ("image/png", JSON),  # nothing acceptable: JSON rather than a 406
    ("not a media type", JSON),
]

# (port, path): every spelling of each root.
ROOTS = [("public", "/"), ("admin", "/"), ("admin", "/admin"), ("admin", "/admin/")]

PUBLIC_ENDPOINTS = {
    "discovery",
    "jwks",
    "authorize",
    "token",
    "userinfo",
    "revoke",
    "register",
    "logout",
}
ADMIN_ENDPOINTS = {
    "clients",
    "login_request",
    "consent_request",
    "logout_request",
    "introspect",
    "tokens",
    "client_secret_rotation",
    "trusted_jwt_issuers",
    "keys",
    "health",
}


def _base(server, port: str) -> str:
    return server.public_url if port == "public" else server.admin_url


def _get(server, port: str, path: str, method: str = "GET", accept: str | None = None):
    headers = {} if accept is None else {"Accept": accept}
    session = requests.Session()
    if accept is None:
        session.headers.pop("Accept", None)  # requests sends */* otherwise
    return session.request(method, _base(server, port) + path, headers=headers, timeout=10)


def _media_type(response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


@pytest.mark.parametrize(("port", "path"), ROOTS, ids=[f"{p}{r}" for p, r in ROOTS])
@pytest.mark.parametrize(("accept", "expected"), ACCEPTS, ids=[str(a) for a, _ in ACCEPTS])
def test_root_answers_by_accept_header(server, port, path, accept, expected):
    response = _get(server, port, path, accept=accept)
    assert response.status_code == 200, response.text
    assert _media_type(response) == expected
    assert response.headers["Vary"] == "Accept"
    head = _get(server, port, path, "HEAD", accept)
    assert head.status_code == 200
    assert _media_type(head) == expected
    assert head.content == b""


# "/admin" without its slash reaches the "/admin/" rule for GET and HEAD only: Werkzeug
# tries the slash for a method the rule serves, so any other method there is a 404.
CANONICAL_ROOTS = [root for root in ROOTS if root != ("admin", "/admin")]


@pytest.mark.parametrize(
    ("port", "path"), CANONICAL_ROOTS, ids=[f"{p}{r}" for p, r in CANONICAL_ROOTS]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_root_refuses_other_methods(server, port, path, method):
    response = _get(server, port, path, method)
    assert response.status_code == 405
    assert _media_type(response) == JSON
    assert response.json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("port", "expected"), [("public", PUBLIC_ENDPOINTS), ("admin", ADMIN_ENDPOINTS)]
)
def test_json_index_lists_routed_endpoints(server, port, expected):
    document = _get(server, port, "/", accept=JSON).json()
    assert document["name"] == "authserver"
    assert document["api"] == port
    assert expected <= set(document["endpoints"])
    spec = tools.PUBLIC_SPEC if port == "public" else tools.ADMIN_SPEC
    described = tools.described_operations(tools.load_description(spec))
    for name, endpoint in document["endpoints"].items():
        assert endpoint["methods"], name
        for method in endpoint["methods"]:
            assert (endpoint["path"], method) in described, (name, method)
    if port == "public":  # absolute URLs under the public URL, and they answer
        for name in ("discovery", "jwks", "health"):
            url = document["endpoints"][name]["url"]
            assert url.startswith(server.public_url), url
            assert requests.get(url, timeout=10).status_code == 200, name
    else:
        assert document["links"]["public_api"].startswith("http")


@pytest.mark.parametrize("port", ["public", "admin"])
def test_html_index_is_styled_and_allowed_by_its_policy(server, port):
    response = _get(server, port, "/", accept=BROWSER)
    page = response.text
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy  # the inline stylesheet may apply
    assert "--accent" in style  # the project's look, not a bare page
    assert "<script" not in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in (
        ("/oauth2/token", "/.well-known/jwks.json")
        if port == "public"
        else (
            "/admin/clients",
            "/admin/oauth2/introspect",
        )
    ):
        assert path in page


@pytest.mark.parametrize(
    ("port", "path"),
    [("public", "/favicon.ico"), ("admin", "/favicon.ico"), ("admin", "/admin/favicon.ico")],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_favicon_is_served(server, port, path, method):
    response = _get(server, port, path, method, accept="image/avif,image/*,*/*;q=0.8")
    assert response.status_code == 200
    assert _media_type(response) == "image/x-icon"
    assert "max-age" in response.headers["Cache-Control"]
    if method == "GET":
        assert response.content.startswith(b"\x00\x00\x01\x00")  # an ICO header
        assert int(response.headers["Content-Length"]) == len(response.content)
    else:
        assert response.content == b""
