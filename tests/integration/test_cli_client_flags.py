"""``create|update oauth2-client`` flags for keys, subjects, CORS and request objects, run
as a user runs them (the real CLI against a real server, on each backend): what each flag
stores, that a client made with them works, and that bad values end in one clean line."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.conftest import run_cli
from tests.quiet_server import QuietHTTPServer

TIMEOUT = 10
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWKS_URI = "https://keys.example/jwks.json"
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)
PUBLIC_JWKS = {"keys": [EC.as_dict(private=False)]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def created(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored(server, client_id: str) -> dict:
    response = requests.get(f"{server.admin_url}/admin/clients/{client_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def assert_one_line_error(result, status: int, *words: str) -> str:
    """The CLI's failure contract: nothing on stdout, one ``authserver:`` line on stderr."""
    assert result.returncode == status, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("authserver: ")
    for word in words:
        assert word in lines[0]
    return lines[0]


def es256_token(server, client_id: str) -> requests.Response:
    """client_credentials with a private_key_jwt assertion (RFC 7523 §2.2)."""
    token_url = server.public_url + "/oauth2/token"
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode({"alg": "ES256", "kid": EC.kid}, claims, EC, algorithms=["ES256"])
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return requests.post(token_url, data=data, timeout=TIMEOUT)


# -- creating -------------------------------------------------------------------------------


def test_create_private_key_jwt_client_with_a_jwks_uri(server):
    client_id = unique("pkjwt")
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json", "--id", client_id,
            "--grant-type", "client_credentials", "--grant-type", JWT_BEARER,
            "--token-endpoint-auth-method", "private_key_jwt",
            "--token-endpoint-auth-signing-alg", "ES256",
            "--jwks-uri", JWKS_URI,
            "--allowed-cors-origin", "https://app.example",
            "--allowed-cors-origin", "https://admin.example:8443",
            "--request-object-signing-alg", "RS256",
            "--subject-type", "public",
        )
    )  # fmt: skip
    assert "client_secret" not in client  # the client proves itself with its keys
    document = stored(server, client_id)
    for shown in (client, document):
        assert shown["token_endpoint_auth_method"] == "private_key_jwt"
        assert shown["token_endpoint_auth_signing_alg"] == "ES256"
        assert shown["jwks_uri"] == JWKS_URI
        assert shown["jwks"] == {}
        assert shown["grant_types"] == ["client_credentials", JWT_BEARER]
        assert shown["allowed_cors_origins"] == [
            "https://app.example",
            "https://admin.example:8443",
        ]
        assert shown["request_object_signing_alg"] == "RS256"
        assert shown["subject_type"] == "public"


def test_create_private_key_jwt_client_with_inline_keys_gets_a_token(server):
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json",
            "--grant-type", "client_credentials",
            "--token-endpoint-auth-method", "private_key_jwt",
            "--token-endpoint-auth-signing-alg", "ES256",
            "--jwks", json.dumps(PUBLIC_JWKS),
        )
    )  # fmt: skip
    assert stored(server, client["client_id"])["jwks"] == PUBLIC_JWKS
    response = es256_token(server, client["client_id"])
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_create_pairwise_client_on_a_server_without_pairwise_fails_cleanly(server):
    client_id = unique("pairwise")
    result = server.cli(
        "create", "oauth2-client", "--id", client_id,
        "--subject-type", "pairwise", "--redirect-uri", "https://app.example/cb",
    )  # fmt: skip
    assert_one_line_error(result, 1, "invalid_client_metadata", "subject_type", "HTTP 400")
    response = requests.get(f"{server.admin_url}/admin/clients/{client_id}", timeout=TIMEOUT)
    assert response.status_code == 404


SECTOR_URIS = ["https://web.example/cb", "https://mobile.example/cb"]


@pytest.fixture
def sector_site():
    """Serves ``/uris.json``: the sector identifier document of ``SECTOR_URIS``."""
    body = json.dumps(SECTOR_URIS).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path == "/uris.json" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_create_and_update_pairwise_clients_on_a_server_offering_them(
    backend, server_factory, sector_site
):
    # --dev: the sector document is on 127.0.0.1, which the server fetches only in --dev.
    server = server_factory(
        backend,
        env={
            "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES": "public,pairwise",
            "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT": "a-salt-for-cli-tests",
        },
        args=("--dev",),
    )
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json",
            "--subject-type", "pairwise",
            "--redirect-uri", ",".join(SECTOR_URIS),
            "--sector-identifier-uri", sector_site + "/uris.json",
        )
    )  # fmt: skip
    document = stored(server, client["client_id"])
    assert document["subject_type"] == "pairwise"
    assert document["sector_identifier_uri"] == sector_site + "/uris.json"

    # A redirect URI the sector document does not list is refused, and nothing changes.
    result = server.cli(
        "update", "oauth2-client", client["client_id"],
        "--redirect-uri", "https://elsewhere.example/cb",
    )  # fmt: skip
    assert_one_line_error(result, 1, "invalid_client_metadata", "HTTP 400")
    assert stored(server, client["client_id"]) == document

    result = server.cli(
        "update", "oauth2-client", client["client_id"], "--format", "json",
        "--subject-type", "public", "--sector-identifier-uri", "",
    )  # fmt: skip
    updated = created(result)
    assert updated["subject_type"] == "public"
    assert updated["sector_identifier_uri"] == ""
    assert updated["redirect_uris"] == SECTOR_URIS


# -- updating -------------------------------------------------------------------------------


def test_update_turns_a_secret_client_into_a_key_client_and_back(server):
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json", "--name", "cli flags",
            "--grant-type", "client_credentials",
            "--allowed-cors-origin", "https://old.example",
        )
    )  # fmt: skip
    client_id = client["client_id"]

    changed = created(
        server.cli(
            "update", "oauth2-client", client_id, "--format", "json",
            "--token-endpoint-auth-method", "private_key_jwt",
            "--token-endpoint-auth-signing-alg", "ES256",
            "--jwks-uri", JWKS_URI,
            "--grant-type", f"client_credentials,{JWT_BEARER}",
            "--allowed-cors-origin", "https://one.example,https://two.example",
            "--request-object-signing-alg", "ES256",
        )
    )  # fmt: skip
    document = stored(server, client_id)
    for shown in (changed, document):
        assert shown["token_endpoint_auth_method"] == "private_key_jwt"
        assert shown["token_endpoint_auth_signing_alg"] == "ES256"
        assert shown["jwks_uri"] == JWKS_URI
        assert shown["grant_types"] == ["client_credentials", JWT_BEARER]
        assert shown["allowed_cors_origins"] == ["https://one.example", "https://two.example"]
        assert shown["request_object_signing_alg"] == "ES256"
        assert shown["client_name"] == "cli flags"  # a patch: the rest is kept

    # From a key URL to inline keys: the URL is cleared with an empty value.
    created(
        server.cli(
            "update", "oauth2-client", client_id, "--format", "json",
            "--jwks-uri", "", "--jwks", json.dumps(PUBLIC_JWKS),
        )
    )  # fmt: skip
    document = stored(server, client_id)
    assert document["jwks_uri"] == ""
    assert document["jwks"] == PUBLIC_JWKS
    response = es256_token(server, client_id)
    assert response.status_code == 200, response.text

    # Back to a secret: the new secret is shown once.
    back = created(
        server.cli(
            "update", "oauth2-client", client_id, "--format", "json",
            "--token-endpoint-auth-method", "client_secret_post",
            "--token-endpoint-auth-signing-alg", "",
            "--jwks", '{"keys": []}',
            "--secret", "a-new-secret-for-this-client",
        )
    )  # fmt: skip
    assert back["client_secret"] == "a-new-secret-for-this-client"
    assert back["token_endpoint_auth_method"] == "client_secret_post"
    assert back["jwks"] == {}


# -- bad values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (
            ("--token-endpoint-auth-method", "private_key_jwt",
             "--jwks-uri", "http://keys.example/jwks.json"),
            ("invalid_client_metadata", "jwks_uri", "https"),
        ),
        (
            ("--token-endpoint-auth-method", "private_key_jwt"),
            ("invalid_client_metadata", "jwks"),
        ),
        (
            ("--token-endpoint-auth-method", "private_key_jwt", "--jwks-uri", JWKS_URI,
             "--token-endpoint-auth-signing-alg", "HS256"),
            ("invalid_client_metadata", "token_endpoint_auth_signing_alg"),
        ),
        (
            ("--jwks", json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
             "--token-endpoint-auth-method", "private_key_jwt"),
            ("invalid_client_metadata", "jwks"),
        ),
        (("--allowed-cors-origin", "https://app.example/path"), ("allowed_cors_origins",)),
        (("--grant-type", "urn:example:unknown"), ("invalid_client_metadata", "grant_types")),
        (("--request-uri", "https://app.example/request.jwt"), ("request_uris", "not supported")),
        (("--request-object-signing-alg", "none"), ("request_object_signing_alg",)),
        (("--sector-identifier-uri", "http://sector.example/u.json"), ("sector_identifier_uri",)),
    ],
)  # fmt: skip
def test_values_the_server_refuses_end_in_one_line(server, flags, words):
    client_id = unique("refused")
    result = server.cli("create", "oauth2-client", "--id", client_id, *flags)
    assert_one_line_error(result, 1, "HTTP 400", *words)
    response = requests.get(f"{server.admin_url}/admin/clients/{client_id}", timeout=TIMEOUT)
    assert response.status_code == 404


def test_an_update_the_server_refuses_changes_nothing(server):
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json", "--grant-type", "client_credentials"
        )
    )
    before = stored(server, client["client_id"])
    for flags, field in (
        (("--jwks-uri", "http://keys.example/jwks.json"), "jwks_uri"),
        (("--request-uri", "https://app.example/request.jwt"), "request_uris"),
        (("--token-endpoint-auth-method", "private_key_jwt"), "jwks"),
    ):
        result = server.cli("update", "oauth2-client", client["client_id"], *flags)
        assert_one_line_error(result, 1, "invalid_client_metadata", field)
    assert stored(server, client["client_id"]) == before


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--token-endpoint-auth-method", "client_secret_magic"),
         ("--token-endpoint-auth-method", "client_secret_magic")),
        (("--subject-type", "secret"), ("--subject-type",)),
        (("--jwks", "not json"), ("--jwks", "JSON object")),
        (("--jwks", "[]"), ("--jwks", "JSON object")),
    ],
)  # fmt: skip
def test_values_the_cli_refuses_are_usage_errors(flags, words):
    # Refused before any request: no server is needed (nothing listens on the endpoint).
    for command in (("create", "oauth2-client"), ("update", "oauth2-client", "some-client")):
        result = run_cli(*command, *flags, "--endpoint", "http://127.0.0.1:9")
        assert_one_line_error(result, 2, *words)


def test_help_names_the_flags():
    for command in ("create", "update"):
        result = run_cli(command, "oauth2-client", "--help")
        assert result.returncode == 0, result.stderr
        for flag in (
            "--jwks-uri",
            "--jwks ",
            "--token-endpoint-auth-signing-alg",
            "--sector-identifier-uri",
            "--request-object-signing-alg",
            "--request-uri",
            "private_key_jwt",
            "pairwise",
            "--require-pushed-authorization-requests",
            "--dpop-bound-access-tokens",
        ):
            assert flag in result.stdout


def test_modern_oauth_flags_set_the_client_fields(server):
    client = created(
        server.cli(
            "create", "oauth2-client", "--format", "json",
            "--grant-type", "client_credentials",
            "--grant-type", "urn:ietf:params:oauth:grant-type:token-exchange",
            "--require-pushed-authorization-requests",
            "--dpop-bound-access-tokens",
        )
    )  # fmt: skip
    shown = stored(server, client["client_id"])
    assert shown["require_pushed_authorization_requests"] is True
    assert shown["dpop_bound_access_tokens"] is True
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in shown["grant_types"]
