"""Client authentication at the token, revocation and device authorization endpoints
(RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9): one module for every endpoint.

Authlib tries each allowed method in turn, so a request whose Basic header fails is
tried again with the body's credentials, and it lets a Basic header that is not ASCII
base64 of UTF-8 escape as an exception. Here the request says which one method it uses:

* an ``Authorization`` header: HTTP Basic (``client_secret_basic``) and nothing else;
* ``client_assertion`` (with ``client_assertion_type``): a signed JWT, ``private_key_jwt``
  or, when HMAC-signed with the client secret, ``client_secret_jwt``;
* else ``client_secret`` in the body: ``client_secret_post``;
* else only ``client_id``: ``none`` (a public client).

Using more than one of the first three is ``invalid_request`` (§2.3: one method per
request); any failure after that is ``invalid_client`` (401, with ``WWW-Authenticate:
Basic``): a malformed ``Authorization`` header is named as such, an assertion says what is
wrong with it, and every other failure says what was expected, never which client ids
exist.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import unquote_to_bytes

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, UnauthorizedClientError

from authserver.domain.text import safe_description, text_problem
from authserver.oauth2.assertions import (
    AssertionRefused,
    AssertionRules,
    UnverifiedAssertion,
    check_claims,
    read_unverified,
    record_jti,
    secret_keys,
    verify_signature,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What each kind of endpoint accepts (a client still uses only the method it registered).
CONFIDENTIAL_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
]
ALL_METHODS = [*CONFIDENTIAL_METHODS, "none"]
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")


@dataclass(frozen=True)
class Credentials:
    method: str
    client_id: str
    secret: str | None
    assertion: UnverifiedAssertion | None = None


class AssertionChecks(Protocol):
    """What checking a client assertion needs from the server (``oauth2.server``)."""

    def rules(self, method: str, endpoint: str) -> AssertionRules: ...

    def public_keys(self, client, kid: str | None) -> list: ...

    def use_once(self, request) -> Callable[[str, int], bool]: ...

    def now(self) -> int: ...


MALFORMED_BASIC = (
    "The Authorization header is malformed: Basic credentials are base64 of "
    "'client_id:client_secret', each form-urlencoded UTF-8 (RFC 6749 section 2.3.1)."
)


def listed(names) -> str:
    """Names as words: ``a``, ``a or b``, ``a, b or c`` (never a Python list)."""
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _refused(description: str) -> InvalidClientError:
    # Descriptions may quote the client's input (an assertion's alg, a key id).
    return InvalidClientError(status_code=401, description=safe_description(description))


def presented_credentials(headers, form) -> Credentials:
    header = headers.get("Authorization") or ""
    body_secret = form.get("client_secret")
    assertion = form.get("client_assertion") or form.get("client_assertion_type")
    used = [name for name, value in _ways(header, body_secret, assertion) if value]
    if len(used) > 1:
        raise InvalidRequestError(
            f"The client authenticated with {listed(used)} at once; use one method per "
            "request (RFC 6749 section 2.3)."
        )
    if assertion:
        return _assertion_credentials(form)
    if header:
        client_id, secret = decode_basic(header)
        body_id = form.get("client_id")
        if body_id and body_id != client_id:
            raise InvalidRequestError("client_id in the body differs from the HTTP Basic one.")
        return Credentials("client_secret_basic", client_id, secret)
    client_id = form.get("client_id") or ""
    if body_secret:
        return Credentials("client_secret_post", client_id, body_secret)
    return Credentials("none", client_id, None)


def _ways(header, body_secret, assertion):
    return (
        ("HTTP Basic", header),
        ("client_secret in the body", body_secret),
        ("a client assertion", assertion),
    )


def _assertion_credentials(form) -> Credentials:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise InvalidRequestError(
            f"client_assertion_type must be {ASSERTION_TYPE} (RFC 7523 section 2.2)."
        )
    if not form.get("client_assertion"):
        raise InvalidRequestError("client_assertion_type was sent without client_assertion.")
    try:
        assertion = read_unverified(form["client_assertion"])
    except AssertionRefused as exc:
        raise _refused(str(exc)) from None
    issuer, subject = assertion.claim("iss"), assertion.claim("sub")
    if not issuer or issuer != subject:
        raise _refused(
            "The client assertion's iss and sub must both be the client_id (RFC 7523 section 3)."
        )
    body_id = form.get("client_id")
    if body_id and body_id != issuer:
        raise InvalidRequestError("client_id in the body differs from the assertion's iss.")
    method = "client_secret_jwt" if assertion.alg.startswith("HS") else "private_key_jwt"
    return Credentials(method, issuer, None, assertion)


def decode_basic(header: str) -> tuple[str, str]:
    """``Basic base64(urlencode(id) ":" urlencode(secret))`` (RFC 6749 §2.3.1), strictly."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _refused(
            "The Authorization header does not use the Basic scheme, the only one that "
            "authenticates clients here (RFC 6749 section 2.3.1)."
        )
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True)
        client_id, secret = (_form_decoded(part) for part in decoded.split(b":", 1))
    except (UnicodeError, binascii.Error, ValueError):
        raise _refused(MALFORMED_BASIC) from None
    if not client_id or not secret:
        raise _refused("The Authorization header's Basic credentials lack the id or the secret.")
    return client_id, secret


def _form_decoded(part: bytes) -> str:
    text = unquote_to_bytes(part).decode("utf-8")
    if text_problem(text) or not text.isprintable():
        raise ValueError("control character")
    return text


def authenticate(query_client, request, methods, endpoint: str, checks: AssertionChecks):
    """The authenticated client (an Authlib ``ClientMixin``), or ``InvalidClientError``."""
    credentials = presented_credentials(request.headers, request.form)
    if credentials.method not in methods:
        used = "no secret (none)" if credentials.method == "none" else credentials.method
        raise _refused(
            f"The client must authenticate with {listed(methods)} here; the request used {used}."
        )
    if not credentials.client_id:
        raise _refused("The client did not say who it is (no client_id, no HTTP Basic).")
    client = query_client(credentials.client_id)
    # One answer for an unknown client, a wrong secret and another registered method:
    # the endpoint must not tell which client ids exist.
    if (
        client is None
        or not client.check_endpoint_auth_method(credentials.method, endpoint)
        or (
            credentials.method in ("client_secret_basic", "client_secret_post")
            and not client.check_client_secret(credentials.secret)
        )
    ):
        raise _refused(
            "Client authentication failed (unknown client, wrong secret, or not the "
            "client's registered token_endpoint_auth_method)."
        )
    if credentials.assertion is not None:
        _check_assertion(client, credentials, endpoint, checks, request)
    request.auth_method = credentials.method
    return client


def _check_assertion(client, credentials: Credentials, endpoint, checks, request) -> None:
    rules = checks.rules(credentials.method, endpoint)
    wanted = client.client.token_endpoint_auth_signing_alg
    if wanted:
        rules = replace(rules, algorithms=(wanted,))
    assertion = credentials.assertion
    try:
        if credentials.method == "client_secret_jwt":
            keys = secret_keys(client.hmac_secrets())
        else:
            keys = checks.public_keys(client.client, assertion.kid)
        verify_signature(assertion, keys, rules)
        expires_at = check_claims(assertion, rules, checks.now())
        record_jti(checks.use_once(request), assertion, rules, client.client_id, expires_at)
    except AssertionRefused as exc:
        raise _refused(f"Client assertion refused: {exc}") from None


def client_for_grant(grant):
    """The authenticated client of a token request to an extension grant (device code,
    JWT bearer, token exchange), which must hold that grant's type (RFC 6749 §5.2
    ``unauthorized_client``); set on the request as Authlib's own grants do."""
    client = grant.authenticate_token_endpoint_client()
    if not client.check_grant_type(grant.GRANT_TYPE):
        raise UnauthorizedClientError(
            f"The client is not allowed to use the grant type '{grant.GRANT_TYPE}'."
        )
    grant.request.client = client
    return client
