"""Hydra's rule: a client is granted only scopes and audiences from its own lists."""

from __future__ import annotations

import pytest

from authserver.domain.clients import Client
from authserver.domain.grants_allowed import audience_not_allowed, scopes_not_allowed

CLIENT = Client(
    client_id="app",
    scope="openid offline  profile",
    audience=("https://api.example", "https://other.example"),
)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        pytest.param([], [], id="none"),
        pytest.param(["openid", "profile"], [], id="allowed"),
        pytest.param(["openid", "admin", "email"], ["admin", "email"], id="in-order"),
        pytest.param(["admin", "admin"], ["admin", "admin"], id="duplicates-kept"),
        pytest.param(["OpenID"], ["OpenID"], id="case-sensitive"),
        pytest.param(["open"], ["open"], id="no-prefix-match"),
        pytest.param(["openid offline"], ["openid offline"], id="not-split"),
        pytest.param(iter(["admin"]), ["admin"], id="any-iterable"),
    ],
)
def test_scopes_not_allowed(scopes, expected):
    assert scopes_not_allowed(CLIENT, scopes) == expected


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        pytest.param((), [], id="none"),
        pytest.param(("https://api.example",), [], id="allowed"),
        pytest.param(
            ("https://evil.example", "https://api.example", "https://x.example"),
            ["https://evil.example", "https://x.example"],
            id="in-order",
        ),
        pytest.param(("https://api.example/",), ["https://api.example/"], id="exact-match"),
        pytest.param(["a", "a"], ["a", "a"], id="duplicates-kept"),
    ],
)
def test_audience_not_allowed(audience, expected):
    assert audience_not_allowed(CLIENT, audience) == expected


def test_a_client_without_lists_is_allowed_nothing():
    bare = Client(client_id="bare", scope="", audience=())
    assert scopes_not_allowed(bare, ["openid"]) == ["openid"]
    assert audience_not_allowed(bare, ["https://api.example"]) == ["https://api.example"]
