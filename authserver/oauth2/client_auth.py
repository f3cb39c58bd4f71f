"""Client authentication at the token and revocation endpoints (RFC 6749 §2.3).

Authlib tries each allowed method in turn, so a request whose Basic header fails is
tried again with the body's credentials, and it lets a Basic header that is not ASCII
base64 of UTF-8 escape as an exception. Here the request says which one method it uses:

* an ``Authorization`` header: HTTP Basic (``client_secret_basic``) and nothing else;
* else ``client_secret`` in the body: ``client_secret_post``;
* else only ``client_id``: ``none`` (a public client).

Sending credentials both ways is ``invalid_request`` (§2.3: one method per request); any
failure after that is ``invalid_client`` (401, with ``WWW-Authenticate: Basic``): a
malformed ``Authorization`` header is named as such, and every other failure says what
was expected, never which client ids exist.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError

from authserver.domain.text import text_problem


@dataclass(frozen=True)
class Credentials:
    method: str
    client_id: str
    secret: str | None


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
    return InvalidClientError(status_code=401, description=description)


def presented_credentials(headers, form) -> Credentials:
    header = headers.get("Authorization") or ""
    body_secret = form.get("client_secret")
    if header:
        if body_secret:
            raise InvalidRequestError(
                "The client authenticated both with HTTP Basic and with client_secret in the "
                "body; use one method per request."
            )
        client_id, secret = decode_basic(header)
        body_id = form.get("client_id")
        if body_id and body_id != client_id:
            raise InvalidRequestError("client_id in the body differs from the HTTP Basic one.")
        return Credentials("client_secret_basic", client_id, secret)
    client_id = form.get("client_id") or ""
    if body_secret:
        return Credentials("client_secret_post", client_id, body_secret)
    return Credentials("none", client_id, None)


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


def authenticate(query_client, request, methods, endpoint: str):
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
        or (credentials.method != "none" and not client.check_client_secret(credentials.secret))
    ):
        raise _refused(
            "Client authentication failed (unknown client, wrong secret, or not the "
            "client's registered token_endpoint_auth_method)."
        )
    request.auth_method = credentials.method
    return client
