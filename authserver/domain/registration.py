"""Dynamic client registration (RFC 7591) and management (RFC 7592): what a client that
registers itself may ask for, on top of the rules every client passes (``clients.py``).

``validate_registration`` runs two tables around ``validate_client_document``:

* ``_DOCUMENT_CHECKS`` read the untrusted document: fields only an administrator sets
  (Hydra's ``ValidateDynamicRegistration`` refuses ``metadata``, ``skip_consent``,
  ``skip_logout_consent`` and ``access_token_strategy``; this server also refuses
  ``owner``, the token lifespans and an expiring secret), an id or a secret of the
  client's choosing, and arrays too long to be a real client's;
* ``_CLIENT_CHECKS`` read the validated ``Client``: every URL is https, or plain http to
  a loopback host (RFC 8252 §7.3); a client that uses the authorization code grant
  registers where its codes go (RFC 7591 §2).

The first failing check's ``InvalidClientMetadata`` (or ``InvalidRedirectUri``) is the
answer. Registration access tokens are random, stored as a SHA-256 digest only, and
compared in constant time. Nothing here touches HTTP or the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from authserver.domain.clients import (
    LIFESPAN_FIELDS,
    SUBJECT_TYPES,
    Client,
    InvalidClientMetadata,
    InvalidRedirectUri,
    ValidatedClient,
    is_loopback_url,
    validate_client_document,
)

# Fields only an administrator sets, each with the values a registration may carry (what
# a client sends back after reading its own registration). A table, not a set: the first
# one present is named.
_EMPTY = (None, "", {}, [], False)
ADMIN_ONLY_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("metadata", _EMPTY),  # the administrator's notes about the client
    ("skip_consent", _EMPTY),  # a client that skips consent is trusted by someone
    ("skip_logout_consent", _EMPTY),
    ("access_token_strategy", _EMPTY),
    ("owner", _EMPTY),  # the admin API filters clients by it
    ("client_secret_expires_at", (None, 0)),  # secrets do not expire (always 0)
    *((name, (None, "")) for name in LIFESPAN_FIELDS),
)
# What a real client needs, with room to spare; a body of 64 KiB could hold thousands.
MAX_ITEMS = {
    "redirect_uris": 20,
    "post_logout_redirect_uris": 20,
    "contacts": 20,
    "allowed_cors_origins": 20,
    "audience": 20,
    "grant_types": 10,
    "response_types": 10,
    "request_uris": 20,
}
MAX_SCOPE_TOKENS = 50
MAX_URL_LENGTH = 2048
# Server-managed fields a client may send back from a read response; ignored.
_RESPONSE_ONLY_FIELDS = ("client_id_issued_at",)
# (field, error class): URLs a self-registered client gives must be https.
_URL_FIELDS: tuple[tuple[str, type[InvalidClientMetadata]], ...] = (
    ("redirect_uris", InvalidRedirectUri),
    ("post_logout_redirect_uris", InvalidRedirectUri),
    ("frontchannel_logout_uri", InvalidClientMetadata),
    ("backchannel_logout_uri", InvalidClientMetadata),
    ("allowed_cors_origins", InvalidClientMetadata),
    ("client_uri", InvalidClientMetadata),
    ("policy_uri", InvalidClientMetadata),
    ("tos_uri", InvalidClientMetadata),
    ("logo_uri", InvalidClientMetadata),
)
REGISTRATION_TOKEN_BYTES = 32


@dataclasses.dataclass
class _Request:
    document: dict[str, Any]
    updating: bool  # RFC 7592 §2.2 (PUT) rather than RFC 7591 §3.1 (POST)


def _check_admin_only(request: _Request) -> None:
    for name, allowed in ADMIN_ONLY_FIELDS:
        value = request.document.get(name)
        if name in request.document and not any(
            value == ok and type(value) is type(ok) for ok in allowed
        ):
            raise InvalidClientMetadata(
                f"Field {name} cannot be set by dynamic client registration; an "
                "administrator sets it through the admin API."
            )


def _check_no_chosen_id(request: _Request) -> None:
    # On update the id is in the path, and the admin rules refuse a different one.
    if not request.updating and request.document.get("client_id") not in (None, ""):
        raise InvalidClientMetadata("Field client_id cannot be chosen: the server assigns it.")


def _check_no_chosen_secret(request: _Request) -> None:
    # RFC 7592 §2.2: a client must not choose its own secret (the caller takes out a
    # client_secret that matches the current one before this runs).
    if request.document.get("client_secret") not in (None, ""):
        raise InvalidClientMetadata(
            "Field client_secret cannot be chosen: the server generates it."
        )


def _check_array_sizes(request: _Request) -> None:
    for name, limit in MAX_ITEMS.items():
        value = request.document.get(name)
        if isinstance(value, list) and len(value) > limit:
            raise InvalidClientMetadata(f"Field {name} holds more than {limit} entries.")
    scope = request.document.get("scope")
    if isinstance(scope, str) and len(scope.split()) > MAX_SCOPE_TOKENS:
        raise InvalidClientMetadata(f"Field scope holds more than {MAX_SCOPE_TOKENS} scopes.")


_DOCUMENT_CHECKS: tuple[Callable[[_Request], None], ...] = (
    _check_admin_only,
    _check_no_chosen_id,
    _check_no_chosen_secret,
    _check_array_sizes,
)


def _check_https_urls(client: Client) -> None:
    for name, error in _URL_FIELDS:
        value = getattr(client, name)
        for url in value if isinstance(value, tuple) else (value,) if value else ():
            problem = _url_problem(url)
            if problem:
                raise error(f"Field {name}: {url!r} {problem}.")


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not an absolute URL"
    https = "must use https (plain http only to a loopback host such as 127.0.0.1)"
    if parts.scheme not in ("https", "http"):
        return https  # no custom schemes: another app could claim them
    if not host:
        return "has no host"
    if parts.scheme == "http" and not is_loopback_url(parts):
        return https
    return None


def _check_code_clients_redirect(client: Client) -> None:
    if "authorization_code" in client.grant_types and not client.redirect_uris:
        raise InvalidRedirectUri(
            "Field redirect_uris: a client that uses the authorization_code grant must "
            "register at least one (RFC 7591 section 2)."
        )


_CLIENT_CHECKS: tuple[Callable[[Client], None], ...] = (
    _check_https_urls,
    _check_code_clients_redirect,
)


def validate_registration(
    document: Any,
    *,
    default_scope: tuple[str, ...],
    client_id: str | None = None,
    subject_types: tuple[str, ...] = SUBJECT_TYPES,
) -> ValidatedClient:
    """A registration (RFC 7591 §3.1) or, with ``client_id``, an update of one (RFC 7592
    §2.2): the client and, on registration, its generated secret (None for clients
    without one). A document without a scope gets ``default_scope`` (Hydra's
    ``oidc.dynamic_client_registration.default_scope``)."""
    if not isinstance(document, dict):
        raise InvalidClientMetadata("The request body must be a JSON object.")
    request = _Request(document, updating=client_id is not None)
    for check in _DOCUMENT_CHECKS:
        check(request)
    document = {k: v for k, v in document.items() if k not in _RESPONSE_ONLY_FIELDS}
    scope = document.get("scope")
    if scope is None or (isinstance(scope, str) and not scope.strip()):
        document["scope"] = " ".join(default_scope)
    validated = validate_client_document(
        document,
        client_id=client_id,
        secret_required=client_id is None,
        allow_client_id=False,
        subject_types=subject_types,
    )
    for check in _CLIENT_CHECKS:
        check(validated.client)
    return validated


def keep_admin_fields(updated: Client, stored: Client) -> Client:
    """An update by the client keeps what only an administrator sets (RFC 7592 §2.2
    replaces the metadata the client controls, not the rest)."""
    return dataclasses.replace(
        updated,
        metadata=stored.metadata,
        skip_consent=stored.skip_consent,
        skip_logout_consent=stored.skip_logout_consent,
        access_token_strategy=stored.access_token_strategy,
        owner=stored.owner,
        lifespans=stored.lifespans,
    )


def new_registration_token() -> str:
    """A registration access token (RFC 7592 §1): 256 bits from the OS CSPRNG."""
    return secrets.token_urlsafe(REGISTRATION_TOKEN_BYTES)


def registration_token_digest(token: str) -> str:
    """What is stored of a registration access token: its SHA-256, hex. The token is
    random and long, so a plain hash cannot be reversed by guessing."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def registration_token_matches(stored_digest: str | None, presented: str) -> bool:
    """Constant time: how much of a guess was right does not show in the answer time."""
    expected = stored_digest or "0" * 64  # no token: compare anyway, and fail
    matches = hmac.compare_digest(expected, registration_token_digest(presented))
    return matches and stored_digest is not None and bool(presented)
