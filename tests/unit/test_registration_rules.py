"""``validate_registration`` as a table: documents a client sends to ``/oauth2/register``
in, accepted (with what it gets) or refused (with the RFC 7591 error code and the field
named) out; then the registration access token helpers."""

from __future__ import annotations

import pytest

from authserver.domain.clients import LIFESPAN_FIELDS, Client, InvalidClientMetadata
from authserver.domain.registration import (
    MAX_ITEMS,
    keep_admin_fields,
    new_registration_token,
    registration_token_digest,
    registration_token_matches,
    validate_registration,
)

DEFAULT_SCOPE = ("openid", "offline")
CB = "https://app.example/cb"
CODE = {"redirect_uris": [CB]}
CC = {"grant_types": ["client_credentials"]}
META = "invalid_client_metadata"
REDIRECT = "invalid_redirect_uri"


def register(document, **kwargs):
    return validate_registration(document, default_scope=DEFAULT_SCOPE, **kwargs)


ACCEPTED = [
    # (id, document, what the client gets)
    ("code client", CODE, {"redirect_uris": (CB,), "scope": "openid offline"}),
    ("no scope: the default", CC, {"scope": "openid offline"}),
    ("blank scope: the default", {**CC, "scope": "  "}, {"scope": "openid offline"}),
    ("own scope", {**CC, "scope": "read write"}, {"scope": "read write"}),
    ("public client", {**CODE, "token_endpoint_auth_method": "none"}, {"is_public": True}),
    ("loopback http", {"redirect_uris": ["http://127.0.0.1:8080/cb"]}, {}),
    ("localhost http", {"redirect_uris": ["http://localhost/cb"]}, {}),
    ("ipv6 loopback", {"redirect_uris": ["http://[::1]:9/cb"]}, {}),
    ("query kept", {"redirect_uris": ["https://app.example/cb?x=1"]}, {}),
    ("empty admin fields", {**CC, "metadata": {}, "skip_consent": False, "owner": ""}, {}),
    ("null admin fields", {**CC, "metadata": None, "access_token_strategy": None}, {}),
    ("secret never expires", {**CC, "client_secret_expires_at": 0}, {}),
    ("response-only field", {**CC, "client_id_issued_at": 1700000000}, {}),
    ("server fields ignored", {**CC, "registration_access_token": "x"}, {}),
    ("at the bounds", {"redirect_uris": [f"{CB}{i}" for i in range(20)]}, {}),
    ("https web pages", {**CC, "logo_uri": "https://app.example/l.png"}, {}),
    ("https origin", {**CC, "allowed_cors_origins": ["https://app.example"]}, {}),
]

REFUSED = [
    # (id, document, error code, field named in the message)
    ("metadata", {**CC, "metadata": {"tier": "gold"}}, META, "metadata"),
    ("skip_consent", {**CODE, "skip_consent": True}, META, "skip_consent"),
    ("skip_logout_consent", {**CODE, "skip_logout_consent": True}, META, "skip_logout_consent"),
    ("token strategy", {**CC, "access_token_strategy": "jwt"}, META, "access_token_strategy"),
    ("owner", {**CC, "owner": "someone-else"}, META, "owner"),
    ("expiring secret", {**CC, "client_secret_expires_at": 1}, META, "client_secret_expires_at"),
    *((name, {**CC, name: "1h"}, META, name) for name in (LIFESPAN_FIELDS[0], LIFESPAN_FIELDS[-1])),
    ("chosen id", {**CC, "client_id": "mine"}, META, "client_id"),
    ("chosen secret", {**CC, "client_secret": "s3cret-s3cret"}, META, "client_secret"),
    ("unknown field", {**CC, "colour": "blue"}, META, "colour"),
    ("not an object", ["a"], META, "JSON object"),
    ("custom scheme", {"redirect_uris": ["com.example.app:/cb"]}, REDIRECT, "redirect_uris"),
    ("fragment", {"redirect_uris": [CB + "#x"]}, REDIRECT, "redirect_uris"),
    ("user info", {"redirect_uris": ["https://app.example@evil.example/"]}, REDIRECT, "redirect"),
    ("http elsewhere", {"redirect_uris": ["http://app.example/cb"]}, REDIRECT, "redirect_uris"),
    ("javascript", {"redirect_uris": ["javascript:alert(1)"]}, REDIRECT, "redirect_uris"),
    ("no host", {"redirect_uris": ["https:///cb"]}, REDIRECT, "redirect_uris"),
    ("long URL", {"redirect_uris": [CB + "x" * 2048]}, REDIRECT, "redirect_uris"),
    ("code without redirect", {}, REDIRECT, "redirect_uris"),
    (
        "http logout page",
        {**CODE, "post_logout_redirect_uris": ["http://app.example/bye"]},
        REDIRECT,
        "post_logout_redirect_uris",
    ),
    ("http logo", {**CC, "logo_uri": "http://app.example/l.png"}, META, "logo_uri"),
    ("http origin", {**CC, "allowed_cors_origins": ["http://app.example"]}, META, "allowed_cors"),
    (
        "backchannel http",
        {**CC, "backchannel_logout_uri": "http://10.0.0.1/x"},
        META,
        "backchannel_logout_uri",
    ),
    (
        "public with client_credentials",
        {**CC, "token_endpoint_auth_method": "none"},
        META,
        "grant_types",
    ),
    ("implicit", {**CODE, "grant_types": ["implicit"]}, META, "grant_types"),
    (
        "private_key_jwt without keys",
        {**CC, "token_endpoint_auth_method": "private_key_jwt"},
        META,
        "jwks",
    ),
    ("scope not a string", {**CC, "scope": 5}, META, "scope"),
    ("too many scopes", {**CC, "scope": " ".join(f"s{i}" for i in range(51))}, META, "scope"),
    *(
        (
            f"too many {name}",
            {**CC, name: [f"https://x.example/{i}" for i in range(limit + 1)]},
            META,
            name,
        )
        for name, limit in MAX_ITEMS.items()
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"), [case[1:] for case in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted(document, expected):
    validated = register(dict(document))
    client = validated.client
    for name, value in expected.items():
        assert getattr(client, name) == value, name
    assert client.client_id and client.client_id != document.get("client_id")
    assert (validated.secret is None) == (not client.has_secret)


@pytest.mark.parametrize(
    ("document", "error", "field"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused(document, error, field):
    with pytest.raises(InvalidClientMetadata) as raised:
        register(document)
    assert raised.value.error == error
    assert field in str(raised.value)


def test_update_keeps_the_id_and_generates_no_secret():
    validated = register({**CC, "client_id": "c-1"}, client_id="c-1")
    assert validated.client.client_id == "c-1" and validated.secret is None
    with pytest.raises(InvalidClientMetadata, match="client_id"):
        register({**CC, "client_id": "c-2"}, client_id="c-1")
    with pytest.raises(InvalidClientMetadata, match="skip_consent"):
        register({**CC, "skip_consent": True}, client_id="c-1")


def test_an_update_keeps_what_the_administrator_set():
    stored = Client(
        "c-1",
        metadata={"tier": "gold"},
        skip_consent=True,
        owner="team",
        access_token_strategy="jwt",
        lifespans={LIFESPAN_FIELDS[0]: "1h"},
    )
    updated = keep_admin_fields(register({**CC}, client_id="c-1").client, stored)
    assert updated.metadata == {"tier": "gold"} and updated.skip_consent is True
    assert (updated.owner, updated.access_token_strategy) == ("team", "jwt")
    assert updated.lifespans == {LIFESPAN_FIELDS[0]: "1h"}
    assert updated.grant_types == ("client_credentials",)


def test_registration_tokens():
    token = new_registration_token()
    assert len(token) >= 43 and token != new_registration_token()
    digest = registration_token_digest(token)
    assert len(digest) == 64 and token not in digest
    assert registration_token_matches(digest, token)
    assert not registration_token_matches(digest, token[:-1])
    assert not registration_token_matches(digest, "")
    assert not registration_token_matches(None, token)
    assert not registration_token_matches(None, "")
    assert not registration_token_matches(digest, "\ud800")  # a lone surrogate: no crash
