"""Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): the exact claims and header,
never a nonce, and a signature the client verifies with the server's published keys."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from authserver.config import load_settings
from authserver.oauth2.logout_tokens import (
    BACKCHANNEL_LOGOUT_EVENT,
    LOGOUT_TOKEN_TTL,
    LogoutTokens,
)
from authserver.public.app import create_public_app
from authserver.services import build_services
from authserver.storage.migrations import upgrade

ISSUER = "http://127.0.0.1:4444/"


@pytest.fixture(scope="module")
def services():
    settings = load_settings(
        env={"DSN": "memory", "SECRETS_SYSTEM": "s" * 32, "URLS_SELF_ISSUER": ISSUER}
    )
    built = build_services(settings)
    upgrade(built.database)
    yield built
    built.close()


def issue(services, **names) -> str:
    tokens = LogoutTokens(services.keys, services.settings.issuer, services.clock)
    with services.database.transaction() as session:
        return tokens.issue(session, client_id="app", **names)


def published_keys(services) -> KeySet:
    client = create_public_app(services, hot_paths=False).test_client()
    return KeySet.import_key_set(client.get("/.well-known/jwks.json").json)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"subject": "alice", "sid": "s-1"}, {"sub": "alice", "sid": "s-1"}),
        ({"subject": "alice", "sid": ""}, {"sub": "alice"}),
        ({"subject": "", "sid": "s-1"}, {"sid": "s-1"}),
    ],
    ids=["sub-and-sid", "sub-only", "sid-only"],
)
def test_the_claims_and_header_are_exactly_the_specs(services, names, expected):
    token = issue(services, **names)
    decoded = jwt.decode(token, published_keys(services), algorithms=["RS256"])
    claims = decoded.claims
    assert decoded.header["typ"] == "logout+jwt" and decoded.header["kid"]
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "events", *expected}
    assert claims["iss"] == services.settings.issuer and claims["aud"] == ["app"]
    assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}
    assert claims["exp"] - claims["iat"] == LOGOUT_TOKEN_TTL
    assert {name: claims[name] for name in expected} == expected
    assert "nonce" not in claims


def test_every_token_has_its_own_jti(services):
    first = jwt.decode(issue(services, subject="a", sid=""), published_keys(services))
    second = jwt.decode(issue(services, subject="a", sid=""), published_keys(services))
    assert first.claims["jti"] != second.claims["jti"]


def test_a_token_names_a_subject_or_a_session(services):
    with pytest.raises(ValueError):
        issue(services, subject="", sid="")
