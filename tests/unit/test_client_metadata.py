"""OAuth2 client metadata validation (Hydra's oAuth2Client model, RFC 7591 errors)."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authserver.domain.clients import (
    DEFAULT_SCOPE,
    Client,
    InvalidClientMetadata,
    InvalidRedirectUri,
    validate_client_document,
)

METADATA = "invalid_client_metadata"
REDIRECT = "invalid_redirect_uri"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# Real keys, made once.
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa"})
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec"})
OKP_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "ed"})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SecurityWarning)  # weak on purpose
    WEAK_RSA_KEY = RSAKey.generate_key(1024, parameters={"kid": "weak"})
JWKS = {"keys": [key.as_dict(private=False) for key in (RSA_KEY, EC_KEY, OKP_KEY)]}
EC_PUBLIC = EC_KEY.as_dict(private=False)
EC_NO_KID = {name: value for name, value in EC_PUBLIC.items() if name != "kid"}


def test_defaults():
    validated = validate_client_document({})
    client = validated.client
    assert client.grant_types == ("authorization_code",)
    assert client.response_types == ("code",)
    assert client.scope == "offline_access offline openid" == DEFAULT_SCOPE
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert str(uuid.UUID(client.client_id)) == client.client_id
    assert validated.secret is not None
    assert len(validated.secret) >= 26
    assert client.subject_type == "public"
    assert client.userinfo_signed_response_alg == "none"
    assert client.redirect_uris == ()
    assert client.skip_consent is False
    assert client.metadata == {}
    assert client.is_public is False


def test_generated_ids_and_secrets_are_unique():
    first = validate_client_document({})
    second = validate_client_document({})
    assert first.client.client_id != second.client.client_id
    assert first.secret != second.secret


BAD_DOCUMENTS = [
    # grant types
    pytest.param({"grant_types": ["magic"]}, METADATA, id="unknown-grant-type"),
    pytest.param({"grant_types": ["implicit"]}, METADATA, id="implicit-grant"),
    pytest.param({"grant_types": ["password"]}, METADATA, id="password-grant"),
    pytest.param(
        {"grant_types": ["authorization_code", "implicit"]}, METADATA, id="implicit-among-others"
    ),
    pytest.param({"response_types": ["code", "magic"]}, METADATA, id="unknown-response-type"),
    # redirect URIs
    pytest.param({"redirect_uris": ["https://app.example/cb#frag"]}, REDIRECT, id="fragment"),
    pytest.param({"redirect_uris": ["https://app.example/cb#"]}, REDIRECT, id="empty-fragment"),
    pytest.param({"redirect_uris": ["/callback"]}, REDIRECT, id="relative-path"),
    pytest.param({"redirect_uris": ["app.example/cb"]}, REDIRECT, id="no-scheme"),
    pytest.param({"redirect_uris": ["https:///cb"]}, REDIRECT, id="https-without-host"),
    pytest.param({"redirect_uris": ["https://app.example/c b"]}, REDIRECT, id="whitespace"),
    pytest.param(
        {"redirect_uris": ["https://trusted.example@evil.example/cb"]}, REDIRECT, id="userinfo"
    ),
    pytest.param(
        {"redirect_uris": ["https://user:password@app.example/cb"]},
        REDIRECT,
        id="userinfo-with-password",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://u@app.example/bye"],
        },
        REDIRECT,
        id="post-logout-userinfo",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://other.example/logout"],
        },
        REDIRECT,
        id="post-logout-other-host",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["http://app.example/logout"],
        },
        REDIRECT,
        id="post-logout-other-scheme",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example:8443/logout"],
        },
        REDIRECT,
        id="post-logout-other-port",
    ),
    pytest.param(
        {"post_logout_redirect_uris": ["https://app.example/logout"]},
        REDIRECT,
        id="post-logout-without-redirect-uris",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example/logout#x"],
        },
        REDIRECT,
        id="post-logout-fragment",
    ),
    pytest.param({"frontchannel_logout_uri": "/logout"}, METADATA, id="relative-frontchannel"),
    # secrets and public clients
    pytest.param(
        {"token_endpoint_auth_method": "none", "client_secret": "some-secret"},
        METADATA,
        id="public-client-with-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        METADATA,
        id="public-client-credentials",
    ),
    pytest.param({"client_secret": "12345"}, METADATA, id="secret-too-short"),
    pytest.param({"client_secret": "  abc  "}, METADATA, id="secret-short-after-strip"),
    # private_key_jwt and client_secret_jwt
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt"}, METADATA, id="private-key-jwt-no-keys"
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}},
        METADATA,
        id="private-key-jwt-empty-jwks",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
            "client_secret": "a-secret-long-enough-for-anything-0123456789",
        },
        METADATA,
        id="private-key-jwt-with-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt", "client_secret": "s" * 31},
        METADATA,
        id="client-secret-jwt-short-secret",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
            "token_endpoint_auth_signing_alg": "HS256",
        },
        METADATA,
        id="private-key-jwt-symmetric-alg",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
        },
        METADATA,
        id="client-secret-jwt-asymmetric-alg",
    ),
    pytest.param({"token_endpoint_auth_signing_alg": "none"}, METADATA, id="auth-alg-none"),
    pytest.param({"token_endpoint_auth_signing_alg": "HS1024"}, METADATA, id="auth-alg-unknown"),
    # jwks (public signing keys only)
    pytest.param(
        {"jwks": {"keys": [RSA_KEY.as_dict(private=True)]}}, METADATA, id="jwks-private-rsa"
    ),
    pytest.param(
        {"jwks": {"keys": [EC_KEY.as_dict(private=True)]}}, METADATA, id="jwks-private-ec"
    ),
    pytest.param(
        {"jwks": {"keys": [OKP_KEY.as_dict(private=True)]}}, METADATA, id="jwks-private-okp"
    ),
    pytest.param(
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}},
        METADATA,
        id="jwks-symmetric",
    ),
    pytest.param(
        {"jwks": {"keys": [WEAK_RSA_KEY.as_dict(private=False)]}}, METADATA, id="jwks-rsa-1024"
    ),
    pytest.param(
        {"jwks": {"keys": [EC_PUBLIC, {**OKP_KEY.as_dict(private=False), "kid": "ec"}]}},
        METADATA,
        id="jwks-duplicate-kid",
    ),
    pytest.param({"jwks": {"keys": [EC_NO_KID] * 21}}, METADATA, id="jwks-21-keys"),
    pytest.param({"jwks": [EC_PUBLIC]}, METADATA, id="jwks-array"),
    pytest.param({"jwks": "keys"}, METADATA, id="jwks-string"),
    pytest.param({"jwks": 0}, METADATA, id="jwks-zero"),
    pytest.param({"jwks": {"keys": [EC_PUBLIC, "x"]}}, METADATA, id="jwks-key-not-object"),
    pytest.param({"jwks": {"keys": [{**EC_PUBLIC, "use": "enc"}]}}, METADATA, id="jwks-enc-key"),
    pytest.param(
        {"jwks": {"keys": [EC_PUBLIC]}, "jwks_uri": "https://app.example/jwks"},
        METADATA,
        id="jwks-and-jwks-uri",
    ),
    # URLs the server fetches: https, or http to a loopback host
    pytest.param({"jwks_uri": "http://app.example/jwks"}, METADATA, id="jwks-uri-http"),
    pytest.param({"jwks_uri": "https://app.example/jwks#x"}, METADATA, id="jwks-uri-fragment"),
    pytest.param({"jwks_uri": "https://u@app.example/jwks"}, METADATA, id="jwks-uri-userinfo"),
    pytest.param({"jwks_uri": "https://caf\u00e9.example/jwks"}, METADATA, id="jwks-uri-non-ascii"),
    pytest.param({"jwks_uri": "/jwks"}, METADATA, id="jwks-uri-relative"),
    pytest.param({"jwks_uri": 5}, METADATA, id="jwks-uri-number"),
    pytest.param(
        {"sector_identifier_uri": "http://app.example/s"}, METADATA, id="sector-identifier-http"
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/s#x"},
        METADATA,
        id="sector-identifier-fragment",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://u:p@app.example/s"},
        METADATA,
        id="sector-identifier-userinfo",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/\u00e9"},
        METADATA,
        id="sector-identifier-non-ascii",
    ),
    # unknown fields and wrong types
    pytest.param({"colour": "blue"}, METADATA, id="unknown-field"),
    pytest.param({"lifespans": {}}, METADATA, id="internal-field-name"),
    pytest.param({"grant_types": "client_credentials"}, METADATA, id="grant-types-string"),
    pytest.param({"grant_types": [1]}, METADATA, id="grant-types-number-item"),
    pytest.param({"redirect_uris": "https://app.example/cb"}, METADATA, id="redirect-uris-string"),
    pytest.param({"redirect_uris": [""]}, METADATA, id="redirect-uris-empty-item"),
    pytest.param({"audience": [None]}, METADATA, id="audience-null-item"),
    pytest.param({"skip_consent": "yes"}, METADATA, id="skip-consent-string"),
    pytest.param({"skip_consent": 1}, METADATA, id="skip-consent-number"),
    pytest.param({"metadata": ["a", "b"]}, METADATA, id="metadata-list"),
    pytest.param({"metadata": "text"}, METADATA, id="metadata-string"),
    pytest.param({"scope": 5}, METADATA, id="scope-number"),
    pytest.param({"scope": ["openid"]}, METADATA, id="scope-list"),
    pytest.param({"client_name": 7}, METADATA, id="client-name-number"),
    pytest.param({"client_id": 123}, METADATA, id="client-id-number"),
    pytest.param({"client_secret_expires_at": -1}, METADATA, id="expires-negative"),
    pytest.param({"client_secret_expires_at": "never"}, METADATA, id="expires-string"),
    pytest.param({"client_secret_expires_at": True}, METADATA, id="expires-bool"),
    # scope tokens (RFC 6749 A.4: no quote, no backslash, no control characters)
    pytest.param({"scope": 'openid "email"'}, METADATA, id="scope-quote"),
    pytest.param({"scope": "openid back\\slash"}, METADATA, id="scope-backslash"),
    pytest.param({"scope": "openid caf\u00e9"}, METADATA, id="scope-non-ascii"),
    pytest.param({"scope": "openid a\x01b"}, METADATA, id="scope-control-char"),
    # unsupported features
    pytest.param({"subject_type": "magic"}, METADATA, id="unknown-subject-type"),
    pytest.param({"access_token_strategy": "macaroon"}, METADATA, id="unknown-strategy"),
    pytest.param({"request_uris": ["https://app.example/r"]}, METADATA, id="request-uris"),
    pytest.param({"userinfo_signed_response_alg": "RS256"}, METADATA, id="signed-userinfo"),
    pytest.param(
        {"request_object_signing_alg": "HS1024"}, METADATA, id="unknown-request-object-alg"
    ),
    # CORS origins
    pytest.param(
        {"allowed_cors_origins": ["https://app.example/path"]}, METADATA, id="cors-with-path"
    ),
    pytest.param({"allowed_cors_origins": ["https://app.example?x=1"]}, METADATA, id="cors-query"),
    pytest.param({"allowed_cors_origins": ["ftp://app.example"]}, METADATA, id="cors-scheme"),
    pytest.param({"allowed_cors_origins": ["app.example"]}, METADATA, id="cors-no-scheme"),
    pytest.param(
        {"allowed_cors_origins": ["https://user@app.example"]}, METADATA, id="cors-userinfo"
    ),
    # other URIs
    pytest.param({"logo_uri": "javascript:alert(1)"}, METADATA, id="logo-uri-javascript"),
    pytest.param({"policy_uri": "/policy"}, METADATA, id="policy-uri-relative"),
    # client ids
    pytest.param({"client_id": "a/b"}, METADATA, id="client-id-slash"),
    pytest.param({"client_id": "my client"}, METADATA, id="client-id-space"),
    pytest.param({"client_id": "tab\there"}, METADATA, id="client-id-tab"),
    pytest.param({"client_id": "caf\u00e9"}, METADATA, id="client-id-non-ascii"),
    pytest.param({"client_id": "x" * 256}, METADATA, id="client-id-too-long"),
    # lifespans
    pytest.param(
        {"client_credentials_grant_access_token_lifespan": "1x"}, METADATA, id="lifespan-bad"
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "3600"},
        METADATA,
        id="lifespan-no-unit",
    ),
    pytest.param(
        {"refresh_token_grant_refresh_token_lifespan": "-1h"}, METADATA, id="lifespan-negative"
    ),
    pytest.param({"authorization_code_grant_id_token_lifespan": "0"}, METADATA, id="lifespan-zero"),
    pytest.param(
        {"authorization_code_grant_id_token_lifespan": "100ms"}, METADATA, id="lifespan-sub-second"
    ),
    pytest.param(
        {"authorization_code_grant_id_token_lifespan": 3600}, METADATA, id="lifespan-number"
    ),
]


@pytest.mark.parametrize(("document", "error"), BAD_DOCUMENTS)
def test_bad_documents_are_refused(document, error):
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_client_document(document)
    assert caught.value.error == error
    assert isinstance(caught.value, InvalidRedirectUri) == (error == REDIRECT)


@pytest.mark.parametrize("document", [None, [], "{}", 42])
def test_body_must_be_an_object(document):
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_client_document(document)
    assert caught.value.error == METADATA


def test_invalid_client_metadata_is_a_value_error():
    with pytest.raises(ValueError):
        validate_client_document({"grant_types": ["implicit"]})


# -- valid documents -------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "com.example.app:/callback",
        "com.example.app://callback",
        "myapp:callback",
        "http://127.0.0.1:8080/callback",
        "http://localhost:3000/cb",
        "http://[::1]:8080/cb",
        "https://app.example/cb?query=1",
    ],
)
def test_valid_redirect_uris(uri):
    client = validate_client_document({"redirect_uris": [uri]}).client
    assert client.redirect_uris == (uri,)


def test_native_public_client():
    validated = validate_client_document(
        {
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["com.example.app:/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
        }
    )
    assert validated.secret is None
    assert validated.client.is_public


def test_given_secret_is_returned():
    validated = validate_client_document({"client_secret": "my-own-secret"})
    assert validated.secret == "my-own-secret"


def test_minimum_length_secret_is_accepted():
    assert validate_client_document({"client_secret": "123456"}).secret == "123456"


def test_given_client_id_is_kept():
    validated = validate_client_document({"client_id": "my-client.v1_~!"})
    assert validated.client.client_id == "my-client.v1_~!"


def test_client_id_refused_when_not_allowed():
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_client_document({"client_id": "chosen"}, allow_client_id=False)
    assert caught.value.error == METADATA


def test_update_mode_refuses_a_different_client_id():
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_client_document({"client_id": "other"}, client_id="existing")
    assert caught.value.error == METADATA


def test_update_mode_accepts_same_or_absent_client_id():
    same = validate_client_document({"client_id": "existing"}, client_id="existing")
    absent = validate_client_document({}, client_id="existing")
    assert same.client.client_id == absent.client.client_id == "existing"


def test_secret_not_required_gives_none():
    validated = validate_client_document({}, secret_required=False)
    assert validated.secret is None


def test_secret_not_required_still_returns_a_given_secret():
    validated = validate_client_document({"client_secret": "rotated-secret"}, secret_required=False)
    assert validated.secret == "rotated-secret"


def test_values_are_normalised():
    client = validate_client_document(
        {
            "scope": "  openid   offline  ",
            "grant_types": ["client_credentials", "client_credentials"],
            "allowed_cors_origins": ["https://app.example/"],
            "audience": [" https://api.example "],
            "client_name": "  My App ",
        }
    ).client
    assert client.scope == "openid offline"
    assert client.scopes == frozenset({"openid", "offline"})
    assert client.grant_types == ("client_credentials",)
    assert client.allowed_cors_origins == ("https://app.example",)
    assert client.audience == ("https://api.example",)
    assert client.client_name == "My App"


def test_response_types_in_the_2019_guide_style_are_accepted():
    client = validate_client_document({"response_types": ["code id_token", "token"]}).client
    assert client.response_types == ("code id_token", "token")


def test_empty_unsupported_fields_are_accepted():
    client = validate_client_document(
        {"jwks": {"keys": []}, "jwks_uri": "", "request_uris": [], "sector_identifier_uri": None}
    ).client
    assert client.to_json()["jwks"] == {}


def test_pairwise_subjects_when_offered():
    assert validate_client_document({"subject_type": "pairwise"}).client.subject_type == "pairwise"
    offered = validate_client_document(
        {"subject_type": "pairwise"}, subject_types=("public", "pairwise")
    )
    assert offered.client.subject_type == "pairwise"


def test_pairwise_subjects_refused_when_not_offered():
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_client_document({"subject_type": "pairwise"}, subject_types=("public",))
    assert caught.value.error == METADATA
    assert "'pairwise' is not supported" in str(caught.value)
    assert validate_client_document({}, subject_types=("public",)).client.subject_type == "public"


def test_jwt_bearer_grant_is_accepted():
    client = validate_client_document({"grant_types": [JWT_BEARER]}).client
    assert client.grant_types == (JWT_BEARER,)


@pytest.mark.parametrize(
    "document",
    [
        {"jwks": JWKS},
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": JWKS},
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://app.example/jwks",
            "token_endpoint_auth_signing_alg": "EdDSA",
        },
        {"jwks_uri": "http://127.0.0.1:8080/jwks"},
        {"jwks_uri": "http://localhost:8080/jwks"},
        {"jwks_uri": "http://[::1]/jwks"},
        {"sector_identifier_uri": "https://app.example/sector.json"},
        {"sector_identifier_uri": "http://localhost:3000/sector.json"},
        {"jwks": {"keys": [EC_NO_KID] * 20}},
    ],
    ids=[
        "jwks",
        "private-key-jwt-jwks",
        "private-key-jwt-jwks-uri",
        "jwks-uri-loopback-ip",
        "jwks-uri-localhost",
        "jwks-uri-ipv6-loopback",
        "sector-identifier",
        "sector-identifier-localhost",
        "jwks-20-keys",
    ],
)
def test_valid_keys_and_fetched_urls(document):
    client = validate_client_document(document).client
    data = client.to_json()
    for name in ("jwks", "jwks_uri", "sector_identifier_uri", "token_endpoint_auth_signing_alg"):
        if name in document:
            assert data[name] == document[name]


def test_private_key_jwt_client_has_no_secret():
    validated = validate_client_document(
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": JWKS}
    )
    assert validated.secret is None
    assert not validated.client.has_secret
    assert not validated.client.is_public
    assert validated.client.jwks == JWKS


def test_client_secret_jwt_gets_a_long_enough_secret():
    validated = validate_client_document({"token_endpoint_auth_method": "client_secret_jwt"})
    assert validated.secret is not None
    assert len(validated.secret) >= 32
    assert validated.client.has_secret
    given = validate_client_document(
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "client_secret": "s" * 32,
            "token_endpoint_auth_signing_alg": "HS384",
        }
    )
    assert given.secret == "s" * 32
    assert given.client.token_endpoint_auth_signing_alg == "HS384"


def test_server_managed_fields_are_ignored_on_input():
    client = validate_client_document(
        {"created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"}
    ).client
    assert client.created_at is None
    assert client.updated_at is None


def test_lifespans():
    client = validate_client_document(
        {"client_credentials_grant_access_token_lifespan": "2h"}
    ).client
    assert client.lifespan("client_credentials_grant_access_token_lifespan") == 7200
    assert client.lifespan("authorization_code_grant_access_token_lifespan") is None


def test_post_logout_redirect_uri_on_a_registered_origin():
    client = validate_client_document(
        {
            "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:8080/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye", "http://127.0.0.1:8080/"],
        }
    ).client
    assert client.post_logout_redirect_uris == ("https://app.example/bye", "http://127.0.0.1:8080/")


# -- serialisation ---------------------------------------------------------------------


def _rich_client() -> Client:
    return validate_client_document(
        {
            "client_id": "rich",
            "client_name": "Rich",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "scope": "openid offline",
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye"],
            "audience": ["https://api.example"],
            "skip_consent": True,
            "metadata": {"team": "x", "tags": ["a", "b"], "nested": {"n": 1}},
            "contacts": ["ops@example.com"],
            "allowed_cors_origins": ["https://app.example"],
            "access_token_strategy": "jwt",
            "authorization_code_grant_access_token_lifespan": "30m",
        }
    ).client


def test_to_json_has_no_secret_and_has_id_and_timestamps():
    created = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    client = Client.from_document(
        "rich", _rich_client().to_document(), created_at=created, updated_at=created
    )
    data = client.to_json()
    assert "client_secret" not in data
    assert data["client_id"] == "rich"
    assert "created_at" in data
    assert "updated_at" in data
    assert data["created_at"] == "2024-05-01T12:00:00Z"
    assert data["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert data["authorization_code_grant_access_token_lifespan"] == "30m"
    assert data["client_credentials_grant_access_token_lifespan"] is None
    assert "lifespans" not in data


def test_to_json_for_new_client_has_null_timestamps():
    data = validate_client_document({"client_secret": "given-secret"}).client.to_json()
    assert "client_secret" not in data
    assert "given-secret" not in str(data)
    assert data["created_at"] is None
    assert data["updated_at"] is None


def test_document_round_trip():
    client = _rich_client()
    document = client.to_document()
    assert "client_id" not in document
    assert Client.from_document(client.client_id, document) == client


def test_json_can_be_sent_back_unchanged():
    # A GET body PUT back as is must validate to the same client.
    client = _rich_client()
    again = validate_client_document(client.to_json(), client_id="rich", secret_required=False)
    assert again.client == client
    assert again.secret is None


# -- logout URIs (OIDC Front-/Back-Channel Logout): absolute http(s), no fragment, no private
# address written as such, plain http only to loopback (any host with --dev) ------------------

LOGOUT_REFUSED = [
    ("myapp://logout", "custom scheme"),
    ("ftp://app.example/logout", "ftp"),
    ("/logout", "relative"),
    ("https://app.example/logout#x", "fragment"),
    ("https://user@app.example/logout", "userinfo"),
    ("http://app.example/logout", "plain http to a name"),
    ("https://10.0.0.5/logout", "private IPv4"),
    ("https://192.168.1.2:8443/logout", "private IPv4 with port"),
    ("https://169.254.169.254/latest", "link-local (cloud metadata)"),
    ("https://[fd00::1]/logout", "unique-local IPv6"),
    ("https://0.0.0.0/logout", "unspecified"),
]
LOGOUT_ACCEPTED = [
    "https://app.example/logout",
    "http://127.0.0.1:9010/backchannel-logout",
    "http://localhost:3000/logout",
    "http://[::1]:8080/logout",
    "https://93.184.216.34/logout",
]


@pytest.mark.parametrize("field", ["backchannel_logout_uri", "frontchannel_logout_uri"])
@pytest.mark.parametrize(("uri", "why"), LOGOUT_REFUSED, ids=[why for _, why in LOGOUT_REFUSED])
def test_logout_uris_that_are_refused(field, uri, why):
    with pytest.raises(InvalidClientMetadata):
        validate_client_document({field: uri})


@pytest.mark.parametrize("field", ["backchannel_logout_uri", "frontchannel_logout_uri"])
@pytest.mark.parametrize("uri", LOGOUT_ACCEPTED)
def test_logout_uris_that_are_accepted(field, uri):
    assert getattr(validate_client_document({field: uri}).client, field) == uri


@pytest.mark.parametrize("uri", ["http://app.internal/logout", "https://10.0.0.5/logout"])
def test_dev_allows_private_and_plain_http_logout_uris(uri):
    validated = validate_client_document({"backchannel_logout_uri": uri}, private_hosts=True)
    assert validated.client.backchannel_logout_uri == uri
    with pytest.raises(InvalidClientMetadata):
        validate_client_document({"backchannel_logout_uri": "myapp://x"}, private_hosts=True)
