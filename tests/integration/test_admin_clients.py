"""The admin client API (``/admin/clients``) over real HTTP, and the CLI commands that use
it, against the shared server of each backend.

Assertions are about status codes, headers, the JSON model and the RFC / Hydra ``error``
codes, never about the wording of ``error_description``.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from tests.conftest import parse_row_table as single_table

DEFAULT_SCOPE = "offline_access offline openid"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]+)"')
PRIVATE_FIELDS = ("client_secret",)


# -- helpers ---------------------------------------------------------------------------


def uid() -> str:
    return uuid.uuid4().hex


def admin(server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, server.admin_url + path, timeout=15, **kwargs)


def create(server, body: dict, path: str = "/admin/clients") -> dict:
    response = admin(server, "POST", path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def get_client(server, client_id: str) -> requests.Response:
    return admin(server, "GET", f"/admin/clients/{client_id}")


def assert_error(response: requests.Response, status: int, error: str | None = None) -> dict:
    """Every error is RFC 6749 §5.2-shaped JSON that must not be cached."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("error_description", ""), str)
    if error is not None:
        assert body["error"] == error, body
    return body


def cc_token(server, client_id: str, secret: str) -> requests.Response:
    """POST /oauth2/token with grant_type=client_credentials and HTTP Basic."""
    return requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=15,
    )


def assert_token_works(server, client_id: str, secret: str) -> dict:
    response = cc_token(server, client_id, secret)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["access_token"]
    return token


def assert_secret_refused(server, client_id: str, secret: str) -> None:
    response = cc_token(server, client_id, secret)
    assert_error(response, 401, "invalid_client")


def introspect(server, token: str) -> dict:
    response = admin(server, "POST", "/admin/oauth2/introspect", data={"token": token})
    assert response.status_code == 200, response.text
    return response.json()


def links(response: requests.Response) -> dict[str, str]:
    header = response.headers.get("Link", "")
    return {rel: url for url, rel in LINK.findall(header)}


def multi_table(output: str) -> tuple[list[str], list[list[str]]]:
    """A header line and one line per object; columns are separated by runs of tabs."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = re.split(r"\t+", lines[0])
    return header, [re.split(r"\t+", line) for line in lines[1:]]


# -- create / get ----------------------------------------------------------------------


def test_create_returns_location_and_the_secret_only_once(server):
    name = f"create-{uid()}"
    response = admin(
        server,
        "POST",
        "/admin/clients",
        json={"client_name": name, "grant_types": ["client_credentials"]},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    created = response.json()
    client_id = created["client_id"]
    secret = created["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 26
    assert created["client_name"] == name

    location = response.headers["Location"]
    assert urlsplit(location).path == f"/admin/clients/{client_id}"
    fetched = requests.get(urljoin(server.admin_url + "/", location), timeout=15)
    assert fetched.status_code == 200
    document = fetched.json()
    assert document["client_id"] == client_id
    assert document["client_name"] == name
    assert "client_secret" not in document

    # The secret is usable, and never shown again (not by GET, not by the list).
    assert_token_works(server, client_id, secret)
    assert "client_secret" not in get_client(server, client_id).json()
    listed = admin(server, "GET", "/admin/clients", params={"client_name": name}).json()
    assert [item["client_id"] for item in listed] == [client_id]
    assert "client_secret" not in listed[0]


def test_create_fills_in_hydra_defaults(server):
    created = create(server, {})
    client_id = created["client_id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", client_id)
    assert isinstance(created["client_secret"], str) and created["client_secret"]

    document = get_client(server, client_id).json()
    assert document["grant_types"] == ["authorization_code"]
    assert document["response_types"] == ["code"]
    assert document["scope"] == DEFAULT_SCOPE
    assert document["token_endpoint_auth_method"] == "client_secret_basic"
    assert document["subject_type"] == "public"
    assert document["client_secret_expires_at"] == 0
    assert document["redirect_uris"] == []
    assert document["audience"] == []
    assert document["metadata"] == {}
    assert document["skip_consent"] is False
    for stamp in ("created_at", "updated_at"):
        assert RFC3339.match(document[stamp]), document[stamp]
        datetime.fromisoformat(document[stamp].replace("Z", "+00:00"))
    assert document["created_at"] == created["created_at"]
    for key, value in created.items():
        if key != "client_secret":
            assert document[key] == value, key


@pytest.mark.parametrize("scope", ["", "   "])
def test_empty_scope_means_the_default_scope(server, scope):
    assert create(server, {"scope": scope})["scope"] == DEFAULT_SCOPE


def test_public_client_gets_no_secret(server):
    created = create(
        server,
        {
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://app.example/cb"],
        },
    )
    assert not created.get("client_secret")
    assert created["token_endpoint_auth_method"] == "none"


def test_custom_client_id_is_kept_and_duplicates_conflict(server):
    client_id = f"custom-{uid()}"
    created = create(
        server,
        {
            "client_id": client_id,
            "client_secret": "some-secret",
            "grant_types": ["client_credentials"],
        },
    )
    assert created["client_id"] == client_id
    assert created["client_secret"] == "some-secret"
    assert get_client(server, client_id).json()["client_id"] == client_id
    assert_token_works(server, client_id, "some-secret")

    again = admin(
        server,
        "POST",
        "/admin/clients",
        json={"client_id": client_id, "client_secret": "other-secret"},
    )
    assert_error(again, 409, "conflict")
    # The first client is untouched, secret included.
    assert_token_works(server, client_id, "some-secret")
    assert_secret_refused(server, client_id, "other-secret")


# -- PUT -------------------------------------------------------------------------------


def test_put_replaces_metadata_and_keeps_the_secret(server, create_client):
    client = create_client(
        client_name="before", audience=["https://api.example"], owner=f"owner-{uid()}"
    )
    original = client.document

    response = admin(
        server,
        "PUT",
        f"/admin/clients/{client.client_id}",
        json={"client_name": "after", "grant_types": ["client_credentials"], "scope": "read write"},
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert "client_secret" not in replaced
    assert replaced["client_id"] == client.client_id
    assert replaced["client_name"] == "after"
    assert replaced["scope"] == "read write"
    # Replaced, not merged: fields left out are back at their defaults.
    assert replaced["audience"] == []
    assert replaced["owner"] == ""
    assert replaced["created_at"] == original["created_at"]
    assert replaced["updated_at"] >= original["updated_at"]
    assert get_client(server, client.client_id).json() == replaced

    token = assert_token_works(server, client.client_id, client.client_secret)
    assert introspect(server, token["access_token"])["active"] is True


def test_put_with_a_secret_rotates_it(server, create_client):
    client = create_client()
    new_secret = f"rotated-{uid()}"
    response = admin(
        server,
        "PUT",
        f"/admin/clients/{client.client_id}",
        json={"grant_types": ["client_credentials"], "client_secret": new_secret},
    )
    assert response.status_code == 200, response.text
    assert response.json()["client_secret"] == new_secret
    assert "client_secret" not in get_client(server, client.client_id).json()

    assert_secret_refused(server, client.client_id, client.client_secret)
    assert_token_works(server, client.client_id, new_secret)


def test_put_cannot_change_the_client_id(server, create_client):
    client = create_client(client_name="stays")
    response = admin(
        server,
        "PUT",
        f"/admin/clients/{client.client_id}",
        json={"client_id": f"other-{uid()}", "client_name": "changed"},
    )
    assert_error(response, 400, "invalid_client_metadata")
    assert get_client(server, client.client_id).json()["client_name"] == "stays"

    # The same id in the body is fine (a GET body can be PUT back as it is).
    document = get_client(server, client.client_id).json()
    document["client_name"] = "renamed"
    again = admin(server, "PUT", f"/admin/clients/{client.client_id}", json=document)
    assert again.status_code == 200, again.text
    assert again.json()["client_name"] == "renamed"


def test_put_unknown_client_is_not_found(server):
    response = admin(server, "PUT", f"/admin/clients/missing-{uid()}", json={"client_name": "x"})
    assert_error(response, 404, "not_found")


# -- PATCH -----------------------------------------------------------------------------


def test_patch_applies_rfc6902_operations(server):
    created = create(
        server,
        {
            "client_name": "old name",
            "redirect_uris": ["https://app.example/cb"],
            "contacts": ["ops@app.example"],
            "metadata": {"team": "a"},
        },
    )
    client_id = created["client_id"]
    patch = [
        {"op": "replace", "path": "/client_name", "value": "new name"},
        {"op": "add", "path": "/redirect_uris/-", "value": "https://app.example/cb2"},
        {"op": "remove", "path": "/contacts"},
        {"op": "add", "path": "/metadata/tier", "value": 2},
        {"op": "test", "path": "/client_id", "value": client_id},
    ]
    response = admin(server, "PATCH", f"/admin/clients/{client_id}", json=patch)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert "client_secret" not in patched
    assert patched["client_name"] == "new name"
    assert patched["redirect_uris"] == ["https://app.example/cb", "https://app.example/cb2"]
    assert patched["contacts"] == []
    assert patched["metadata"] == {"team": "a", "tier": 2}
    assert get_client(server, client_id).json() == patched


def test_patch_failing_test_operation_changes_nothing(server, create_client):
    client = create_client(client_name="unchanged")
    response = admin(
        server,
        "PATCH",
        f"/admin/clients/{client.client_id}",
        json=[
            {"op": "replace", "path": "/client_name", "value": "changed"},
            {"op": "test", "path": "/client_name", "value": "something else"},
        ],
    )
    assert_error(response, 400, "invalid_request")
    assert get_client(server, client.client_id).json()["client_name"] == "unchanged"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/client_id", "value": "another-id"},
        {"op": "remove", "path": "/client_id"},
    ],
    ids=["replace", "remove"],
)
def test_patch_cannot_touch_the_client_id(server, create_client, operation):
    client = create_client()
    response = admin(server, "PATCH", f"/admin/clients/{client.client_id}", json=[operation])
    assert_error(response, 400, "invalid_request")
    assert get_client(server, client.client_id).status_code == 200


@pytest.mark.parametrize("op", ["add", "replace"])
def test_patch_of_client_secret_rotates_it(server, create_client, op):
    client = create_client()
    new_secret = f"patched-{uid()}"
    response = admin(
        server,
        "PATCH",
        f"/admin/clients/{client.client_id}",
        json=[{"op": op, "path": "/client_secret", "value": new_secret}],
    )
    assert response.status_code == 200, response.text
    assert response.json()["client_secret"] == new_secret
    assert "client_secret" not in get_client(server, client.client_id).json()
    assert_secret_refused(server, client.client_id, client.client_secret)
    assert_token_works(server, client.client_id, new_secret)


def test_patch_without_secret_keeps_it(server, create_client):
    client = create_client()
    response = admin(
        server,
        "PATCH",
        f"/admin/clients/{client.client_id}",
        json=[{"op": "replace", "path": "/client_name", "value": "renamed"}],
    )
    assert response.status_code == 200, response.text
    assert "client_secret" not in response.json()
    assert_token_works(server, client.client_id, client.client_secret)


@pytest.mark.parametrize(
    "body",
    [
        {"op": "replace", "path": "/client_name", "value": "x"},
        {},
        "replace",
        [{"op": "replace", "path": "/no_such_field", "value": 1}],
        [{"op": "frobnicate", "path": "/client_name"}],
        [{"path": "/client_name", "value": "x"}],
        [{"op": "remove", "path": "/redirect_uris/7"}],
    ],
    ids=["object", "empty-object", "string", "missing-path", "bad-op", "no-op", "bad-index"],
)
def test_patch_malformed_documents_are_bad_requests(server, create_client, body):
    client = create_client(client_name="intact")
    response = admin(server, "PATCH", f"/admin/clients/{client.client_id}", json=body)
    assert_error(response, 400, "invalid_request")
    assert get_client(server, client.client_id).json()["client_name"] == "intact"


def test_patch_producing_invalid_metadata_is_refused(server, create_client):
    client = create_client()
    response = admin(
        server,
        "PATCH",
        f"/admin/clients/{client.client_id}",
        json=[{"op": "replace", "path": "/grant_types", "value": ["implicit"]}],
    )
    assert_error(response, 400, "invalid_client_metadata")
    assert get_client(server, client.client_id).json()["grant_types"] == ["client_credentials"]

    fragment = admin(
        server,
        "PATCH",
        f"/admin/clients/{client.client_id}",
        json=[{"op": "add", "path": "/redirect_uris/-", "value": "https://app.example/cb#x"}],
    )
    assert_error(fragment, 400, "invalid_redirect_uri")


def test_patch_unknown_client_is_not_found(server):
    response = admin(
        server,
        "PATCH",
        f"/admin/clients/missing-{uid()}",
        json=[{"op": "replace", "path": "/client_name", "value": "x"}],
    )
    assert_error(response, 404, "not_found")


# -- lifespans -------------------------------------------------------------------------


def test_lifespans_set_the_client_credentials_token_lifetime(server, create_client):
    client = create_client(client_name="with lifespans")
    response = admin(
        server,
        "PUT",
        f"/admin/clients/{client.client_id}/lifespans",
        json={"client_credentials_grant_access_token_lifespan": "5m"},
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["client_credentials_grant_access_token_lifespan"] == "5m"
    assert document["client_name"] == "with lifespans"  # merged, not replaced
    assert document["grant_types"] == ["client_credentials"]
    assert "client_secret" not in document
    stored = get_client(server, client.client_id).json()
    assert stored["client_credentials_grant_access_token_lifespan"] == "5m"

    token = assert_token_works(server, client.client_id, client.client_secret)
    assert 295 <= token["expires_in"] <= 300
    info = introspect(server, token["access_token"])
    assert info["active"] is True
    assert info["exp"] - info["iat"] == 300


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"no_such_lifespan": "5m"}, "invalid_request"),
        ({"client_name": "sneaky"}, "invalid_request"),
        (
            {"client_credentials_grant_access_token_lifespan": "five minutes"},
            "invalid_client_metadata",
        ),
        ({"client_credentials_grant_access_token_lifespan": 300}, "invalid_client_metadata"),
    ],
    ids=["unknown-field", "not-a-lifespan-field", "bad-duration", "number"],
)
def test_lifespans_refuse_bad_bodies(server, create_client, body, error):
    client = create_client(client_name="lifespans intact")
    response = admin(server, "PUT", f"/admin/clients/{client.client_id}/lifespans", json=body)
    assert_error(response, 400, error)
    stored = get_client(server, client.client_id).json()
    assert stored["client_name"] == "lifespans intact"
    assert stored["client_credentials_grant_access_token_lifespan"] is None


def test_lifespans_of_unknown_client_is_not_found(server):
    response = admin(
        server,
        "PUT",
        f"/admin/clients/missing-{uid()}/lifespans",
        json={"client_credentials_grant_access_token_lifespan": "5m"},
    )
    assert_error(response, 404, "not_found")


# -- DELETE ----------------------------------------------------------------------------


def test_delete_removes_the_client_and_its_tokens(server, create_client):
    client = create_client()
    token = assert_token_works(server, client.client_id, client.client_secret)["access_token"]
    assert introspect(server, token)["active"] is True

    deleted = admin(server, "DELETE", f"/admin/clients/{client.client_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""

    assert_error(get_client(server, client.client_id), 404, "not_found")
    assert_error(admin(server, "DELETE", f"/admin/clients/{client.client_id}"), 404, "not_found")
    assert introspect(server, token) == {"active": False}
    assert_secret_refused(server, client.client_id, client.client_secret)


# -- list ------------------------------------------------------------------------------


def test_list_pages_through_filtered_clients_with_link_headers(server):
    owner = f"owner-{uid()}"
    expected = {create(server, {"owner": owner})["client_id"] for _ in range(5)}
    create(server, {"owner": f"other-{uid()}"})  # must not show up

    url = server.admin_url + "/admin/clients?" + f"owner={owner}&page_size=2"
    seen: list[str] = []
    sizes: list[int] = []
    first_url = None
    for _ in range(10):
        response = requests.get(url, timeout=15)
        assert response.status_code == 200, response.text
        assert response.headers["X-Total-Count"] == "5"
        page = response.json()
        assert isinstance(page, list)
        for item in page:
            assert item["owner"] == owner
            assert "client_secret" not in item
        seen.extend(item["client_id"] for item in page)
        sizes.append(len(page))
        rels = links(response)
        assert "first" in rels
        first_url = first_url or rels["first"]
        if "next" not in rels:
            break
        next_query = parse_qs(urlsplit(rels["next"]).query)
        assert next_query["page_size"] == ["2"]
        assert next_query["owner"] == [owner]
        url = urljoin(server.admin_url + "/", rels["next"])
    else:
        pytest.fail("the Link header never stopped offering a next page")

    assert sizes == [2, 2, 1]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected

    # rel="first" leads back to the first page.
    first = requests.get(urljoin(server.admin_url + "/", first_url), timeout=15)
    assert first.status_code == 200
    assert [item["client_id"] for item in first.json()] == seen[:2]


def test_list_last_page_has_no_next_link(server):
    owner = f"owner-{uid()}"
    created = create(server, {"owner": owner})["client_id"]
    response = admin(server, "GET", "/admin/clients", params={"owner": owner, "page_size": 5})
    assert response.status_code == 200
    assert [item["client_id"] for item in response.json()] == [created]
    rels = links(response)
    assert "first" in rels and "next" not in rels
    assert response.headers["X-Total-Count"] == "1"


def test_list_filters_by_client_name(server):
    name = f"name-{uid()}"
    expected = {create(server, {"client_name": name})["client_id"] for _ in range(2)}
    create(server, {"client_name": name + "-not-exactly"})

    response = admin(server, "GET", "/admin/clients", params={"client_name": name})
    assert response.status_code == 200
    assert {item["client_id"] for item in response.json()} == expected
    assert response.headers["X-Total-Count"] == "2"

    nobody = admin(server, "GET", "/admin/clients", params={"client_name": f"nobody-{uid()}"})
    assert nobody.status_code == 200
    assert nobody.json() == []
    assert nobody.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5"])
def test_list_rejects_invalid_page_size(server, page_size):
    response = admin(server, "GET", "/admin/clients", params={"page_size": page_size})
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "page_token",
    ["garbage!!", "not-a-token", "eyJhZnRlciI6IDV9", "WzFd"],
    ids=["symbols", "letters", "after-not-a-string", "json-array"],
)
def test_list_rejects_invalid_page_token(server, page_token):
    response = admin(server, "GET", "/admin/clients", params={"page_token": page_token})
    assert_error(response, 400, "invalid_request")


def test_list_clamps_large_page_size(server):
    response = admin(server, "GET", "/admin/clients", params={"page_size": 100000})
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    assert len(response.json()) <= 500
    first = parse_qs(urlsplit(links(response)["first"]).query)
    assert first["page_size"] == ["500"]


# -- validation ------------------------------------------------------------------------


INVALID_BODIES = [
    ("client-id-dot", {"client_id": "."}, "invalid_client_metadata"),
    ("client-id-dot-dot", {"client_id": ".."}, "invalid_client_metadata"),
    ("unknown-grant-type", {"grant_types": ["magic"]}, "invalid_client_metadata"),
    ("implicit-grant", {"grant_types": ["implicit"]}, "invalid_client_metadata"),
    ("password-grant", {"grant_types": ["password"]}, "invalid_client_metadata"),
    ("unknown-response-type", {"response_types": ["magic"]}, "invalid_client_metadata"),
    ("fragment", {"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
    ("relative-redirect", {"redirect_uris": ["/cb"]}, "invalid_redirect_uri"),
    ("http-without-host", {"redirect_uris": ["https:///cb"]}, "invalid_redirect_uri"),
    (
        "post-logout-other-origin",
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://elsewhere.example/bye"],
        },
        "invalid_redirect_uri",
    ),
    (
        "public-with-secret",
        {"token_endpoint_auth_method": "none", "client_secret": "some-secret"},
        "invalid_client_metadata",
    ),
    (
        "public-client-credentials",
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        "invalid_client_metadata",
    ),
    (
        "unknown-auth-method",
        {"token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
    ),
    ("unknown-field", {"no_such_field": 1}, "invalid_client_metadata"),
    ("grant-types-string", {"grant_types": "client_credentials"}, "invalid_client_metadata"),
    ("grant-types-numbers", {"grant_types": [1, 2]}, "invalid_client_metadata"),
    ("empty-grant-type", {"grant_types": [""]}, "invalid_client_metadata"),
    ("name-number", {"client_name": 5}, "invalid_client_metadata"),
    ("scope-list", {"scope": ["openid"]}, "invalid_client_metadata"),
    ("scope-bad-char", {"scope": 'openid "quoted"'}, "invalid_client_metadata"),
    ("skip-consent-string", {"skip_consent": "yes"}, "invalid_client_metadata"),
    ("metadata-array", {"metadata": [1, 2]}, "invalid_client_metadata"),
    ("client-id-number", {"client_id": 42}, "invalid_client_metadata"),
    ("client-id-slash", {"client_id": "a/b"}, "invalid_client_metadata"),
    ("client-id-too-long", {"client_id": "x" * 256}, "invalid_client_metadata"),
    ("short-secret", {"client_secret": "abc"}, "invalid_client_metadata"),
    ("secret-number", {"client_secret": 123456}, "invalid_client_metadata"),
    ("pairwise", {"subject_type": "pairwise"}, "invalid_client_metadata"),
    (
        "cors-with-path",
        {"allowed_cors_origins": ["https://app.example/path"]},
        "invalid_client_metadata",
    ),
    ("policy-uri-ftp", {"policy_uri": "ftp://app.example/policy"}, "invalid_client_metadata"),
    ("strategy", {"access_token_strategy": "magic"}, "invalid_client_metadata"),
    (
        "bad-lifespan",
        {"client_credentials_grant_access_token_lifespan": "soon"},
        "invalid_client_metadata",
    ),
    ("secret-expiry-negative", {"client_secret_expires_at": -1}, "invalid_client_metadata"),
    (
        "jwks-uri-plain-http",
        {"jwks_uri": "http://app.example/jwks.json"},
        "invalid_client_metadata",
    ),
    (
        "jwks-private-key",
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0LWtleS1tYXRlcmlhbA"}]}},
        "invalid_client_metadata",
    ),
    (
        "private-key-jwt-without-keys",
        {"token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
    ),
    (
        "redirect-with-userinfo",
        {"redirect_uris": ["https://good.example@evil.example/cb"]},
        "invalid_redirect_uri",
    ),
    ("signed-userinfo", {"userinfo_signed_response_alg": "RS256"}, "invalid_client_metadata"),
]


@pytest.mark.parametrize(
    ("body", "error"),
    [pytest.param(body, error, id=name) for name, body, error in INVALID_BODIES],
)
def test_invalid_client_metadata_is_refused(server, body, error):
    name = f"invalid-{uid()}"
    response = admin(server, "POST", "/admin/clients", json={"client_name": name, **body})
    assert_error(response, 400, error)
    # Nothing was stored.
    listed = admin(server, "GET", "/admin/clients", params={"client_name": name})
    assert listed.json() == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(body, error, id=name)
        for name, body, error in INVALID_BODIES
        if name in ("unknown-grant-type", "fragment", "public-with-secret", "unknown-field")
    ],
)
def test_invalid_metadata_is_refused_on_put(server, create_client, body, error):
    client = create_client(client_name="put intact")
    response = admin(server, "PUT", f"/admin/clients/{client.client_id}", json=body)
    assert_error(response, 400, error)
    assert get_client(server, client.client_id).json()["client_name"] == "put intact"


# -- malformed requests ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"", b"   ", b"[]", b"[{}]", b"null", b'"a string"', b"42", b"\xff\xfe"],
    ids=[
        "invalid",
        "empty",
        "blank",
        "array",
        "array-of-objects",
        "null",
        "string",
        "number",
        "bytes",
    ],
)
def test_malformed_create_bodies_are_invalid_requests(server, data):
    response = admin(
        server,
        "POST",
        "/admin/clients",
        data=data,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_malformed_update_bodies_are_invalid_requests(server, create_client, method):
    client = create_client()
    for data in (b"{oops", b""):
        response = admin(
            server,
            method,
            f"/admin/clients/{client.client_id}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "invalid_request")


def test_body_over_one_mebibyte_is_too_large(server):
    name = f"huge-{uid()}"
    data = json.dumps({"client_name": name, "metadata": {"blob": "x" * (1024 * 1024)}})
    response = admin(
        server,
        "POST",
        "/admin/clients",
        data=data.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, "invalid_request")
    assert admin(server, "GET", "/admin/clients", params={"client_name": name}).json() == []


@pytest.mark.parametrize("path", ["/admin/nope", "/nope", "/admin/clients/a/b/c", "/admin/x/"])
def test_unknown_paths_are_json_not_found(server, path):
    assert_error(admin(server, "GET", path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/admin/clients", {"GET", "POST"}),
        ("PUT", "/admin/clients", {"GET", "POST"}),
        ("POST", "/admin/clients/some-id", {"GET", "PUT", "PATCH", "DELETE"}),
        ("GET", "/admin/clients/some-id/lifespans", {"PUT"}),
        ("GET", "/admin/oauth2/introspect", {"POST"}),
    ],
)
def test_wrong_method_is_405_with_allow(server, method, path, allowed):
    response = admin(server, method, path)
    assert_error(response, 405)
    allow = {item.strip() for item in response.headers["Allow"].split(",")}
    assert allowed <= allow
    assert method not in allow


# -- unprefixed paths and health -------------------------------------------------------


def test_client_routes_answer_without_the_admin_prefix(server):
    name = f"unprefixed-{uid()}"
    response = admin(
        server,
        "POST",
        "/clients",
        json={"client_name": name, "grant_types": ["client_credentials"]},
    )
    assert response.status_code == 201, response.text
    client_id = response.json()["client_id"]
    assert urlsplit(response.headers["Location"]).path == f"/clients/{client_id}"

    assert admin(server, "GET", f"/clients/{client_id}").json()["client_name"] == name
    assert get_client(server, client_id).json()["client_name"] == name
    listed = admin(server, "GET", "/clients", params={"client_name": name})
    assert [item["client_id"] for item in listed.json()] == [client_id]
    assert "first" in links(listed)

    patched = admin(
        server,
        "PATCH",
        f"/clients/{client_id}",
        json=[{"op": "replace", "path": "/client_name", "value": name + "-2"}],
    )
    assert patched.status_code == 200
    assert admin(server, "DELETE", f"/clients/{client_id}").status_code == 204
    assert_error(admin(server, "GET", f"/clients/{client_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/health/alive", "/health/ready", "/admin/health/alive", "/admin/health/ready"]
)
def test_health_endpoints(server, path):
    response = admin(server, "GET", path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/version", "/admin/version"])
def test_version_endpoints(server, path):
    response = admin(server, "GET", path)
    assert response.status_code == 200
    version = response.json()["version"]
    assert isinstance(version, str) and version


# -- CLI -------------------------------------------------------------------------------


def test_cli_get_client(server, create_client):
    client = create_client(client_name="cli get", audience=["a", "b"])
    result = server.cli("get", "oauth2-client", client.client_id)
    assert result.returncode == 0, result.stderr
    rows = single_table(result.stdout)
    assert rows["CLIENT ID"] == client.client_id
    assert rows["CLIENT SECRET"] == ""
    assert rows["GRANT TYPES"] == "client_credentials"
    assert rows["AUDIENCE"] == "a,b"

    as_json = server.cli("get", "oauth2-client", client.client_id, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["client_id"] == client.client_id
    assert document["client_name"] == "cli get"
    assert "client_secret" not in document


def test_cli_get_unknown_client_fails(server):
    result = server.cli("get", "oauth2-client", f"missing-{uid()}")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not_found" in lines[0]


def test_cli_list_clients_as_json(server, create_client):
    create_client()
    create_client()
    result = server.cli("list", "oauth2-clients", "--format", "json", "--page-size", "1")
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout)
    assert set(first) == {"items", "next_page_token", "is_last_page"}
    assert len(first["items"]) == 1
    assert "client_secret" not in first["items"][0]
    assert isinstance(first["next_page_token"], str) and first["next_page_token"]
    assert first["is_last_page"] is False

    second = server.cli(
        "list", "oauth2-clients", "--format", "json", "--page-size", "1",
        "--page-token", first["next_page_token"],
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    page = json.loads(second.stdout)
    assert len(page["items"]) == 1
    assert page["items"][0]["client_id"] != first["items"][0]["client_id"]

    everything = server.cli("list", "oauth2-clients", "--format", "json", "--page-size", "500")
    assert everything.returncode == 0, everything.stderr
    document = json.loads(everything.stdout)
    assert isinstance(document["items"], list) and len(document["items"]) >= 2
    assert isinstance(document["is_last_page"], bool)


def test_cli_update_client_name(server, create_client):
    client = create_client(client_name="before cli update")
    name = f"after-{uid()}"
    result = server.cli("update", "oauth2-client", client.client_id, "--name", name)
    assert result.returncode == 0, result.stderr
    rows = single_table(result.stdout)
    assert rows["CLIENT ID"] == client.client_id
    assert rows["CLIENT SECRET"] == ""
    assert rows["GRANT TYPES"] == "client_credentials"
    stored = get_client(server, client.client_id).json()
    assert stored["client_name"] == name
    assert stored["grant_types"] == ["client_credentials"]  # a patch, not a replacement
    assert_token_works(server, client.client_id, client.client_secret)


def test_cli_delete_client(server, create_client):
    client = create_client()
    result = server.cli("delete", "oauth2-client", client.client_id)
    assert result.returncode == 0, result.stderr
    assert client.client_id in result.stdout
    assert_error(get_client(server, client.client_id), 404, "not_found")


def test_cli_delete_unknown_client_fails_with_one_line(server):
    result = server.cli("delete", "oauth2-client", f"nonexistent-{uid()}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "not_found" in lines[0]


def test_cli_import_clients_from_a_file(server, tmp_path):
    ids = [f"imported-{uid()}", f"imported-{uid()}"]
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            [
                {"client_id": ids[0], "grant_types": ["client_credentials"]},
                {
                    "client_id": ids[1],
                    "client_secret": "imported-secret",
                    "grant_types": ["client_credentials"],
                },
            ]
        )
    )
    result = server.cli("import", "oauth2-client", str(path))
    assert result.returncode == 0, result.stderr
    header, rows = multi_table(result.stdout)
    assert header[:2] == ["CLIENT ID", "CLIENT SECRET"]
    assert [row[0] for row in rows] == ids
    secrets = {row[0]: row[1] for row in rows}
    assert secrets[ids[1]] == "imported-secret"
    assert len(secrets[ids[0]]) >= 26

    for client_id in ids:
        assert get_client(server, client_id).status_code == 200
    assert_token_works(server, ids[0], secrets[ids[0]])
    assert_token_works(server, ids[1], "imported-secret")


def test_cli_import_clients_from_stdin(server):
    ids = [f"stdin-{uid()}", f"stdin-{uid()}"]
    documents = [{"client_id": client_id, "client_name": "from stdin"} for client_id in ids]
    result = server.cli("import", "oauth2-client", "--format", "json", input=json.dumps(documents))
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert [item["client_id"] for item in created] == ids
    assert all(item["client_secret"] for item in created)
    for client_id in ids:
        assert get_client(server, client_id).json()["client_name"] == "from stdin"

    single_id = f"stdin-{uid()}"
    single = server.cli(
        "import", "oauth2-client", "--format", "json", input=json.dumps({"client_id": single_id})
    )
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["client_id"] == single_id


def test_cli_create_client_with_list_and_json_flags(server):
    result = server.cli(
        "create", "oauth2-client", "--format", "json",
        "--metadata", '{"a":1}',
        "--audience", "a,b", "--audience", "c",
        "--scope", "openid,offline",
        "--grant-type", "client_credentials",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["metadata"] == {"a": 1}
    assert created["audience"] == ["a", "b", "c"]
    assert created["scope"] == "openid offline"
    assert created["client_secret"]
    stored = get_client(server, created["client_id"]).json()
    assert stored["metadata"] == {"a": 1}
    assert stored["audience"] == ["a", "b", "c"]
    assert stored["scope"] == "openid offline"
    assert_token_works(server, created["client_id"], created["client_secret"])
