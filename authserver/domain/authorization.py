"""Validation of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).

The checks run in the order of ``_CHECKS`` below, a table that reads top to bottom. The
first two (client and redirect URI) fail *without* a redirect: until the redirect URI is
known to be the client's, sending the browser there would make us an open redirector
(RFC 6749 §4.1.2.1). Every later failure is returned to the client's redirect URI.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from authserver.domain.clients import Client
from authserver.domain.grants_allowed import audience_not_allowed, scopes_not_allowed
from authserver.domain.resources import InvalidTarget, check_allowed, parse_resources

SUPPORTED_PROMPTS = ("none", "login", "consent", "select_account")
DISPLAY_VALUES = ("page", "popup", "touch", "wap")
# RFC 7636 §4.1 / §4.2: 43 to 128 characters of the unreserved set.
_CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_SECONDS = re.compile(r"[0-9]{1,10}")
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
_SINGLE_VALUED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
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
    "dpop_jkt",
)
MAX_PARAMETER_LENGTH = 2048
# Hydra's minimum: a shorter state cannot carry enough entropy to stop CSRF.
MIN_STATE_LENGTH = 8


class AuthorizationError(Exception):
    """An invalid authorization request. ``redirect``: whether the error may be sent to the
    client's redirect URI (False for errors about the client or the redirect URI itself)."""

    def __init__(self, error: str, description: str, redirect: bool = True):
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect
        # Set when ``redirect`` is True: where to send the error, and the client's state.
        self.redirect_uri = ""
        self.state = ""


@dataclass(frozen=True)
class AuthorizationRequest:
    """A valid authorization request, as stored with its flow."""

    client_id: str
    redirect_uri: str
    response_type: str = "code"
    scope: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    state: str = ""
    nonce: str = ""
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str = ""
    acr_values: tuple[str, ...] = ()
    ui_locales: tuple[str, ...] = ()
    display: str = ""
    id_token_hint: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    redirect_uri_given: bool = True  # RFC 6749 §4.1.3: then the token request repeats it
    # RFC 8707: the resources asked for (also in ``audience``, which the consent app sees).
    resource: tuple[str, ...] = ()
    # RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    dpop_jkt: str = ""

    def to_json(self) -> dict[str, Any]:
        # Every field is a string, number, flag or tuple of strings: no deep copy needed
        # (dataclasses.asdict's cost a tenth of the authorization request's CPU).
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name in _REQUEST_FIELDS
            for value in (getattr(self, name),)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthorizationRequest:
        values = dict(data)
        for key in ("scope", "audience", "prompt", "acr_values", "ui_locales", "resource"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)


_REQUEST_FIELDS = tuple(f.name for f in fields(AuthorizationRequest))


@dataclass
class _Draft:
    params: Mapping[str, Sequence[str]]
    client: Client | None
    pkce_enforced: bool
    pkce_enforced_for_public_clients: bool
    pushed: bool = False  # the parameters came (or are coming) through /oauth2/par
    par_required: bool = False  # OAUTH2_PUSHED_AUTHORIZATION_REQUESTS_ENFORCED
    values: dict[str, Any] = field(default_factory=dict)

    def one(self, name: str) -> str:
        values = self.params.get(name) or []
        return values[0] if values else ""


def _fail(error: str, description: str, redirect: bool = True) -> AuthorizationError:
    return AuthorizationError(error, description, redirect)


# -- checks that cannot redirect -------------------------------------------------------


def _check_client(draft: _Draft) -> None:
    if len(draft.params.get("client_id") or []) > 1:
        raise _fail("invalid_request", "The client_id parameter was sent more than once.", False)
    if not draft.one("client_id"):
        raise _fail("invalid_request", "The client_id parameter is missing.", False)
    if draft.client is None:
        raise _fail("invalid_client", "The client does not exist on this server.", False)


def _check_redirect_uri(draft: _Draft) -> None:
    if len(draft.params.get("redirect_uri") or []) > 1:
        raise _fail("invalid_request", "The redirect_uri parameter was sent more than once.", False)
    given = draft.one("redirect_uri")
    registered = draft.client.redirect_uris
    if given:
        if given not in registered:  # exact string match, RFC 6749 §3.1.2.3
            raise _fail(
                "invalid_request",
                "The redirect_uri does not exactly match any redirect URI registered for "
                "the client.",
                False,
            )
        draft.values["redirect_uri"] = given
        return
    if len(registered) != 1:
        raise _fail(
            "invalid_request",
            "The redirect_uri parameter is required: the client has "
            f"{len(registered)} registered redirect URIs.",
            False,
        )
    draft.values["redirect_uri"] = registered[0]
    draft.values["redirect_uri_given"] = False


# -- checks whose errors go back to the client -------------------------------------------


def _check_parameters(draft: _Draft) -> None:
    for name in _SINGLE_VALUED:
        values = draft.params.get(name) or []
        if len(values) > 1:
            raise _fail("invalid_request", f"The {name} parameter was sent more than once.")
        if values and len(values[0]) > MAX_PARAMETER_LENGTH:
            raise _fail("invalid_request", f"The {name} parameter is too long.")
    if draft.one("request"):
        raise _fail("request_not_supported", "Request objects are not supported.")
    if draft.params.get("request_uri"):
        # The authorization endpoint redeems a pushed request's request_uri (RFC 9126 §4)
        # before validation; one seen here is inside a push (which cannot nest another,
        # §2.1) or a request object by reference (RFC 9101), which is not offered.
        if draft.pushed:
            raise _fail("invalid_request", "A pushed request cannot carry a request_uri.")
        raise _fail(
            "request_uri_not_supported",
            "Only request_uri values from this server's pushed authorization request "
            "endpoint are accepted.",
        )
    draft.values["state"] = draft.one("state")


def _check_pushed(draft: _Draft) -> None:
    """RFC 9126 §5 and §6: PAR may be required server-wide or for this client."""
    if draft.pushed:
        return
    if draft.par_required or draft.client.require_pushed_authorization_requests:
        raise _fail(
            "invalid_request",
            "Pushed authorization requests are required: POST the parameters to "
            "/oauth2/par first, then send client_id and request_uri (RFC 9126).",
        )


def _check_state(draft: _Draft) -> None:
    """``state`` is the client's CSRF protection; PKCE protects as well (RFC 9700 §2.1
    allows either). So a request needs one of them; Hydra requires state always."""
    state = draft.one("state")
    if state and len(state) < MIN_STATE_LENGTH:
        raise _fail(
            "invalid_request",
            f"The state parameter must be at least {MIN_STATE_LENGTH} characters long to "
            "carry enough entropy.",
        )
    if not state and not draft.one("code_challenge"):
        raise _fail(
            "invalid_request",
            "The state parameter is missing: send state, or protect the request with PKCE "
            "(code_challenge).",
        )


def _check_response_type(draft: _Draft) -> None:
    response_type = " ".join(sorted(draft.one("response_type").split()))
    if not response_type:
        raise _fail("invalid_request", "The response_type parameter is missing.")
    if response_type != "code":
        raise _fail(
            "unsupported_response_type",
            "Only response_type=code is supported (the implicit and hybrid flows are not offered).",
        )
    if "code" not in draft.client.response_types:
        raise _fail("unauthorized_client", "The client may not use response_type=code.")
    if "authorization_code" not in draft.client.grant_types:
        raise _fail("unauthorized_client", "The client may not use the authorization_code grant.")
    mode = draft.one("response_mode")
    if mode and mode != "query":
        raise _fail("invalid_request", "Only response_mode=query is supported.")
    draft.values["response_type"] = response_type


def _check_scope(draft: _Draft) -> None:
    scopes = list(dict.fromkeys(draft.one("scope").split()))
    for scope in scopes:
        if not _SCOPE_TOKEN.fullmatch(scope):
            raise _fail("invalid_scope", "The scope parameter contains an invalid character.")
    not_allowed = scopes_not_allowed(draft.client, scopes)
    if not_allowed:
        raise _fail(
            "invalid_scope",
            f"The client is not allowed to request scope '{' '.join(not_allowed)}'.",
        )
    draft.values["scope"] = tuple(scopes)


def _check_audience(draft: _Draft) -> None:
    audience = [item for value in draft.params.get("audience") or [] for item in value.split()]
    audience = list(dict.fromkeys(audience))
    outside = audience_not_allowed(draft.client, audience)
    if outside:
        raise _fail(
            "invalid_request",
            f"Requested audience '{' '.join(outside)}' has not been allowed for this client.",
        )
    draft.values["audience"] = tuple(audience)


def _check_resource(draft: _Draft) -> None:
    """RFC 8707: each resource is one more audience the client must be allowed."""
    try:
        resources = parse_resources(draft.params.get("resource") or [])
        check_allowed(draft.client, resources)
    except InvalidTarget as exc:
        raise _fail(exc.error, str(exc)) from None
    draft.values["resource"] = resources
    draft.values["audience"] = tuple(dict.fromkeys((*draft.values["audience"], *resources)))


def _check_prompt_and_max_age(draft: _Draft) -> None:
    prompts = list(dict.fromkeys(draft.one("prompt").split()))
    unknown = [prompt for prompt in prompts if prompt not in SUPPORTED_PROMPTS]
    if unknown:
        raise _fail("invalid_request", f"Unsupported prompt value '{' '.join(unknown)}'.")
    if "none" in prompts and len(prompts) > 1:
        raise _fail("invalid_request", "prompt=none cannot be combined with other values.")
    draft.values["prompt"] = tuple(prompts)
    raw = draft.one("max_age")
    if raw:
        if not _SECONDS.fullmatch(raw):
            raise _fail("invalid_request", "max_age must be a whole number of seconds.")
        draft.values["max_age"] = int(raw)
    display = draft.one("display")
    if display and display not in DISPLAY_VALUES:
        raise _fail("invalid_request", "display must be one of page, popup, touch, wap.")
    draft.values["display"] = display


def _check_pkce(draft: _Draft) -> None:
    """RFC 7636 with S256 only. ``plain`` offers no protection against a leaked request
    and Authlib would even default to it when the method is omitted: both are refused."""
    challenge = draft.one("code_challenge")
    method = draft.one("code_challenge_method")
    if not challenge:
        if method:
            raise _fail("invalid_request", "code_challenge_method was sent without code_challenge.")
        if draft.pkce_enforced or (
            draft.client.is_public and draft.pkce_enforced_for_public_clients
        ):
            raise _fail(
                "invalid_request",
                "PKCE is required: send code_challenge and code_challenge_method=S256.",
            )
        return
    if method != "S256":
        raise _fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain and an omitted method are not accepted).",
        )
    if not _CODE_CHALLENGE.fullmatch(challenge):
        raise _fail("invalid_request", "The code_challenge is malformed (RFC 7636 section 4.2).")
    draft.values["code_challenge"] = challenge
    draft.values["code_challenge_method"] = method


def _copy_openid_parameters(draft: _Draft) -> None:
    draft.values["nonce"] = draft.one("nonce")
    draft.values["login_hint"] = draft.one("login_hint")
    draft.values["id_token_hint"] = draft.one("id_token_hint")
    draft.values["acr_values"] = tuple(draft.one("acr_values").split())
    draft.values["ui_locales"] = tuple(draft.one("ui_locales").split())


def _check_dpop_jkt(draft: _Draft) -> None:
    """RFC 9449 §10: a JWK SHA-256 thumbprint (43 base64url characters)."""
    jkt = draft.one("dpop_jkt")
    if jkt and not _THUMBPRINT.fullmatch(jkt):
        raise _fail("invalid_request", "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 9449).")
    draft.values["dpop_jkt"] = jkt


_CHECKS: tuple[Callable[[_Draft], None], ...] = (
    _check_client,  # no redirect on failure
    _check_redirect_uri,  # no redirect on failure
    _check_parameters,
    _check_pushed,
    _check_state,
    _check_response_type,
    _check_scope,
    _check_audience,
    _check_resource,  # needs audience
    _check_prompt_and_max_age,
    _check_pkce,
    _copy_openid_parameters,
    _check_dpop_jkt,
)


def validate_authorization_request(
    params: Mapping[str, Sequence[str]],
    client: Client | None,
    *,
    pkce_enforced: bool = False,
    pkce_enforced_for_public_clients: bool = True,
    pushed: bool = False,
    par_required: bool = False,
) -> AuthorizationRequest:
    """Run the checks in order; raise ``AuthorizationError`` at the first failure.
    ``pushed``: the parameters are a pushed request's (at /oauth2/par, or redeemed)."""
    draft = _Draft(
        params, client, pkce_enforced, pkce_enforced_for_public_clients, pushed, par_required
    )
    for check in _CHECKS:
        try:
            check(draft)
        except AuthorizationError as exc:
            if exc.redirect:
                exc.redirect_uri = draft.values["redirect_uri"]
                exc.state = draft.one("state")[:MAX_PARAMETER_LENGTH]
            raise
    return AuthorizationRequest(client_id=client.client_id, **draft.values)
