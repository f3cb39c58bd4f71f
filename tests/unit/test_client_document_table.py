"""``validate_client_document`` as a table: documents in, exact outcomes out.

The expected outcomes were captured by running the implementation that came before the
table of checks in ``authserver/domain/clients.py`` (issue #11), so they pin what the
admin API answers byte for byte: the error class, its RFC 7591 code and its message, or
the normalised client. ``VALUE_ORDER`` and ``TYPE_ORDER`` pin the order of the checks: a
document that breaks two of them gets the message of the one that runs first. The rows
for client keys (``jwks``, ``jwks_uri``), ``private_key_jwt`` and ``client_secret_jwt``,
pairwise subjects and ``sector_identifier_uri`` pin the messages of issue #15's checks;
the keys in them are real ones, generated once per run.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import fields
from itertools import combinations

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authserver.domain.clients import (
    LIFESPAN_FIELDS,
    Client,
    InvalidClientMetadata,
    validate_client_document,
)

GENERATED = "<generated>"  # a fresh UUID4 client_id, or a fresh 32-character secret
_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{32}")


def ok(client_id=GENERATED, secret=GENERATED, **changed):
    """A valid document: the client's id, the secret returned (None: no secret), and the
    fields whose values differ from ``Client``'s defaults."""
    return ("ok", client_id, secret, changed)


def bad(message):
    return ("bad", "InvalidClientMetadata", "invalid_client_metadata", message)


def bad_redirect(message):
    return ("bad", "InvalidRedirectUri", "invalid_redirect_uri", message)


# Real keys, made once: the public halves are what a client registers.
_RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"})
_EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
_OKP = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SecurityWarning)  # weak on purpose: it must be refused
    _RSA_1024 = RSAKey.generate_key(1024, parameters={"kid": "rsa-weak"})
RSA_PUBLIC = _RSA.as_dict(private=False)
EC_PUBLIC = _EC.as_dict(private=False)
OKP_PUBLIC = _OKP.as_dict(private=False)
EC_NO_KID = {name: value for name, value in EC_PUBLIC.items() if name != "kid"}
JWKS = {"keys": [RSA_PUBLIC, EC_PUBLIC, OKP_PUBLIC]}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_NOT_A_JWK_SET = "Field jwks must be a JWK Set: an object with a 'keys' array."
_ASYMMETRIC = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"
_NOT_HTTPS = "must use https (plain http only to a loopback host)."


def _given_or_generated(value, given, generated):
    if value is None or value in given or not generated.fullmatch(value):
        return value
    return GENERATED


def _stripped(document, name):
    value = document.get(name) if isinstance(document, dict) else None
    return value.strip() if isinstance(value, str) else None


def outcome(document, options):
    try:
        validated = validate_client_document(document, **options)
    except InvalidClientMetadata as exc:
        return ("bad", type(exc).__name__, exc.error, str(exc))
    client = validated.client
    defaults = Client(client_id=client.client_id)
    changed = {
        f.name: getattr(client, f.name)
        for f in fields(Client)
        if getattr(client, f.name) != getattr(defaults, f.name)
    }
    given_ids = {options.get("client_id"), _stripped(document, "client_id")}
    return (
        "ok",
        _given_or_generated(client.client_id, given_ids, _UUID4),
        _given_or_generated(validated.secret, {_stripped(document, "client_secret")}, _SECRET),
        changed,
    )


RICH = {
    "client_id": "rich",
    "client_name": "Rich",
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "response_types": ["code"],
    "scope": "openid offline",
    "redirect_uris": ["https://app.example/cb"],
    "post_logout_redirect_uris": ["https://app.example/bye"],
    "audience": ["https://api.example"],
    "skip_consent": True,
    "skip_logout_consent": True,
    "metadata": {"team": "x", "tags": ["a", "b"], "nested": {"n": 1}},
    "owner": "team-a",
    "policy_uri": "https://app.example/policy",
    "tos_uri": "https://app.example/tos",
    "client_uri": "https://app.example",
    "logo_uri": "https://app.example/logo.png",
    "contacts": ["ops@example.com"],
    "allowed_cors_origins": ["https://app.example"],
    "access_token_strategy": "jwt",
    "frontchannel_logout_uri": "https://app.example/front",
    "frontchannel_logout_session_required": True,
    "backchannel_logout_uri": "https://app.example/back",
    "backchannel_logout_session_required": True,
    "require_pushed_authorization_requests": True,
    "dpop_bound_access_tokens": True,
    "request_object_signing_alg": "ES256",
    "token_endpoint_auth_signing_alg": "PS384",
    "authorization_code_grant_access_token_lifespan": "30m",
    "refresh_token_grant_refresh_token_lifespan": "720h",
    "client_secret": "rich-secret",
}

# RICH as the admin API shows it once created: a GET body PUT back as is.
SENT_BACK = {
    "client_name": "Rich",
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "response_types": ["code"],
    "scope": "openid offline",
    "redirect_uris": ["https://app.example/cb"],
    "audience": ["https://api.example"],
    "token_endpoint_auth_method": "client_secret_basic",
    "skip_consent": True,
    "skip_logout_consent": True,
    "metadata": {"team": "x", "tags": ["a", "b"], "nested": {"n": 1}},
    "owner": "team-a",
    "policy_uri": "https://app.example/policy",
    "tos_uri": "https://app.example/tos",
    "client_uri": "https://app.example",
    "logo_uri": "https://app.example/logo.png",
    "contacts": ["ops@example.com"],
    "allowed_cors_origins": ["https://app.example"],
    "post_logout_redirect_uris": ["https://app.example/bye"],
    "subject_type": "public",
    "access_token_strategy": "jwt",
    "frontchannel_logout_uri": "https://app.example/front",
    "frontchannel_logout_session_required": True,
    "backchannel_logout_uri": "https://app.example/back",
    "backchannel_logout_session_required": True,
    "require_pushed_authorization_requests": True,
    "dpop_bound_access_tokens": True,
    "client_secret_expires_at": 0,
    "jwks": {},
    "jwks_uri": "",
    "sector_identifier_uri": "",
    "token_endpoint_auth_signing_alg": "PS384",
    "request_object_signing_alg": "ES256",
    "userinfo_signed_response_alg": "none",
    "authorization_code_grant_access_token_lifespan": "30m",
    "authorization_code_grant_id_token_lifespan": None,
    "authorization_code_grant_refresh_token_lifespan": None,
    "client_credentials_grant_access_token_lifespan": None,
    "implicit_grant_access_token_lifespan": None,
    "implicit_grant_id_token_lifespan": None,
    "jwt_bearer_grant_access_token_lifespan": None,
    "refresh_token_grant_access_token_lifespan": None,
    "refresh_token_grant_id_token_lifespan": None,
    "refresh_token_grant_refresh_token_lifespan": "720h",
    "client_id": "rich",
    "created_at": None,
    "updated_at": None,
    "request_uris": [],
}

# What RICH gives: the fields that differ from Client's defaults.
RICH_CLIENT = dict(
    client_name="Rich",
    grant_types=("authorization_code", "refresh_token", "client_credentials"),
    scope="openid offline",
    redirect_uris=("https://app.example/cb",),
    audience=("https://api.example",),
    skip_consent=True,
    skip_logout_consent=True,
    metadata={"team": "x", "tags": ["a", "b"], "nested": {"n": 1}},
    owner="team-a",
    policy_uri="https://app.example/policy",
    tos_uri="https://app.example/tos",
    client_uri="https://app.example",
    logo_uri="https://app.example/logo.png",
    contacts=("ops@example.com",),
    allowed_cors_origins=("https://app.example",),
    post_logout_redirect_uris=("https://app.example/bye",),
    access_token_strategy="jwt",
    frontchannel_logout_uri="https://app.example/front",
    frontchannel_logout_session_required=True,
    backchannel_logout_uri="https://app.example/back",
    backchannel_logout_session_required=True,
    token_endpoint_auth_signing_alg="PS384",
    request_object_signing_alg="ES256",
    require_pushed_authorization_requests=True,
    dpop_bound_access_tokens=True,
    lifespans={
        "authorization_code_grant_access_token_lifespan": "30m",
        "refresh_token_grant_refresh_token_lifespan": "720h",
    },
)

ROWS = [
    pytest.param(None, {}, bad("The request body must be a JSON object."), id="body-null"),
    pytest.param([], {}, bad("The request body must be a JSON object."), id="body-list"),
    pytest.param("{}", {}, bad("The request body must be a JSON object."), id="body-string"),
    pytest.param(42, {}, bad("The request body must be a JSON object."), id="body-number"),
    pytest.param(True, {}, bad("The request body must be a JSON object."), id="body-true"),
    pytest.param({}, {}, ok(), id="defaults"),
    pytest.param(
        {"client_id": "my-client.v1_~!"}, {}, ok(client_id="my-client.v1_~!"), id="id-given"
    ),
    pytest.param({"client_id": "  spaced  "}, {}, ok(client_id="spaced"), id="id-stripped"),
    pytest.param({"client_id": ""}, {}, ok(), id="id-empty"),
    pytest.param({"client_id": "   "}, {}, ok(), id="id-blank"),
    pytest.param({"client_id": None}, {}, ok(), id="id-null"),
    pytest.param({"client_id": 123}, {}, bad("Field client_id must be a string."), id="id-number"),
    pytest.param({"client_id": True}, {}, bad("Field client_id must be a string."), id="id-bool"),
    pytest.param({"client_id": ["a"]}, {}, bad("Field client_id must be a string."), id="id-list"),
    pytest.param(
        {"client_id": "a/b"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-slash",
    ),
    pytest.param(
        {"client_id": "my client"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-inner-space",
    ),
    pytest.param(
        {"client_id": "tab\there"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-tab",
    ),
    pytest.param(
        {"client_id": "caf\u00e9"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-non-ascii",
    ),
    pytest.param(
        {"client_id": "a\x00b"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-nul",
    ),
    pytest.param(
        {"client_id": "a\ud800b"},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-surrogate",
    ),
    pytest.param({"client_id": "x" * 255}, {}, ok(client_id="x" * 255), id="id-255"),
    pytest.param(
        {"client_id": "x" * 256},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-256",
    ),
    pytest.param(
        {"client_id": " " + "x" * 255}, {}, ok(client_id="x" * 255), id="id-256-after-strip-255"
    ),
    pytest.param(
        {"client_id": "."},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-dot",
    ),
    pytest.param(
        {"client_id": ".."},
        {},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-dotdot",
    ),
    pytest.param({"client_id": "..."}, {}, ok(client_id="..."), id="id-three-dots"),
    pytest.param({"client_id": "%2F"}, {}, ok(client_id="%2F"), id="id-percent"),
    pytest.param(
        {"client_id": "existing"},
        {"client_id": "existing"},
        ok(client_id="existing"),
        id="id-update-same",
    ),
    pytest.param(
        {"client_id": " existing "},
        {"client_id": "existing"},
        ok(client_id="existing"),
        id="id-update-same-stripped",
    ),
    pytest.param({}, {"client_id": "existing"}, ok(client_id="existing"), id="id-update-absent"),
    pytest.param(
        {"client_id": ""}, {"client_id": "existing"}, ok(client_id="existing"), id="id-update-empty"
    ),
    pytest.param(
        {"client_id": "other"},
        {"client_id": "existing"},
        bad("Field client_id cannot be changed."),
        id="id-update-different",
    ),
    pytest.param(
        {"client_id": 5},
        {"client_id": "existing"},
        bad("Field client_id must be a string."),
        id="id-update-number",
    ),
    pytest.param(
        {},
        {"client_id": "a b"},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-update-bad-path-id",
    ),
    pytest.param(
        {},
        {"client_id": ".."},
        bad("Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."),
        id="id-update-dotdot-path-id",
    ),
    pytest.param(
        {"client_id": "existing"},
        {"client_id": "existing", "allow_client_id": False},
        ok(client_id="existing"),
        id="id-update-ignores-allow",
    ),
    pytest.param(
        {"client_id": "chosen"},
        {"allow_client_id": False},
        bad("Field client_id cannot be set."),
        id="id-not-allowed",
    ),
    pytest.param({"client_id": ""}, {"allow_client_id": False}, ok(), id="id-not-allowed-empty"),
    pytest.param({}, {"allow_client_id": False}, ok(), id="id-not-allowed-absent"),
    pytest.param(
        {"client_id": 7},
        {"allow_client_id": False},
        bad("Field client_id must be a string."),
        id="id-not-allowed-bad-and-number",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_post"},
        {},
        ok(token_endpoint_auth_method="client_secret_post"),
        id="auth-post",
    ),
    pytest.param({"token_endpoint_auth_method": "client_secret_basic"}, {}, ok(), id="auth-basic"),
    pytest.param({"token_endpoint_auth_method": ""}, {}, ok(), id="auth-empty"),
    pytest.param(
        {"token_endpoint_auth_method": " none "},
        {},
        ok(secret=None, token_endpoint_auth_method="none"),
        id="auth-none-stripped",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "NONE"},
        {},
        bad(
            "Field token_endpoint_auth_method must be one of "
            "client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, "
            "none; got 'NONE'."
        ),
        id="auth-upper",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt"},
        {},
        bad(
            "Field jwks or jwks_uri is required when token_endpoint_auth_method is "
            "'private_key_jwt'."
        ),
        id="auth-private-key-jwt",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {},
        ok(token_endpoint_auth_method="client_secret_jwt"),  # a 32-character secret
        id="auth-client-secret-jwt",
    ),
    pytest.param(
        {"token_endpoint_auth_method": 5},
        {},
        bad("Field token_endpoint_auth_method must be a string."),
        id="auth-number",
    ),
    pytest.param(
        {"token_endpoint_auth_method": ["none"]},
        {},
        bad("Field token_endpoint_auth_method must be a string."),
        id="auth-list",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none\x00"},
        {},
        bad(
            "Field token_endpoint_auth_method must be one of "
            "client_secret_basic, client_secret_post, client_secret_jwt, "
            "private_key_jwt, none; got 'none\\x00'."
        ),
        id="auth-nul",
    ),
    pytest.param({"grant_types": []}, {}, ok(), id="grants-empty-list"),
    pytest.param(
        {"grant_types": ["refresh_token", "client_credentials", "authorization_code"]},
        {},
        ok(grant_types=("refresh_token", "client_credentials", "authorization_code")),
        id="grants-all",
    ),
    pytest.param(
        {"grant_types": ["refresh_token", " refresh_token ", "authorization_code"]},
        {},
        ok(grant_types=("refresh_token", "authorization_code")),
        id="grants-deduplicated",
    ),
    pytest.param(
        {"grant_types": ["implicit"]},
        {},
        bad(
            "Field grant_types: the implicit grant is not offered (OAuth "
            "2.0 Security BCP); use authorization_code with PKCE."
        ),
        id="grants-implicit",
    ),
    pytest.param(
        {"grant_types": ["password"]},
        {},
        bad(
            "Field grant_types: the resource owner password grant is not "
            "offered (OAuth 2.0 Security BCP)."
        ),
        id="grants-password",
    ),
    pytest.param(
        {"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]},
        {},
        ok(grant_types=("urn:ietf:params:oauth:grant-type:jwt-bearer",)),
        id="grants-jwt-bearer",
    ),
    pytest.param(
        {
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
            "token_endpoint_auth_method": "none",
        },
        {},
        ok(
            secret=None,
            grant_types=("urn:ietf:params:oauth:grant-type:device_code",),
            token_endpoint_auth_method="none",
        ),
        id="grants-device-public",
    ),
    pytest.param(
        {"grant_types": ["magic"]},
        {},
        bad(
            "Field grant_types: unknown grant type 'magic'; supported: "
            "authorization_code, refresh_token, client_credentials, "
            "urn:ietf:params:oauth:grant-type:device_code, "
            "urn:ietf:params:oauth:grant-type:jwt-bearer, "
            "urn:ietf:params:oauth:grant-type:token-exchange."
        ),
        id="grants-unknown",
    ),
    pytest.param(
        {"grant_types": ["magic", "implicit"]},
        {},
        bad(
            "Field grant_types: unknown grant type 'magic'; supported: "
            "authorization_code, refresh_token, client_credentials, "
            "urn:ietf:params:oauth:grant-type:device_code, "
            "urn:ietf:params:oauth:grant-type:jwt-bearer, "
            "urn:ietf:params:oauth:grant-type:token-exchange."
        ),
        id="grants-unknown-then-implicit",
    ),
    pytest.param(
        {"grant_types": ["implicit", "magic"]},
        {},
        bad(
            "Field grant_types: the implicit grant is not offered (OAuth "
            "2.0 Security BCP); use authorization_code with PKCE."
        ),
        id="grants-implicit-then-unknown",
    ),
    pytest.param(
        {"grant_types": ["Authorization_Code"]},
        {},
        bad(
            "Field grant_types: unknown grant type 'Authorization_Code'; "
            "supported: authorization_code, refresh_token, "
            "client_credentials, urn:ietf:params:oauth:grant-type:device_code, "
            "urn:ietf:params:oauth:grant-type:jwt-bearer, "
            "urn:ietf:params:oauth:grant-type:token-exchange."
        ),
        id="grants-case",
    ),
    pytest.param(
        {"grant_types": "client_credentials"},
        {},
        bad("Field grant_types must be an array of strings."),
        id="grants-string",
    ),
    pytest.param(
        {"grant_types": [1]},
        {},
        bad("Field grant_types must be an array of strings."),
        id="grants-number-item",
    ),
    pytest.param(
        {"grant_types": [None]},
        {},
        bad("Field grant_types must be an array of strings."),
        id="grants-null-item",
    ),
    pytest.param(
        {"grant_types": [""]},
        {},
        bad("Field grant_types must not contain empty strings."),
        id="grants-empty-item",
    ),
    pytest.param(
        {"grant_types": ["refresh_token", "  "]},
        {},
        bad("Field grant_types must not contain empty strings."),
        id="grants-blank-item",
    ),
    pytest.param(
        {"grant_types": {}},
        {},
        bad("Field grant_types must be an array of strings."),
        id="grants-object",
    ),
    pytest.param(
        {"grant_types": ["refresh\x00token"]},
        {},
        bad(
            "Field grant_types: unknown grant type 'refresh\\x00token'; "
            "supported: authorization_code, refresh_token, "
            "client_credentials, urn:ietf:params:oauth:grant-type:device_code, "
            "urn:ietf:params:oauth:grant-type:jwt-bearer, "
            "urn:ietf:params:oauth:grant-type:token-exchange."
        ),
        id="grants-nul",
    ),
    pytest.param({"response_types": []}, {}, ok(), id="responses-empty-list"),
    pytest.param(
        {"response_types": ["code id_token", "token", "id_token", "none"]},
        {},
        ok(response_types=("code id_token", "token", "id_token", "none")),
        id="responses-2019",
    ),
    pytest.param(
        {"response_types": ["token,code,id_token"]},
        {},
        bad("Field response_types: unknown response type 'token,code,id_token'."),
        id="responses-comma",
    ),
    pytest.param(
        {"response_types": ["code   id_token"]},
        {},
        ok(response_types=("code   id_token",)),
        id="responses-inner-spaces",
    ),
    pytest.param({"response_types": ["code", " code"]}, {}, ok(), id="responses-dedup"),
    pytest.param(
        {"response_types": ["code", "magic"]},
        {},
        bad("Field response_types: unknown response type 'magic'."),
        id="responses-unknown",
    ),
    pytest.param(
        {"response_types": ["code magic"]},
        {},
        bad("Field response_types: unknown response type 'code magic'."),
        id="responses-unknown-part",
    ),
    pytest.param(
        {"response_types": [" "]},
        {},
        bad("Field response_types must not contain empty strings."),
        id="responses-blank",
    ),
    pytest.param(
        {"response_types": "code"},
        {},
        bad("Field response_types must be an array of strings."),
        id="responses-string",
    ),
    pytest.param({"scope": ""}, {}, ok(), id="scope-empty"),
    pytest.param({"scope": "   "}, {}, ok(), id="scope-blank"),
    pytest.param({"scope": None}, {}, ok(), id="scope-null"),
    pytest.param(
        {"scope": "  openid   offline  "}, {}, ok(scope="openid offline"), id="scope-normalised"
    ),
    pytest.param(
        {"scope": "openid\tprofile\nemail"},
        {},
        ok(scope="openid profile email"),
        id="scope-tabs-newlines",
    ),
    pytest.param({"scope": "openid\u00a0profile"}, {}, ok(scope="openid profile"), id="scope-nbsp"),
    pytest.param(
        {"scope": "openid openid"}, {}, ok(scope="openid openid"), id="scope-duplicates-kept"
    ),
    pytest.param(
        {"scope": "!#$%&()*+,-./:;<=>?@[]^_`{|}~"},
        {},
        ok(scope="!#$%&()*+,-./:;<=>?@[]^_`{|}~"),
        id="scope-all-visible",
    ),
    pytest.param(
        {"scope": 'openid "email"'},
        {},
        bad("Field scope: '\"email\"' is not a valid scope token."),
        id="scope-quote",
    ),
    pytest.param(
        {"scope": "openid back\\slash"},
        {},
        bad("Field scope: 'back\\\\slash' is not a valid scope token."),
        id="scope-backslash",
    ),
    pytest.param(
        {"scope": "openid caf\u00e9"},
        {},
        bad("Field scope: 'café' is not a valid scope token."),
        id="scope-non-ascii",
    ),
    pytest.param(
        {"scope": "openid a\x01b"},
        {},
        bad("Field scope: 'a\\x01b' is not a valid scope token."),
        id="scope-control",
    ),
    pytest.param(
        {"scope": "a\x00b"},
        {},
        bad("Field scope: 'a\\x00b' is not a valid scope token."),
        id="scope-nul",
    ),
    pytest.param({"scope": 5}, {}, bad("Field scope must be a string."), id="scope-number"),
    pytest.param({"scope": ["openid"]}, {}, bad("Field scope must be a string."), id="scope-list"),
    pytest.param(
        {"scope": 'caf\u00e9 "x"'},
        {},
        bad("Field scope: 'café' is not a valid scope token."),
        id="scope-first-bad-token",
    ),
    pytest.param(
        {
            "redirect_uris": [
                "https://app.example/cb",
                "com.example.app:/cb",
                "http://[::1]:8080/cb",
            ]
        },
        {},
        ok(redirect_uris=("https://app.example/cb", "com.example.app:/cb", "http://[::1]:8080/cb")),
        id="redirect-good",
    ),
    pytest.param(
        {"redirect_uris": [" https://app.example/cb ", "https://app.example/cb"]},
        {},
        ok(redirect_uris=("https://app.example/cb",)),
        id="redirect-dedup-strip",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/cb?x=1&y=2"]},
        {},
        ok(redirect_uris=("https://app.example/cb?x=1&y=2",)),
        id="redirect-query",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/cb#frag"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://app.example/cb#frag' must not contain a fragment (#...)."
        ),
        id="redirect-fragment",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/cb#"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://app.example/cb#' must not contain a fragment (#...)."
        ),
        id="redirect-empty-fragment",
    ),
    pytest.param(
        {"redirect_uris": ["/callback"]},
        {},
        bad_redirect("Field redirect_uris: '/callback' is not an absolute URI."),
        id="redirect-relative",
    ),
    pytest.param(
        {"redirect_uris": ["app.example/cb"]},
        {},
        bad_redirect("Field redirect_uris: 'app.example/cb' is not an absolute URI."),
        id="redirect-no-scheme",
    ),
    pytest.param(
        {"redirect_uris": ["https:///cb"]},
        {},
        bad_redirect("Field redirect_uris: 'https:///cb' has no host."),
        id="redirect-no-host",
    ),
    pytest.param(
        {"redirect_uris": ["http:cb"]},
        {},
        bad_redirect("Field redirect_uris: 'http:cb' has no host."),
        id="redirect-http-no-host",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/c b"]},
        {},
        bad_redirect("Field redirect_uris: 'https://app.example/c b' contains whitespace."),
        id="redirect-whitespace",
    ),
    pytest.param(
        {"redirect_uris": ["javascript:alert(1)"]},
        {},
        bad_redirect("Field redirect_uris: the javascript: scheme is not allowed."),
        id="redirect-javascript",
    ),
    pytest.param(
        {"redirect_uris": ["JavaScript:alert(1)"]},
        {},
        bad_redirect("Field redirect_uris: the javascript: scheme is not allowed."),
        id="redirect-javascript-upper",
    ),
    pytest.param(
        {"redirect_uris": ["data:text/html,hi"]},
        {},
        bad_redirect("Field redirect_uris: the data: scheme is not allowed."),
        id="redirect-data",
    ),
    pytest.param(
        {"redirect_uris": ["file:///etc/passwd"]},
        {},
        bad_redirect("Field redirect_uris: the file: scheme is not allowed."),
        id="redirect-file",
    ),
    pytest.param(
        {"redirect_uris": ["https://caf\u00e9.example/cb"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://café.example/cb' must be "
            "ASCII without control characters (percent-encode anything "
            "else)."
        ),
        id="redirect-non-ascii",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/\x00"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://app.example/\\x00' must be "
            "ASCII without control characters (percent-encode anything "
            "else)."
        ),
        id="redirect-nul",
    ),
    pytest.param(
        {"redirect_uris": ["http://[::1/cb"]},
        {},
        bad_redirect("Field redirect_uris: 'http://[::1/cb' is not an absolute URI."),
        id="redirect-bad-ipv6",
    ),
    pytest.param(
        {"redirect_uris": ["https://trusted.example@evil.example/cb"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://trusted.example@evil.example/cb' must not contain "
            "user information (@)."
        ),
        id="redirect-userinfo",
    ),
    pytest.param(
        {"redirect_uris": ["https://user:pw@app.example/cb"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://user:pw@app.example/cb' must not contain user "
            "information (@)."
        ),
        id="redirect-userinfo-password",
    ),
    pytest.param(
        {"redirect_uris": ["com.example.app://user@cb"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'com.example.app://user@cb' must not contain user "
            "information (@)."
        ),
        id="redirect-userinfo-custom-scheme",
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example/cb@x?u=a@b"]},
        {},
        ok(redirect_uris=("https://app.example/cb@x?u=a@b",)),
        id="redirect-at-in-path-and-query",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://u@app.example/bye"],
        },
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: 'https://u@app.example/bye' must not contain "
            "user information (@)."
        ),
        id="logout-userinfo",
    ),
    pytest.param(
        {"redirect_uris": ["javascript:a b#f"]},
        {},
        bad_redirect("Field redirect_uris: the javascript: scheme is not allowed."),
        id="redirect-scheme-beats-fragment",
    ),
    pytest.param(
        {"redirect_uris": ["https://\u00e9.example/#f"]},
        {},
        bad_redirect(
            "Field redirect_uris: 'https://é.example/#f' must be ASCII "
            "without control characters (percent-encode anything else)."
        ),
        id="redirect-ascii-beats-fragment",
    ),
    pytest.param(
        {"redirect_uris": ["https://ok.example/", "/rel", "javascript:x"]},
        {},
        bad_redirect("Field redirect_uris: '/rel' is not an absolute URI."),
        id="redirect-first-bad-wins",
    ),
    pytest.param(
        {"redirect_uris": [""]},
        {},
        bad("Field redirect_uris must not contain empty strings."),
        id="redirect-empty-item",
    ),
    pytest.param(
        {"redirect_uris": "https://app.example/cb"},
        {},
        bad("Field redirect_uris must be an array of strings."),
        id="redirect-string",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:8080/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye", "http://127.0.0.1:8080/"],
        },
        {},
        ok(
            redirect_uris=("https://app.example/cb", "http://127.0.0.1:8080/cb"),
            post_logout_redirect_uris=("https://app.example/bye", "http://127.0.0.1:8080/"),
        ),
        id="logout-same-origin",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://other.example/bye"],
        },
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: "
            "'https://other.example/bye' must have the scheme, host and "
            "port of one of the registered redirect_uris."
        ),
        id="logout-other-host",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["http://app.example/bye"],
        },
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: 'http://app.example/bye' "
            "must have the scheme, host and port of one of the "
            "registered redirect_uris."
        ),
        id="logout-other-scheme",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example:8443/bye"],
        },
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: "
            "'https://app.example:8443/bye' must have the scheme, host "
            "and port of one of the registered redirect_uris."
        ),
        id="logout-other-port",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://App.Example/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye"],
        },
        {},
        ok(
            redirect_uris=("https://App.Example/cb",),
            post_logout_redirect_uris=("https://app.example/bye",),
        ),
        id="logout-host-case",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example:99999/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye"],
        },
        {},
        ok(
            redirect_uris=("https://app.example:99999/cb",),
            post_logout_redirect_uris=("https://app.example/bye",),
        ),
        id="logout-bad-port-both",
    ),
    pytest.param(
        {"post_logout_redirect_uris": ["https://app.example/bye"]},
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: 'https://app.example/bye' "
            "must have the scheme, host and port of one of the "
            "registered redirect_uris."
        ),
        id="logout-no-redirects",
    ),
    pytest.param(
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://app.example/bye#x"],
        },
        {},
        bad_redirect(
            "Field post_logout_redirect_uris: "
            "'https://app.example/bye#x' must not contain a fragment "
            "(#...)."
        ),
        id="logout-fragment",
    ),
    pytest.param(
        {"post_logout_redirect_uris": ["/bye"]},
        {},
        bad_redirect("Field post_logout_redirect_uris: '/bye' is not an absolute URI."),
        id="logout-relative",
    ),
    pytest.param(
        {"post_logout_redirect_uris": 1},
        {},
        bad("Field post_logout_redirect_uris must be an array of strings."),
        id="logout-number",
    ),
    pytest.param(
        {"redirect_uris": 1, "post_logout_redirect_uris": 1},
        {},
        bad("Field redirect_uris must be an array of strings."),
        id="logout-redirect-number",
    ),
    pytest.param(
        {"client_secret": "my-own-secret"}, {}, ok(secret="my-own-secret"), id="secret-given"
    ),
    pytest.param({"client_secret": "123456"}, {}, ok(secret="123456"), id="secret-six"),
    pytest.param(
        {"client_secret": "12345"},
        {},
        bad("Field client_secret must be at least 6 characters long."),
        id="secret-five",
    ),
    pytest.param({"client_secret": "  123456  "}, {}, ok(secret="123456"), id="secret-stripped"),
    pytest.param(
        {"client_secret": "  abc  "},
        {},
        bad("Field client_secret must be at least 6 characters long."),
        id="secret-short-after-strip",
    ),
    pytest.param({"client_secret": ""}, {}, ok(), id="secret-empty"),
    pytest.param({"client_secret": "    "}, {}, ok(), id="secret-blank"),
    pytest.param({"client_secret": None}, {}, ok(), id="secret-null"),
    pytest.param(
        {"client_secret": 1234567},
        {},
        bad("Field client_secret must be a string."),
        id="secret-number",
    ),
    pytest.param(
        {"client_secret": "p\u00e4ssw\u00f6rd-\U0001f511"},
        {},
        ok(secret="pässwörd-🔑"),
        id="secret-unicode",
    ),
    pytest.param({"client_secret": "abc\x00def"}, {}, ok(secret="abc\x00def"), id="secret-nul"),
    pytest.param({}, {"secret_required": False}, ok(secret=None), id="secret-not-required"),
    pytest.param(
        {"client_secret": "rotated-secret"},
        {"secret_required": False},
        ok(secret="rotated-secret"),
        id="secret-not-required-given",
    ),
    pytest.param(
        {"client_secret": "abc"},
        {"secret_required": False},
        bad("Field client_secret must be at least 6 characters long."),
        id="secret-not-required-short",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none"},
        {},
        ok(secret=None, token_endpoint_auth_method="none"),
        id="public-no-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "client_secret": ""},
        {},
        ok(secret=None, token_endpoint_auth_method="none"),
        id="public-empty-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "client_secret": "some-secret"},
        {},
        bad(
            "Field client_secret must be empty when "
            "token_endpoint_auth_method is 'none' (a public client has "
            "no secret)."
        ),
        id="public-with-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "client_secret": "x"},
        {},
        bad(
            "Field client_secret must be empty when "
            "token_endpoint_auth_method is 'none' (a public client has "
            "no secret)."
        ),
        id="public-with-short-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        {},
        bad(
            "Field grant_types: a public client "
            "(token_endpoint_auth_method 'none') cannot use "
            "client_credentials."
        ),
        id="public-client-credentials",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "none",
            "client_secret": "abcdef",
            "grant_types": ["client_credentials"],
        },
        {},
        bad(
            "Field client_secret must be empty when "
            "token_endpoint_auth_method is 'none' (a public client has "
            "no secret)."
        ),
        id="public-secret-beats-credentials",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["com.example.app:/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
        },
        {},
        ok(
            secret=None,
            grant_types=("authorization_code", "refresh_token"),
            redirect_uris=("com.example.app:/cb",),
            token_endpoint_auth_method="none",
        ),
        id="public-native",
    ),
    pytest.param(
        {"audience": [" https://api.example ", "https://api.example", "urn:x"]},
        {},
        ok(audience=("https://api.example", "urn:x")),
        id="audience-good",
    ),
    pytest.param(
        {"audience": ["a b"]},
        {},
        bad("Field audience: 'a b' contains whitespace."),
        id="audience-space",
    ),
    pytest.param(
        {"audience": ["a\tb"]},
        {},
        bad("Field audience: 'a\\tb' contains whitespace."),
        id="audience-tab",
    ),
    pytest.param(
        {"audience": [None]},
        {},
        bad("Field audience must be an array of strings."),
        id="audience-null-item",
    ),
    pytest.param(
        {"audience": [""]},
        {},
        bad("Field audience must not contain empty strings."),
        id="audience-empty-item",
    ),
    pytest.param(
        {"audience": "https://api.example"},
        {},
        bad("Field audience must be an array of strings."),
        id="audience-string",
    ),
    pytest.param({"audience": ["caf\u00e9"]}, {}, ok(audience=("café",)), id="audience-unicode"),
    pytest.param(
        {"contacts": ["ops@example.com", " ops@example.com", "x y"]},
        {},
        ok(contacts=("ops@example.com", "x y")),
        id="contacts-good",
    ),
    pytest.param(
        {"contacts": [1]},
        {},
        bad("Field contacts must be an array of strings."),
        id="contacts-number",
    ),
    pytest.param(
        {"contacts": "ops@example.com"},
        {},
        bad("Field contacts must be an array of strings."),
        id="contacts-string",
    ),
    pytest.param(
        {
            "allowed_cors_origins": [
                "https://app.example",
                "http://localhost:3000/",
                "HTTPS://App.Example:8443",
            ]
        },
        {},
        ok(
            allowed_cors_origins=(
                "https://app.example",
                "http://localhost:3000",
                "https://App.Example:8443",
            )
        ),
        id="cors-good",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://app.example", "https://app.example/"]},
        {},
        ok(allowed_cors_origins=("https://app.example", "https://app.example")),
        id="cors-same-after-normalising",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://app.example/path"]},
        {},
        bad(
            "Field allowed_cors_origins: 'https://app.example/path' is "
            "not an origin like https://app.example."
        ),
        id="cors-path",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://app.example?x=1"]},
        {},
        bad(
            "Field allowed_cors_origins: 'https://app.example?x=1' is "
            "not an origin like https://app.example."
        ),
        id="cors-query",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://app.example#x"]},
        {},
        bad(
            "Field allowed_cors_origins: 'https://app.example#x' is not "
            "an origin like https://app.example."
        ),
        id="cors-fragment",
    ),
    pytest.param(
        {"allowed_cors_origins": ["ftp://app.example"]},
        {},
        bad(
            "Field allowed_cors_origins: 'ftp://app.example' is not an "
            "origin like https://app.example."
        ),
        id="cors-scheme",
    ),
    pytest.param(
        {"allowed_cors_origins": ["app.example"]},
        {},
        bad("Field allowed_cors_origins: 'app.example' is not an origin like https://app.example."),
        id="cors-no-scheme",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://user@app.example"]},
        {},
        bad(
            "Field allowed_cors_origins: 'https://user@app.example' is "
            "not an origin like https://app.example."
        ),
        id="cors-userinfo",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://"]},
        {},
        bad("Field allowed_cors_origins: 'https://' is not an origin like https://app.example."),
        id="cors-no-host",
    ),
    pytest.param(
        {"allowed_cors_origins": ["https://[::1"]},
        {},
        bad(
            "Field allowed_cors_origins: 'https://[::1' is not an origin like https://app.example."
        ),
        id="cors-bad-ipv6",
    ),
    pytest.param(
        {"allowed_cors_origins": "https://app.example"},
        {},
        bad("Field allowed_cors_origins must be an array of strings."),
        id="cors-string",
    ),
    pytest.param(
        {
            "policy_uri": "https://app.example/p",
            "tos_uri": " http://app.example/t ",
            "client_uri": "HTTPS://app.example",
            "logo_uri": "",
        },
        {},
        ok(
            policy_uri="https://app.example/p",
            tos_uri="http://app.example/t",
            client_uri="HTTPS://app.example",
        ),
        id="uris-good",
    ),
    pytest.param(
        {"policy_uri": "/policy"},
        {},
        bad("Field policy_uri must be an absolute http(s) URL."),
        id="policy-relative",
    ),
    pytest.param(
        {"tos_uri": "javascript:alert(1)"},
        {},
        bad("Field tos_uri must be an absolute http(s) URL."),
        id="tos-javascript",
    ),
    pytest.param(
        {"client_uri": "https:///x"},
        {},
        bad("Field client_uri must be an absolute http(s) URL."),
        id="client-uri-no-host",
    ),
    pytest.param(
        {"logo_uri": "data:image/png;base64,AA"},
        {},
        bad("Field logo_uri must be an absolute http(s) URL."),
        id="logo-data",
    ),
    pytest.param(
        {"logo_uri": "https://[::1"},
        {},
        bad("Field logo_uri must be an absolute http(s) URL."),
        id="logo-bad-ipv6",
    ),
    pytest.param(
        {"policy_uri": 1}, {}, bad("Field policy_uri must be a string."), id="policy-number"
    ),
    pytest.param(
        {"logo_uri": "x", "policy_uri": "y"},
        {},
        bad("Field policy_uri must be an absolute http(s) URL."),
        id="uris-first-bad-wins",
    ),
    pytest.param(
        {"client_uri": "https://caf\u00e9.example/"},
        {},
        ok(client_uri="https://café.example/"),
        id="uris-unicode-accepted",
    ),
    pytest.param(
        {
            "frontchannel_logout_uri": "https://app.example/f",
            "backchannel_logout_uri": "https://app.example/b",
            "frontchannel_logout_session_required": True,
            "backchannel_logout_session_required": True,
        },
        {},
        ok(
            frontchannel_logout_uri="https://app.example/f",
            frontchannel_logout_session_required=True,
            backchannel_logout_uri="https://app.example/b",
            backchannel_logout_session_required=True,
        ),
        id="logout-uris-good",
    ),
    pytest.param(
        {"frontchannel_logout_uri": "/logout"},
        {},
        bad("Field frontchannel_logout_uri: '/logout' is not an absolute URI."),
        id="frontchannel-relative",
    ),
    pytest.param(
        {"backchannel_logout_uri": "javascript:x"},
        {},
        bad("Field backchannel_logout_uri: the javascript: scheme is not allowed."),
        id="backchannel-javascript",
    ),
    pytest.param(
        {"backchannel_logout_uri": "https://app.example/#x"},
        {},
        bad(
            "Field backchannel_logout_uri: 'https://app.example/#x' must "
            "not contain a fragment (#...)."
        ),
        id="backchannel-fragment",
    ),
    pytest.param(
        {"frontchannel_logout_uri": 1},
        {},
        bad("Field frontchannel_logout_uri must be a string."),
        id="frontchannel-number",
    ),
    pytest.param({"frontchannel_logout_uri": ""}, {}, ok(), id="frontchannel-empty"),
    pytest.param({"subject_type": "public"}, {}, ok(), id="subject-public"),
    pytest.param({"subject_type": ""}, {}, ok(), id="subject-empty"),
    pytest.param(
        {"subject_type": "pairwise"},
        {},
        ok(subject_type="pairwise"),
        id="subject-pairwise",
    ),
    pytest.param(
        {"subject_type": 1}, {}, bad("Field subject_type must be a string."), id="subject-number"
    ),
    pytest.param(
        {"subject_type": "pairwise"},
        {"subject_types": ("public", "pairwise")},
        ok(subject_type="pairwise"),
        id="subject-pairwise-offered",
    ),
    pytest.param(
        {"subject_type": "pairwise"},
        {"subject_types": ("public",)},
        bad("Field subject_type must be 'public'; 'pairwise' is not supported."),
        id="subject-pairwise-not-offered",
    ),
    pytest.param({}, {"subject_types": ("public",)}, ok(), id="subject-default-public-only"),
    pytest.param(
        {"subject_type": "pairwise"},
        {"subject_types": ("pairwise",)},
        ok(subject_type="pairwise"),
        id="subject-pairwise-only",
    ),
    pytest.param(
        {"subject_type": "public"},
        {"subject_types": ("pairwise",)},
        bad("Field subject_type must be 'pairwise'; 'public' is not supported."),
        id="subject-public-not-offered",
    ),
    pytest.param(
        {"subject_type": "magic"},
        {},
        bad("Field subject_type must be 'public' or 'pairwise'; 'magic' is not supported."),
        id="subject-unknown",
    ),
    pytest.param(
        {"subject_type": "Pairwise"},
        {},
        bad("Field subject_type must be 'public' or 'pairwise'; 'Pairwise' is not supported."),
        id="subject-case",
    ),
    pytest.param(
        {"access_token_strategy": "jwt"}, {}, ok(access_token_strategy="jwt"), id="strategy-jwt"
    ),
    pytest.param(
        {"access_token_strategy": " opaque "},
        {},
        ok(access_token_strategy="opaque"),
        id="strategy-opaque-stripped",
    ),
    pytest.param({"access_token_strategy": ""}, {}, ok(), id="strategy-empty"),
    pytest.param(
        {"access_token_strategy": "JWT"},
        {},
        bad("Field access_token_strategy must be 'opaque' or 'jwt'."),
        id="strategy-upper",
    ),
    pytest.param(
        {"access_token_strategy": "macaroon"},
        {},
        bad("Field access_token_strategy must be 'opaque' or 'jwt'."),
        id="strategy-unknown",
    ),
    pytest.param(
        {"access_token_strategy": 1},
        {},
        bad("Field access_token_strategy must be a string."),
        id="strategy-number",
    ),
    pytest.param({"metadata": None}, {}, ok(), id="metadata-null"),
    pytest.param({"metadata": {}}, {}, ok(), id="metadata-empty"),
    pytest.param(
        {"metadata": {"team": "x", "tags": ["a", 1, None], "n": {"m": True}}},
        {},
        ok(metadata={"team": "x", "tags": ["a", 1, None], "n": {"m": True}}),
        id="metadata-nested",
    ),
    pytest.param(
        {"metadata": ["a", "b"]},
        {},
        bad("Field metadata must be a JSON object."),
        id="metadata-list",
    ),
    pytest.param(
        {"metadata": "text"}, {}, bad("Field metadata must be a JSON object."), id="metadata-string"
    ),
    pytest.param(
        {"metadata": 0}, {}, bad("Field metadata must be a JSON object."), id="metadata-zero"
    ),
    pytest.param(
        {"metadata": False}, {}, bad("Field metadata must be a JSON object."), id="metadata-false"
    ),
    pytest.param(
        {name: f"{i + 1}h" for i, name in enumerate(LIFESPAN_FIELDS)},
        {},
        ok(
            lifespans={
                "authorization_code_grant_access_token_lifespan": "1h",
                "authorization_code_grant_id_token_lifespan": "2h",
                "authorization_code_grant_refresh_token_lifespan": "3h",
                "client_credentials_grant_access_token_lifespan": "4h",
                "implicit_grant_access_token_lifespan": "5h",
                "implicit_grant_id_token_lifespan": "6h",
                "jwt_bearer_grant_access_token_lifespan": "7h",
                "refresh_token_grant_access_token_lifespan": "8h",
                "refresh_token_grant_id_token_lifespan": "9h",
                "refresh_token_grant_refresh_token_lifespan": "10h",
            }
        ),
        id="lifespans-all",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "1h30m"},
        {},
        ok(lifespans={"authorization_code_grant_access_token_lifespan": "1h30m"}),
        id="lifespan-compound",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": " 2h "},
        {},
        ok(lifespans={"authorization_code_grant_access_token_lifespan": "2h"}),
        id="lifespan-stripped",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "1s"},
        {},
        ok(lifespans={"authorization_code_grant_access_token_lifespan": "1s"}),
        id="lifespan-one-second",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": ""}, {}, ok(), id="lifespan-empty"
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "0"},
        {},
        bad("Field authorization_code_grant_access_token_lifespan must be at least one second."),
        id="lifespan-zero",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "0s"},
        {},
        bad("Field authorization_code_grant_access_token_lifespan must be at least one second."),
        id="lifespan-zero-seconds",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "100ms"},
        {},
        bad("Field authorization_code_grant_access_token_lifespan must be at least one second."),
        id="lifespan-sub-second",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "3600"},
        {},
        bad(
            "Field authorization_code_grant_access_token_lifespan: "
            "'3600' is not a duration (examples: 30s, 10m, 1h, 1h30m)."
        ),
        id="lifespan-no-unit",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "1x"},
        {},
        bad(
            "Field authorization_code_grant_access_token_lifespan: '1x' "
            "is not a duration (examples: 30s, 10m, 1h, 1h30m)."
        ),
        id="lifespan-bad-unit",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "-1h"},
        {},
        bad(
            "Field authorization_code_grant_access_token_lifespan: '-1h' "
            "is not a duration (examples: 30s, 10m, 1h, 1h30m)."
        ),
        id="lifespan-negative",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": "9999999999h"},
        {},
        bad(
            "Field authorization_code_grant_access_token_lifespan: "
            "'9999999999h' is longer than the longest duration (about "
            "292 years)."
        ),
        id="lifespan-too-long",
    ),
    pytest.param(
        {"authorization_code_grant_access_token_lifespan": 3600},
        {},
        bad("Field authorization_code_grant_access_token_lifespan must be a string."),
        id="lifespan-number",
    ),
    pytest.param(
        {"refresh_token_grant_refresh_token_lifespan": "x"},
        {},
        bad(
            "Field refresh_token_grant_refresh_token_lifespan: 'x' is "
            "not a duration (examples: 30s, 10m, 1h, 1h30m)."
        ),
        id="lifespan-last-field",
    ),
    pytest.param(
        {
            "refresh_token_grant_refresh_token_lifespan": "x",
            "authorization_code_grant_id_token_lifespan": "0",
        },
        {},
        bad("Field authorization_code_grant_id_token_lifespan must be at least one second."),
        id="lifespan-first-bad-in-table-order",
    ),
    pytest.param(
        {"lifespans": {}},
        {},
        bad("Unknown field(s): lifespans. See the oAuth2Client model."),
        id="lifespan-internal-name",
    ),
    pytest.param({"client_secret_expires_at": 0}, {}, ok(), id="expires-zero"),
    pytest.param({"client_secret_expires_at": None}, {}, ok(), id="expires-null"),
    pytest.param(
        {"client_secret_expires_at": 1700000000}, {}, ok(), id="expires-positive-is-dropped"
    ),
    pytest.param({"client_secret_expires_at": False}, {}, ok(), id="expires-false"),
    pytest.param({"client_secret_expires_at": 0.0}, {}, ok(), id="expires-zero-float"),
    pytest.param({"client_secret_expires_at": ""}, {}, ok(), id="expires-empty-string"),
    pytest.param(
        {"client_secret_expires_at": -1},
        {},
        bad("Field client_secret_expires_at must be a number >= 0."),
        id="expires-negative",
    ),
    pytest.param(
        {"client_secret_expires_at": "never"},
        {},
        bad("Field client_secret_expires_at must be a number >= 0."),
        id="expires-string",
    ),
    pytest.param(
        {"client_secret_expires_at": True},
        {},
        bad("Field client_secret_expires_at must be a number >= 0."),
        id="expires-true",
    ),
    pytest.param(
        {"client_secret_expires_at": 1.5},
        {},
        bad("Field client_secret_expires_at must be a number >= 0."),
        id="expires-float",
    ),
    pytest.param(
        {"jwks": {"keys": []}, "jwks_uri": "", "request_uris": [], "sector_identifier_uri": None},
        {},
        ok(),
        id="unsupported-empty",
    ),
    pytest.param({"jwks": {}}, {}, ok(), id="jwks-empty-object"),
    pytest.param(
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
        {},
        bad("Field jwks key 1: kty must be RSA, EC or OKP (public signing keys)."),
        id="jwks-keys",
    ),
    pytest.param({"jwks": 0}, {}, bad(_NOT_A_JWK_SET), id="jwks-zero"),
    pytest.param(
        {"jwks_uri": "https://app.example/jwks"},
        {},
        ok(jwks_uri="https://app.example/jwks"),
        id="jwks-uri",
    ),
    pytest.param(
        {"request_uris": ["https://app.example/r"]},
        {},
        bad("Field request_uris is not supported by this server."),
        id="request-uris",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/s"},
        {},
        ok(sector_identifier_uri="https://app.example/s"),
        id="sector-identifier",
    ),
    pytest.param(
        {"sector_identifier_uri": False},
        {},
        bad("Field sector_identifier_uri must be a string."),
        id="sector-identifier-false",
    ),
    pytest.param(
        {"request_object_signing_alg": "RS256", "token_endpoint_auth_signing_alg": " EdDSA "},
        {},
        ok(token_endpoint_auth_signing_alg="EdDSA", request_object_signing_alg="RS256"),
        id="algs-good",
    ),
    pytest.param(
        {"request_object_signing_alg": "HS1024"},
        {},
        bad("Field request_object_signing_alg: unknown algorithm 'HS1024'."),
        id="alg-request-object-unknown",
    ),
    pytest.param(
        {"request_object_signing_alg": "none"},
        {},
        bad("Field request_object_signing_alg: unknown algorithm 'none'."),
        id="alg-request-object-none",
    ),
    pytest.param(
        {"token_endpoint_auth_signing_alg": "HS256"},
        {},
        ok(token_endpoint_auth_signing_alg="HS256"),  # inert for client_secret_basic
        id="alg-token-endpoint-hs256",
    ),
    pytest.param(
        {"token_endpoint_auth_signing_alg": 256},
        {},
        bad("Field token_endpoint_auth_signing_alg must be a string."),
        id="alg-token-endpoint-number",
    ),
    # jwks: public signing keys only (authserver/domain/client_keys.py)
    pytest.param({"jwks": JWKS}, {}, ok(jwks=JWKS), id="jwks-rsa-ec-okp"),
    pytest.param(
        {"jwks": {"keys": [EC_NO_KID] * 20}},
        {},
        ok(jwks={"keys": [EC_NO_KID] * 20}),
        id="jwks-20-keys",
    ),
    pytest.param(
        {"jwks": {"keys": [EC_NO_KID] * 21}},
        {},
        bad("Field jwks holds more than 20 keys."),
        id="jwks-21-keys",
    ),
    pytest.param(
        {"jwks": {"keys": [_RSA.as_dict(private=True)]}},
        {},
        bad(
            "Field jwks key 1 contains private key material (d, p, q, dp, dq, qi); register "
            "the public key only."
        ),
        id="jwks-rsa-private",
    ),
    pytest.param(
        {"jwks": {"keys": [EC_PUBLIC, _OKP.as_dict(private=True)]}},
        {},
        bad("Field jwks key 2 contains private key material (d); register the public key only."),
        id="jwks-okp-private-second",
    ),
    pytest.param(
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}},
        {},
        bad("Field jwks key 1: kty must be RSA, EC or OKP (public signing keys)."),
        id="jwks-symmetric",
    ),
    pytest.param(
        {"jwks": {"keys": [{**EC_PUBLIC, "k": "c2VjcmV0"}]}},
        {},
        bad("Field jwks key 1 contains private key material (k); register the public key only."),
        id="jwks-ec-with-k",
    ),
    pytest.param(
        {"jwks": {"keys": [_RSA_1024.as_dict(private=False)]}},
        {},
        bad("Field jwks key 1: RSA keys must have at least 2048 bits."),
        id="jwks-rsa-1024",
    ),
    pytest.param(
        {"jwks": {"keys": [{"kty": "RSA", "e": "AQAB"}]}},
        {},
        bad("Field jwks key 1: RSA keys must have at least 2048 bits."),
        id="jwks-rsa-no-modulus",
    ),
    pytest.param(
        {"jwks": {"keys": [EC_PUBLIC, {**OKP_PUBLIC, "kid": "ec-1"}]}},
        {},
        bad("Field jwks: the key id 'ec-1' is used twice."),
        id="jwks-duplicate-kid",
    ),
    pytest.param(
        {"jwks": {"keys": [EC_NO_KID, EC_NO_KID]}},
        {},
        ok(jwks={"keys": [EC_NO_KID, EC_NO_KID]}),
        id="jwks-no-kids",
    ),
    pytest.param({"jwks": [EC_PUBLIC]}, {}, bad(_NOT_A_JWK_SET), id="jwks-array"),
    pytest.param({"jwks": "keys"}, {}, bad(_NOT_A_JWK_SET), id="jwks-string"),
    pytest.param({"jwks": {"keys": {}}}, {}, bad(_NOT_A_JWK_SET), id="jwks-keys-object"),
    pytest.param({"jwks": {"key": [EC_PUBLIC]}}, {}, bad(_NOT_A_JWK_SET), id="jwks-no-keys"),
    pytest.param(
        {"jwks": {"keys": ["EC"]}},
        {},
        bad("Field jwks key 1 is not a JSON object."),
        id="jwks-key-string",
    ),
    pytest.param(
        {"jwks": {"keys": [{**EC_PUBLIC, "use": "enc"}]}},
        {},
        bad("Field jwks key 1: use must be 'sig'."),
        id="jwks-use-enc",
    ),
    pytest.param(
        {"jwks": {"keys": [{**EC_PUBLIC, "alg": "RS256"}]}},
        {},
        bad("Field jwks key 1: alg 'RS256' cannot be used with a key of type EC."),
        id="jwks-alg-kty-mismatch",
    ),
    pytest.param(
        {"jwks": {"keys": [{**EC_PUBLIC, "kid": 5}]}},
        {},
        bad("Field jwks key 1: kid must be a string."),
        id="jwks-kid-number",
    ),
    pytest.param(
        {"jwks": {"keys": [{**EC_PUBLIC, "x": "AAAA"}]}},
        {},
        bad("Field jwks key 1 is not a valid EC public key (ValueError)."),
        id="jwks-ec-not-on-curve",
    ),
    pytest.param(
        {"jwks": {"keys": [EC_PUBLIC]}, "jwks_uri": "https://app.example/jwks"},
        {},
        bad("Fields jwks and jwks_uri must not both be set (RFC 7591 section 2)."),
        id="jwks-and-jwks-uri",
    ),
    pytest.param(
        {"jwks": {"keys": []}, "jwks_uri": "https://app.example/jwks"},
        {},
        ok(jwks_uri="https://app.example/jwks"),
        id="jwks-empty-and-jwks-uri",
    ),
    # jwks_uri and sector_identifier_uri: URLs the server fetches
    pytest.param(
        {"jwks_uri": " http://127.0.0.1:8080/jwks "},
        {},
        ok(jwks_uri="http://127.0.0.1:8080/jwks"),
        id="jwks-uri-http-loopback",
    ),
    pytest.param(
        {"jwks_uri": "http://localhost/jwks"},
        {},
        ok(jwks_uri="http://localhost/jwks"),
        id="jwks-uri-http-localhost",
    ),
    pytest.param(
        {"jwks_uri": "http://app.example/jwks"},
        {},
        bad(f"Field jwks_uri {_NOT_HTTPS}"),
        id="jwks-uri-http",
    ),
    pytest.param(
        {"jwks_uri": "http://[::1]:8080/jwks"},
        {},
        ok(jwks_uri="http://[::1]:8080/jwks"),
        id="jwks-uri-http-ipv6-loopback",
    ),
    pytest.param(
        {"jwks_uri": "http://127.evil.example/jwks"},
        {},
        bad(f"Field jwks_uri {_NOT_HTTPS}"),
        id="jwks-uri-http-name-that-looks-loopback",
    ),
    pytest.param(
        {"jwks_uri": "ftp://app.example/jwks"},
        {},
        bad(f"Field jwks_uri {_NOT_HTTPS}"),
        id="jwks-uri-ftp",
    ),
    pytest.param(
        {"jwks_uri": "https://app.example/jwks#keys"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-fragment",
    ),
    pytest.param(
        {"jwks_uri": "https://user@app.example/jwks"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-userinfo",
    ),
    pytest.param(
        {"jwks_uri": "https://caf\u00e9.example/jwks"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-non-ascii",
    ),
    pytest.param(
        {"jwks_uri": "https://app.example/jw ks"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-space",
    ),
    pytest.param(
        {"jwks_uri": "/jwks"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-relative",
    ),
    pytest.param(
        {"jwks_uri": "https:///jwks"},
        {},
        bad("Field jwks_uri must be an absolute https URL."),
        id="jwks-uri-no-host",
    ),
    pytest.param(
        {"jwks_uri": 5}, {}, bad("Field jwks_uri must be a string."), id="jwks-uri-number"
    ),
    pytest.param(
        {"sector_identifier_uri": "http://[::1]:8080/sector"},
        {},
        ok(sector_identifier_uri="http://[::1]:8080/sector"),
        id="sector-identifier-http-loopback",
    ),
    pytest.param(
        {"sector_identifier_uri": "http://app.example/sector"},
        {},
        bad(f"Field sector_identifier_uri {_NOT_HTTPS}"),
        id="sector-identifier-http",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/sector#x"},
        {},
        bad("Field sector_identifier_uri must be an absolute https URL."),
        id="sector-identifier-fragment",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://user:pw@app.example/sector"},
        {},
        bad("Field sector_identifier_uri must be an absolute https URL."),
        id="sector-identifier-userinfo",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/s\u00e9ctor"},
        {},
        bad("Field sector_identifier_uri must be an absolute https URL."),
        id="sector-identifier-non-ascii",
    ),
    pytest.param(
        {"sector_identifier_uri": "https://app.example/\x00"},
        {},
        bad("Field sector_identifier_uri must be an absolute https URL."),
        id="sector-identifier-nul",
    ),
    pytest.param(
        {"sector_identifier_uri": "http://app.example/s", "jwks_uri": "http://app.example/j"},
        {},
        bad(f"Field sector_identifier_uri {_NOT_HTTPS}"),
        id="sector-identifier-before-jwks-uri",
    ),
    # private_key_jwt and client_secret_jwt (RFC 7523, OIDC Core section 9)
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": JWKS},
        {},
        ok(secret=None, token_endpoint_auth_method="private_key_jwt", jwks=JWKS),
        id="private-key-jwt-jwks",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://app.example/jwks",
            "token_endpoint_auth_signing_alg": "ES256",
        },
        {},
        ok(
            secret=None,
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri="https://app.example/jwks",
            token_endpoint_auth_signing_alg="ES256",
        ),
        id="private-key-jwt-jwks-uri-es256",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}},
        {},
        bad(
            "Field jwks or jwks_uri is required when token_endpoint_auth_method is "
            "'private_key_jwt'."
        ),
        id="private-key-jwt-empty-jwks",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": JWKS},
        {"secret_required": False},
        ok(secret=None, token_endpoint_auth_method="private_key_jwt", jwks=JWKS),
        id="private-key-jwt-update",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
            "client_secret": "a-secret-of-forty-characters-0123456789",
        },
        {},
        bad(
            "Field client_secret must be empty when token_endpoint_auth_method is "
            "'private_key_jwt' (the client proves itself with its keys)."
        ),
        id="private-key-jwt-with-secret",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt", "client_secret": "short"},
        {},
        bad(
            "Field client_secret must be empty when token_endpoint_auth_method is "
            "'private_key_jwt' (the client proves itself with its keys)."
        ),
        id="private-key-jwt-secret-before-keys",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
            "token_endpoint_auth_signing_alg": "HS256",
        },
        {},
        bad(
            "Field token_endpoint_auth_signing_alg: 'HS256' cannot be used with "
            f"private_key_jwt; use one of {_ASYMMETRIC}."
        ),
        id="private-key-jwt-hs256",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt", "client_secret": "s" * 32},
        {},
        ok(secret="s" * 32, token_endpoint_auth_method="client_secret_jwt"),
        id="client-secret-jwt-32",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt", "client_secret": "s" * 31},
        {},
        bad(
            "Field client_secret must be at least 32 characters long for client_secret_jwt "
            "(HMAC keys, RFC 7518 section 3.2)."
        ),
        id="client-secret-jwt-31",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt", "client_secret": " " + "s" * 31 + " "},
        {},
        bad(
            "Field client_secret must be at least 32 characters long for client_secret_jwt "
            "(HMAC keys, RFC 7518 section 3.2)."
        ),
        id="client-secret-jwt-31-after-strip",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {"secret_required": False},
        ok(secret=None, token_endpoint_auth_method="client_secret_jwt"),
        id="client-secret-jwt-update-keeps-secret",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "token_endpoint_auth_signing_alg": "HS512",
        },
        {},
        ok(token_endpoint_auth_method="client_secret_jwt", token_endpoint_auth_signing_alg="HS512"),
        id="client-secret-jwt-hs512",
    ),
    pytest.param(
        {
            "token_endpoint_auth_method": "client_secret_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
        },
        {},
        bad(
            "Field token_endpoint_auth_signing_alg: 'RS256' cannot be used with "
            "client_secret_jwt; use one of HS256, HS384, HS512."
        ),
        id="client-secret-jwt-rs256",
    ),
    pytest.param(
        {"token_endpoint_auth_signing_alg": "none"},
        {},
        bad(
            "Field token_endpoint_auth_signing_alg: 'none' cannot be used; use one of "
            f"{_ASYMMETRIC}, HS256, HS384, HS512."
        ),
        id="alg-token-endpoint-none",
    ),
    pytest.param(
        {
            "grant_types": [JWT_BEARER],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": JWKS,
        },
        {},
        ok(
            secret=None,
            grant_types=(JWT_BEARER,),
            token_endpoint_auth_method="private_key_jwt",
            jwks=JWKS,
        ),
        id="grants-jwt-bearer-private-key-jwt",
    ),
    pytest.param({"userinfo_signed_response_alg": "none"}, {}, ok(), id="userinfo-none"),
    pytest.param({"userinfo_signed_response_alg": ""}, {}, ok(), id="userinfo-empty"),
    pytest.param(
        {"userinfo_signed_response_alg": "RS256"},
        {},
        bad("Field userinfo_signed_response_alg must be 'none': signed userinfo is not supported."),
        id="userinfo-rs256",
    ),
    pytest.param(
        {"userinfo_signed_response_alg": 0},
        {},
        bad("Field userinfo_signed_response_alg must be a string."),
        id="userinfo-number",
    ),
    pytest.param(
        {"id_token_signed_response_alg": "ES256"},
        {},
        ok(id_token_signed_response_alg="ES256"),
        id="id-token-es256",
    ),
    pytest.param(
        {"id_token_signed_response_alg": "EdDSA"},
        {},
        ok(id_token_signed_response_alg="EdDSA"),
        id="id-token-eddsa",
    ),
    pytest.param({"id_token_signed_response_alg": ""}, {}, ok(), id="id-token-default"),
    *(
        pytest.param(
            {"id_token_signed_response_alg": alg},
            {},
            bad(
                f"Field id_token_signed_response_alg: {alg!r} is not one of "
                "RS256, RS512, PS256, ES256, ES512, EdDSA."
            ),
            id=f"id-token-{alg or 'blank'}",
        )
        for alg in ("none", "HS256", "RS384", "es256", "ES256x", "ES256\u0000")
    ),
    pytest.param(
        {"id_token_signed_response_alg": ["RS256"]},
        {},
        bad("Field id_token_signed_response_alg must be a string."),
        id="id-token-list",
    ),
    pytest.param({"client_name": "  My App "}, {}, ok(client_name="My App"), id="name-stripped"),
    pytest.param(
        {"client_name": "\u00dcn\u00efc\u00f8d\u00e9 \U0001f680"},
        {},
        ok(client_name="Ünïcødé 🚀"),
        id="name-unicode",
    ),
    pytest.param({"client_name": "a\x00b"}, {}, ok(client_name="a\x00b"), id="name-nul"),
    pytest.param({"client_name": "n" * 255}, {}, ok(client_name="n" * 255), id="name-255"),
    pytest.param(
        {"client_name": "n" * 256},
        {},
        bad("Field client_name is longer than 255 characters."),
        id="name-256",
    ),
    pytest.param(
        {"client_name": "  " + "n" * 255 + "  "},
        {},
        ok(client_name="n" * 255),
        id="name-255-after-strip",
    ),
    pytest.param(
        {"client_name": 7}, {}, bad("Field client_name must be a string."), id="name-number"
    ),
    pytest.param({"owner": " team-a "}, {}, ok(owner="team-a"), id="owner-given"),
    pytest.param(
        {"owner": "o" * 256}, {}, bad("Field owner is longer than 255 characters."), id="owner-256"
    ),
    pytest.param({"owner": ["a"]}, {}, bad("Field owner must be a string."), id="owner-list"),
    pytest.param(
        {"skip_consent": True, "skip_logout_consent": True},
        {},
        ok(skip_consent=True, skip_logout_consent=True),
        id="flags-true",
    ),
    pytest.param(
        {"skip_consent": False, "skip_logout_consent": None}, {}, ok(), id="flags-false-null"
    ),
    pytest.param(
        {"skip_consent": "yes"},
        {},
        bad("Field skip_consent must be true or false."),
        id="skip-consent-string",
    ),
    pytest.param(
        {"skip_consent": 1},
        {},
        bad("Field skip_consent must be true or false."),
        id="skip-consent-number",
    ),
    pytest.param(
        {"skip_consent": 0},
        {},
        bad("Field skip_consent must be true or false."),
        id="skip-consent-zero",
    ),
    pytest.param(
        {"skip_logout_consent": "true"},
        {},
        bad("Field skip_logout_consent must be true or false."),
        id="skip-logout-consent-string",
    ),
    pytest.param(
        {"frontchannel_logout_session_required": "x"},
        {},
        bad("Field frontchannel_logout_session_required must be true or false."),
        id="frontchannel-session-string",
    ),
    pytest.param(
        {"backchannel_logout_session_required": 1},
        {},
        bad("Field backchannel_logout_session_required must be true or false."),
        id="backchannel-session-number",
    ),
    pytest.param(
        {"require_pushed_authorization_requests": "yes"},
        {},
        bad("Field require_pushed_authorization_requests must be true or false."),
        id="require-par-string",
    ),
    pytest.param(
        {"dpop_bound_access_tokens": 0},
        {},
        bad("Field dpop_bound_access_tokens must be true or false."),
        id="dpop-bound-number",
    ),
    pytest.param(
        {
            "created_at": 5,
            "updated_at": "x",
            "registration_access_token": None,
            "registration_client_uri": [],
        },
        {},
        ok(),
        id="ignored-fields",
    ),
    pytest.param(
        {"colour": "blue"},
        {},
        bad("Unknown field(s): colour. See the oAuth2Client model."),
        id="unknown-field",
    ),
    pytest.param(
        {"zeta": 1, "alpha": 2, "Beta": 3},
        {},
        bad("Unknown field(s): Beta, alpha, zeta. See the oAuth2Client model."),
        id="unknown-fields-sorted",
    ),
    pytest.param(
        {"colour": None},
        {},
        bad("Unknown field(s): colour. See the oAuth2Client model."),
        id="unknown-field-null",
    ),
    pytest.param(
        {"f\u00e4rg": 1},
        {},
        bad("Unknown field(s): färg. See the oAuth2Client model."),
        id="unknown-field-unicode",
    ),
    pytest.param(
        {"colour": "blue", "client_name": 7},
        {},
        bad("Field client_name must be a string."),
        id="unknown-after-type-errors",
    ),
    pytest.param(
        {"colour": "blue", "grant_types": ["magic"]},
        {},
        bad(
            "Field grant_types: unknown grant type 'magic'; supported: "
            "authorization_code, refresh_token, client_credentials, "
            "urn:ietf:params:oauth:grant-type:device_code, "
            "urn:ietf:params:oauth:grant-type:jwt-bearer, "
            "urn:ietf:params:oauth:grant-type:token-exchange."
        ),
        id="unknown-after-value-errors",
    ),
    pytest.param(RICH, {}, ok(client_id="rich", secret="rich-secret", **RICH_CLIENT), id="rich"),
    pytest.param(
        SENT_BACK,
        {"client_id": "rich", "secret_required": False},
        ok(client_id="rich", secret=None, **RICH_CLIENT),  # the same client, no new secret
        id="rich-sent-back",
    ),
]


@pytest.mark.parametrize(("document", "options", "expected"), ROWS)
def test_document(document, options, expected):
    actual = outcome(document, options)
    assert actual == expected
    assert repr(actual) == repr(expected)  # tuples stay tuples, booleans stay booleans


# One bad value per check, in the order the checks run; the keys are disjoint, so a
# document with any two of them must fail with the message of the earlier one.
VALUE_ORDER = [
    ("client_id", {"client_id": "a/b"}),
    ("token_endpoint_auth_method", {"token_endpoint_auth_method": "x"}),
    ("grant_types", {"grant_types": ["magic"]}),
    ("response_types", {"response_types": ["magic"]}),
    ("scope", {"scope": 'a"b'}),
    ("redirect_uris", {"redirect_uris": ["/x"]}),
    ("post_logout_redirect_uris", {"post_logout_redirect_uris": ["https://a.example/"]}),
    ("client_secret", {"client_secret": "1"}),
    ("audience", {"audience": ["a b"]}),
    ("allowed_cors_origins", {"allowed_cors_origins": ["x"]}),
    ("policy_uri", {"policy_uri": "/x"}),
    ("tos_uri", {"tos_uri": "/x"}),
    ("client_uri", {"client_uri": "/x"}),
    ("logo_uri", {"logo_uri": "/x"}),
    ("frontchannel_logout_uri", {"frontchannel_logout_uri": "/x"}),
    ("backchannel_logout_uri", {"backchannel_logout_uri": "/x"}),
    ("subject_type", {"subject_type": "magic"}),
    ("sector_identifier_uri", {"sector_identifier_uri": "http://app.example/s"}),
    ("jwks", {"jwks": {"keys": [1]}}),
    ("jwks_uri", {"jwks_uri": "http://app.example/jwks"}),
    ("token_endpoint_auth_signing_alg", {"token_endpoint_auth_signing_alg": "x"}),
    ("access_token_strategy", {"access_token_strategy": "x"}),
    ("metadata", {"metadata": []}),
    (
        "authorization_code_grant_access_token_lifespan",
        {"authorization_code_grant_access_token_lifespan": "0"},
    ),
    (
        "authorization_code_grant_id_token_lifespan",
        {"authorization_code_grant_id_token_lifespan": "0"},
    ),
    (
        "authorization_code_grant_refresh_token_lifespan",
        {"authorization_code_grant_refresh_token_lifespan": "0"},
    ),
    (
        "client_credentials_grant_access_token_lifespan",
        {"client_credentials_grant_access_token_lifespan": "0"},
    ),
    ("implicit_grant_access_token_lifespan", {"implicit_grant_access_token_lifespan": "0"}),
    ("implicit_grant_id_token_lifespan", {"implicit_grant_id_token_lifespan": "0"}),
    ("jwt_bearer_grant_access_token_lifespan", {"jwt_bearer_grant_access_token_lifespan": "0"}),
    (
        "refresh_token_grant_access_token_lifespan",
        {"refresh_token_grant_access_token_lifespan": "0"},
    ),
    ("refresh_token_grant_id_token_lifespan", {"refresh_token_grant_id_token_lifespan": "0"}),
    (
        "refresh_token_grant_refresh_token_lifespan",
        {"refresh_token_grant_refresh_token_lifespan": "0"},
    ),
    ("client_secret_expires_at", {"client_secret_expires_at": -1}),
    ("request_uris", {"request_uris": ["https://app.example/r"]}),
    ("request_object_signing_alg", {"request_object_signing_alg": "x"}),
    ("userinfo_signed_response_alg", {"userinfo_signed_response_alg": "RS256"}),
    ("id_token_signed_response_alg", {"id_token_signed_response_alg": "HS256"}),
    ("client_name", {"client_name": "n" * 256}),
    ("owner", {"owner": "o" * 256}),
    ("unknown", {"zzz": 1}),
]

# The same for values of the wrong JSON type (the booleans only have this kind).
TYPE_ORDER = [
    ("client_id", {"client_id": 5}),
    ("token_endpoint_auth_method", {"token_endpoint_auth_method": 5}),
    ("grant_types", {"grant_types": 5}),
    ("response_types", {"response_types": 5}),
    ("scope", {"scope": 5}),
    ("redirect_uris", {"redirect_uris": 5}),
    ("post_logout_redirect_uris", {"post_logout_redirect_uris": 5}),
    ("client_secret", {"client_secret": 5}),
    ("audience", {"audience": 5}),
    ("contacts", {"contacts": 5}),
    ("allowed_cors_origins", {"allowed_cors_origins": 5}),
    ("policy_uri", {"policy_uri": 5}),
    ("tos_uri", {"tos_uri": 5}),
    ("client_uri", {"client_uri": 5}),
    ("logo_uri", {"logo_uri": 5}),
    ("frontchannel_logout_uri", {"frontchannel_logout_uri": 5}),
    ("backchannel_logout_uri", {"backchannel_logout_uri": 5}),
    ("subject_type", {"subject_type": 5}),
    ("sector_identifier_uri", {"sector_identifier_uri": 5}),
    ("jwks", {"jwks": 5}),
    ("jwks_uri", {"jwks_uri": 5}),
    ("token_endpoint_auth_signing_alg", {"token_endpoint_auth_signing_alg": 5}),
    ("access_token_strategy", {"access_token_strategy": 5}),
    ("metadata", {"metadata": 5}),
    (
        "authorization_code_grant_access_token_lifespan",
        {"authorization_code_grant_access_token_lifespan": 5},
    ),
    (
        "authorization_code_grant_id_token_lifespan",
        {"authorization_code_grant_id_token_lifespan": 5},
    ),
    (
        "authorization_code_grant_refresh_token_lifespan",
        {"authorization_code_grant_refresh_token_lifespan": 5},
    ),
    (
        "client_credentials_grant_access_token_lifespan",
        {"client_credentials_grant_access_token_lifespan": 5},
    ),
    ("implicit_grant_access_token_lifespan", {"implicit_grant_access_token_lifespan": 5}),
    ("implicit_grant_id_token_lifespan", {"implicit_grant_id_token_lifespan": 5}),
    ("jwt_bearer_grant_access_token_lifespan", {"jwt_bearer_grant_access_token_lifespan": 5}),
    ("refresh_token_grant_access_token_lifespan", {"refresh_token_grant_access_token_lifespan": 5}),
    ("refresh_token_grant_id_token_lifespan", {"refresh_token_grant_id_token_lifespan": 5}),
    (
        "refresh_token_grant_refresh_token_lifespan",
        {"refresh_token_grant_refresh_token_lifespan": 5},
    ),
    ("client_secret_expires_at", {"client_secret_expires_at": "5"}),
    ("request_uris", {"request_uris": 5}),
    ("request_object_signing_alg", {"request_object_signing_alg": 5}),
    ("userinfo_signed_response_alg", {"userinfo_signed_response_alg": 5}),
    ("id_token_signed_response_alg", {"id_token_signed_response_alg": 5}),
    ("client_name", {"client_name": 5}),
    ("skip_consent", {"skip_consent": 5}),
    ("skip_logout_consent", {"skip_logout_consent": 5}),
    ("owner", {"owner": 5}),
    ("frontchannel_logout_session_required", {"frontchannel_logout_session_required": 5}),
    ("backchannel_logout_session_required", {"backchannel_logout_session_required": 5}),
    ("require_pushed_authorization_requests", {"require_pushed_authorization_requests": 5}),
    ("dpop_bound_access_tokens", {"dpop_bound_access_tokens": 5}),
    ("unknown", {"unknown": 5}),
]


@pytest.mark.parametrize("chain", [VALUE_ORDER, TYPE_ORDER], ids=["values", "types"])
def test_the_first_failing_check_decides_the_message(chain):
    alone = {name: outcome(document, {}) for name, document in chain}
    assert all(result[0] == "bad" for result in alone.values())
    assert len({result[3] for result in alone.values()}) == len(chain)
    wrong = []
    for (first, early), (second, late) in combinations(chain, 2):
        for document in ({**early, **late}, {**late, **early}):
            if outcome(document, {}) != alone[first]:
                wrong.append((first, second))
    assert wrong == []


def test_the_table_covers_every_field():
    named = {name for chain in (VALUE_ORDER, TYPE_ORDER) for name, _ in chain}
    client_fields = {f.name for f in fields(Client)} - {"lifespans", "created_at", "updated_at"}
    assert client_fields | set(LIFESPAN_FIELDS) <= named | {"client_secret_expires_at"}
