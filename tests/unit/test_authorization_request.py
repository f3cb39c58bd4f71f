"""Validation of authorization requests: the table of checks in domain/authorization.py."""

from __future__ import annotations

import json

import pytest

from authserver.domain.authorization import (
    MAX_PARAMETER_LENGTH,
    AuthorizationError,
    AuthorizationRequest,
    validate_authorization_request,
)
from authserver.domain.clients import Client, validate_client_document

REDIRECT = "https://app.example/cb"
STATE = "state-123"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


def make_client(**fields) -> Client:
    document = {
        "client_id": "app",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access offline profile email",
        "audience": ["https://api.example", "https://other.example"],
        **fields,
    }
    return validate_client_document(document).client


CLIENTS = {
    "confidential": make_client(),
    "public": make_client(token_endpoint_auth_method="none"),
    "two-redirects": make_client(redirect_uris=[REDIRECT, "https://app.example/other"]),
    "no-redirects": make_client(redirect_uris=[]),
    "no-code-grant": make_client(grant_types=["client_credentials"]),
    "no-code-response": make_client(response_types=["id_token"]),
}


def base_params(**overrides) -> dict[str, list[str]]:
    params = {
        "client_id": ["app"],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "state": [STATE],
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def validate(params, client="confidential", **kwargs) -> AuthorizationRequest:
    return validate_authorization_request(params, CLIENTS[client] if client else None, **kwargs)


# -- valid requests ------------------------------------------------------------------------


def test_minimal_request_defaults():
    request = validate(base_params())
    assert request == AuthorizationRequest(client_id="app", redirect_uri=REDIRECT, state=STATE)
    assert request.response_type == "code"
    assert request.scope == ()
    assert request.audience == ()
    assert request.nonce == ""
    assert request.prompt == ()
    assert request.max_age is None
    assert request.display == ""
    assert request.ui_locales == ()
    assert request.acr_values == ()
    assert request.code_challenge == ""
    assert request.code_challenge_method == ""
    assert request.redirect_uri_given is True


def test_state_may_be_omitted_when_pkce_protects_the_request():
    """RFC 9700 §2.1: PKCE is CSRF protection too (Hydra requires state regardless)."""
    request = validate(
        base_params(state=None, code_challenge=[CHALLENGE], code_challenge_method=["S256"])
    )
    assert request.state == ""
    assert request.code_challenge == CHALLENGE


def test_state_of_exactly_the_minimum_length_is_accepted():
    assert validate(base_params(state=["12345678"])).state == "12345678"


def test_state_and_nonce_are_kept():
    request = validate(base_params(nonce=["n-1"], login_hint=["alice"], id_token_hint=["eyJ"]))
    assert request.state == STATE
    assert request.nonce == "n-1"
    assert request.login_hint == "alice"
    assert request.id_token_hint == "eyJ"


def test_redirect_uri_omitted_with_one_registered():
    request = validate(base_params(redirect_uri=None))
    assert request.redirect_uri == REDIRECT
    assert request.redirect_uri_given is False


def test_redirect_uri_chosen_among_several():
    request = validate(base_params(redirect_uri=["https://app.example/other"]), "two-redirects")
    assert request.redirect_uri == "https://app.example/other"
    assert request.redirect_uri_given is True


def test_scope_is_deduplicated_in_order():
    request = validate(base_params(scope=["openid  offline openid\temail offline"]))
    assert request.scope == ("openid", "offline", "email")


def test_audience_split_on_spaces_and_repeated_parameters():
    request = validate(
        base_params(
            audience=[
                "https://api.example https://other.example",
                "https://api.example",
            ]
        )
    )
    assert request.audience == ("https://api.example", "https://other.example")


def test_openid_parameters_parsed():
    request = validate(
        base_params(
            prompt=["login consent login"],
            max_age=["300"],
            display=["popup"],
            ui_locales=["fr-CA en"],
            acr_values=["urn:acr:2 urn:acr:1"],
        )
    )
    assert request.prompt == ("login", "consent")
    assert request.max_age == 300
    assert request.display == "popup"
    assert request.ui_locales == ("fr-CA", "en")
    assert request.acr_values == ("urn:acr:2", "urn:acr:1")


@pytest.mark.parametrize("prompt", ["none", "login", "consent", "select_account"])
def test_each_supported_prompt(prompt):
    assert validate(base_params(prompt=[prompt])).prompt == (prompt,)


@pytest.mark.parametrize("display", ["page", "popup", "touch", "wap"])
def test_each_display_value(display):
    assert validate(base_params(display=[display])).display == display


def test_max_age_zero():
    assert validate(base_params(max_age=["0"])).max_age == 0


@pytest.mark.parametrize("challenge", [CHALLENGE, "a" * 43, "Z" * 128, "-._~" * 11])
def test_s256_pkce_kept(challenge):
    request = validate(
        base_params(code_challenge=[challenge], code_challenge_method=["S256"]),
        "public",
    )
    assert request.code_challenge == challenge
    assert request.code_challenge_method == "S256"


@pytest.mark.parametrize(
    ("client", "kwargs"),
    [
        ("confidential", {}),
        ("confidential", {"pkce_enforced_for_public_clients": True}),
        ("public", {"pkce_enforced_for_public_clients": False}),
    ],
)
def test_pkce_optional(client, kwargs):
    request = validate(base_params(), client, **kwargs)
    assert request.code_challenge == ""
    assert request.code_challenge_method == ""


@pytest.mark.parametrize("client", ["confidential", "public"])
def test_pkce_enforced_with_challenge(client):
    request = validate(
        base_params(code_challenge=[CHALLENGE], code_challenge_method=["S256"]),
        client,
        pkce_enforced=True,
    )
    assert request.code_challenge == CHALLENGE


def test_response_mode_query_and_response_type_spacing_accepted():
    request = validate(base_params(response_type=[" code "], response_mode=["query"]))
    assert request.response_type == "code"


def test_audience_and_other_multi_valued_parameters_may_repeat():
    request = validate(base_params(audience=["https://api.example", "https://api.example"]))
    assert request.audience == ("https://api.example",)


def test_parameters_at_the_length_limit_are_accepted():
    long = "n" * MAX_PARAMETER_LENGTH
    request = validate(base_params(nonce=[long], state=[long]))
    assert request.nonce == long
    assert request.state == long


# -- invalid requests ----------------------------------------------------------------------

NO_REDIRECT = [
    pytest.param(base_params(client_id=None), None, {}, "invalid_request", id="client_id-missing"),
    pytest.param(base_params(client_id=[""]), None, {}, "invalid_request", id="client_id-empty"),
    pytest.param(
        base_params(client_id=["app", "app"]),
        "confidential",
        {},
        "invalid_request",
        id="client_id-twice",
    ),
    pytest.param(base_params(client_id=["nope"]), None, {}, "invalid_client", id="unknown-client"),
    pytest.param(
        base_params(redirect_uri=[REDIRECT, REDIRECT]),
        "confidential",
        {},
        "invalid_request",
        id="redirect_uri-twice",
    ),
    pytest.param(
        base_params(redirect_uri=["https://evil.example/cb"]),
        "confidential",
        {},
        "invalid_request",
        id="redirect_uri-unregistered",
    ),
    pytest.param(
        base_params(redirect_uri=[REDIRECT + "/"]),
        "confidential",
        {},
        "invalid_request",
        id="redirect_uri-trailing-slash",
    ),
    pytest.param(
        base_params(redirect_uri=[REDIRECT + "?x=1"]),
        "confidential",
        {},
        "invalid_request",
        id="redirect_uri-extra-query",
    ),
    pytest.param(
        base_params(redirect_uri=["HTTPS://APP.EXAMPLE/cb"]),
        "confidential",
        {},
        "invalid_request",
        id="redirect_uri-case",
    ),
    pytest.param(
        base_params(redirect_uri=None),
        "two-redirects",
        {},
        "invalid_request",
        id="redirect_uri-omitted-two-registered",
    ),
    pytest.param(
        base_params(redirect_uri=None),
        "no-redirects",
        {},
        "invalid_request",
        id="redirect_uri-omitted-none-registered",
    ),
    pytest.param(
        base_params(redirect_uri=[REDIRECT]),
        "no-redirects",
        {},
        "invalid_request",
        id="redirect_uri-given-none-registered",
    ),
    # Later problems do not matter while the client or the redirect URI is wrong.
    pytest.param(
        base_params(redirect_uri=["https://evil.example/cb"], response_type=["token"]),
        "confidential",
        {},
        "invalid_request",
        id="bad-redirect-wins-over-bad-response-type",
    ),
]


@pytest.mark.parametrize(("params", "client", "kwargs", "error"), NO_REDIRECT)
def test_errors_without_redirect(params, client, kwargs, error):
    with pytest.raises(AuthorizationError) as info:
        validate(params, client, **kwargs)
    assert info.value.error == error
    assert info.value.redirect is False
    assert info.value.redirect_uri == ""
    assert info.value.state == ""


LONG = "x" * (MAX_PARAMETER_LENGTH + 1)
PKCE = {"code_challenge": [CHALLENGE], "code_challenge_method": ["S256"]}

REDIRECTED = [
    pytest.param(
        base_params(state=None), "confidential", {}, "invalid_request", id="no-state-no-pkce"
    ),
    pytest.param(base_params(state=[""]), "confidential", {}, "invalid_request", id="empty-state"),
    pytest.param(base_params(state=["abc"]), "confidential", {}, "invalid_request", id="state-3"),
    pytest.param(
        base_params(state=["1234567"], code_challenge=[CHALLENGE], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
        id="state-7-even-with-pkce",
    ),
    # parameters
    pytest.param(base_params(request=["eyJ.x.y"]), "confidential", {}, "request_not_supported"),
    pytest.param(
        base_params(request_uri=["https://app.example/r"]),
        "confidential",
        {},
        "request_uri_not_supported",
    ),
    # response type and mode
    pytest.param(base_params(response_type=None), "confidential", {}, "invalid_request"),
    pytest.param(base_params(response_type=[""]), "confidential", {}, "invalid_request"),
    pytest.param(
        base_params(response_type=["token"]), "confidential", {}, "unsupported_response_type"
    ),
    pytest.param(
        base_params(response_type=["code id_token"]),
        "confidential",
        {},
        "unsupported_response_type",
    ),
    pytest.param(
        base_params(response_type=["code code"]), "confidential", {}, "unsupported_response_type"
    ),
    pytest.param(
        base_params(response_type=["CODE"]), "confidential", {}, "unsupported_response_type"
    ),
    pytest.param(base_params(), "no-code-response", {}, "unauthorized_client"),
    pytest.param(base_params(), "no-code-grant", {}, "unauthorized_client"),
    pytest.param(base_params(response_mode=["fragment"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(response_mode=["form_post"]), "confidential", {}, "invalid_request"),
    # scope
    pytest.param(base_params(scope=["openid admin"]), "confidential", {}, "invalid_scope"),
    pytest.param(base_params(scope=['open"id']), "confidential", {}, "invalid_scope"),
    pytest.param(base_params(scope=["open\\id"]), "confidential", {}, "invalid_scope"),
    pytest.param(base_params(scope=["openid é"]), "confidential", {}, "invalid_scope"),
    # audience
    pytest.param(
        base_params(audience=["https://evil.example"]), "confidential", {}, "invalid_request"
    ),
    pytest.param(
        base_params(audience=["https://api.example", "https://evil.example"]),
        "confidential",
        {},
        "invalid_request",
    ),
    # prompt, max_age, display
    pytest.param(base_params(prompt=["bogus"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(prompt=["none login"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(prompt=["none consent"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["abc"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["-1"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["1.5"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=[" 10"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["\u00b2"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["\u0661\u0662"]), "confidential", {}, "invalid_request"),
    pytest.param(base_params(max_age=["10\n"]), "confidential", {}, "invalid_request"),
    pytest.param(
        base_params(code_challenge=["A" * 43 + "\n"], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(base_params(display=["fullscreen"]), "confidential", {}, "invalid_request"),
    # PKCE
    pytest.param(
        base_params(code_challenge_method=["S256"]), "confidential", {}, "invalid_request"
    ),
    pytest.param(
        base_params(code_challenge=[CHALLENGE], code_challenge_method=["plain"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(base_params(code_challenge=[CHALLENGE]), "confidential", {}, "invalid_request"),
    pytest.param(
        base_params(code_challenge=[CHALLENGE], code_challenge_method=["s256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(
        base_params(code_challenge=["a" * 42], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(
        base_params(code_challenge=["a" * 129], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(
        base_params(code_challenge=["a" * 42 + "+"], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(
        base_params(code_challenge=["a" * 42 + "="], code_challenge_method=["S256"]),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(base_params(), "confidential", {"pkce_enforced": True}, "invalid_request"),
    pytest.param(base_params(), "public", {}, "invalid_request"),
    pytest.param(
        base_params(), "public", {"pkce_enforced_for_public_clients": True}, "invalid_request"
    ),
    pytest.param(
        base_params(),
        "public",
        {"pkce_enforced": True, "pkce_enforced_for_public_clients": False},
        "invalid_request",
    ),
    # with the redirect URI omitted (one registered), errors still go to the registered one
    pytest.param(
        base_params(redirect_uri=None, scope=["admin"]), "confidential", {}, "invalid_scope"
    ),
    # the first failing check wins
    pytest.param(
        base_params(response_type=["token"], scope=["admin"]),
        "confidential",
        {},
        "unsupported_response_type",
    ),
    pytest.param(
        base_params(request=["x"], **{"nonce": ["a", "b"]}),
        "confidential",
        {},
        "invalid_request",
    ),
    pytest.param(base_params(scope=["admin"], **PKCE), "no-code-grant", {}, "unauthorized_client"),
]

SINGLE_VALUED = [
    "response_type",
    "scope",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "display",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "acr_values",
]
REDIRECTED += [
    pytest.param(
        base_params(**{name: ["a", "b"]}), "confidential", {}, "invalid_request", id=f"{name}-twice"
    )
    for name in SINGLE_VALUED
]
REDIRECTED += [
    pytest.param(
        base_params(**{name: [LONG]}), "confidential", {}, "invalid_request", id=f"{name}-too-long"
    )
    for name in SINGLE_VALUED
]


@pytest.mark.parametrize(("params", "client", "kwargs", "error"), REDIRECTED)
def test_errors_with_redirect(params, client, kwargs, error):
    with pytest.raises(AuthorizationError) as info:
        validate(params, client, **kwargs)
    assert info.value.error == error
    assert info.value.redirect is True
    assert info.value.redirect_uri == CLIENTS[client].redirect_uris[0]
    assert info.value.state == (params.get("state") or [""])[0]  # echoed as sent


def test_error_goes_to_the_redirect_uri_that_was_sent():
    params = base_params(redirect_uri=["https://app.example/other"], response_type=["token"])
    with pytest.raises(AuthorizationError) as info:
        validate(params, "two-redirects")
    assert info.value.redirect is True
    assert info.value.redirect_uri == "https://app.example/other"
    assert info.value.state == STATE


def test_error_without_state():
    with pytest.raises(AuthorizationError) as info:
        validate(base_params(state=None, response_type=["token"]))
    assert info.value.redirect is True
    assert info.value.state == ""


def test_duplicate_state_is_refused_with_the_first_value():
    with pytest.raises(AuthorizationError) as info:
        validate(base_params(state=[STATE, "other"]))
    assert info.value.error == "invalid_request"
    assert info.value.redirect is True
    assert info.value.redirect_uri == REDIRECT
    assert info.value.state == STATE


def test_too_long_state_is_refused_and_echoed_truncated():
    with pytest.raises(AuthorizationError) as info:
        validate(base_params(state=[LONG]))
    assert info.value.error == "invalid_request"
    assert info.value.redirect is True
    assert info.value.redirect_uri == REDIRECT
    assert info.value.state == LONG[:MAX_PARAMETER_LENGTH]


def test_error_attributes():
    error = AuthorizationError("invalid_scope", "bad scope")
    assert (error.error, error.description, error.redirect) == ("invalid_scope", "bad scope", True)
    assert (error.redirect_uri, error.state) == ("", "")


# -- storage form --------------------------------------------------------------------------


def test_to_json_from_json_round_trip():
    request = validate(
        base_params(
            scope=["openid offline"],
            audience=["https://api.example"],
            nonce=["n"],
            prompt=["login"],
            max_age=["60"],
            login_hint=["alice"],
            acr_values=["1 2"],
            ui_locales=["de"],
            display=["page"],
            id_token_hint=["eyJ"],
            redirect_uri=None,
            **PKCE,
        )
    )
    data = request.to_json()
    assert data["scope"] == ["openid", "offline"]
    assert data["audience"] == ["https://api.example"]
    assert data["prompt"] == ["login"]
    assert data["redirect_uri_given"] is False
    assert AuthorizationRequest.from_json(data) == request
    assert AuthorizationRequest.from_json(json.loads(json.dumps(data))) == request


def test_from_json_fills_missing_sequences():
    request = AuthorizationRequest.from_json({"client_id": "app", "redirect_uri": REDIRECT})
    assert request == AuthorizationRequest(client_id="app", redirect_uri=REDIRECT)
    assert AuthorizationRequest.from_json(request.to_json()) == request
