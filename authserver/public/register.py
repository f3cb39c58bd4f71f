"""``/oauth2/register``: dynamic client registration (RFC 7591) and its management
(RFC 7592), as Ory Hydra serves them when ``OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED``
is on; off (the default), every route answers 404.

``POST`` registers a client under the rules of ``domain/registration.py`` and answers with
its secret (once) and a registration access token. ``GET``, ``PUT`` and ``DELETE`` of the
``registration_client_uri`` need that token as a Bearer token; ``PUT`` replaces it with a
new one (as Hydra does). Whatever is wrong with the token (missing, wrong, another
client's, a client that does not exist or was made by the admin API) is the same 401, so
nobody learns which clients exist (RFC 7592 §2). Registrations are rate limited per source
address (``OIDC_DYNAMIC_CLIENT_REGISTRATION_RATE_LIMIT`` per minute, per process).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from authserver.admin.clients import forget_cached, stored_secret
from authserver.domain.clients import Client, InvalidClientMetadata, new_client_secret
from authserver.domain.registration import (
    keep_admin_fields,
    new_registration_token,
    registration_token_digest,
    registration_token_matches,
    validate_registration,
)
from authserver.oauth2.sectors import check_sector_identifier
from authserver.outbound import FetchPolicy
from authserver.storage.repositories import KEEP_SECRET, ClientRepository, StoredClient
from authserver.web.bodies import read_json
from authserver.web.errors import NO_STORE_HEADERS, ApiError
from authserver.web.rate_limit import RateLimiter, retry_after
from authserver.web.transaction import db_session
from authserver.web.transport import TransportPolicy

bp = Blueprint("register", __name__)
PATH = "/oauth2/register"
_LIMITER = "registration_rate_limiter"


@bp.record_once
def _make_limiter(state) -> None:
    settings = state.app.extensions["authserver"].settings
    limit = settings.dynamic_registration_rate_limit
    state.app.extensions[_LIMITER] = (
        RateLimiter(limit) if limit else None,
        TransportPolicy(settings),
    )


def _services():
    return current_app.extensions["authserver"]


@bp.before_request
def _require_enabled() -> None:
    if not _services().settings.dynamic_registration_enabled:
        # The answer of a path this server does not serve (as Hydra: not enabled, not there).
        raise ApiError("not_found", "The requested resource could not be found.", 404)


@bp.post(PATH)
def register_client():
    _check_rate_limit()
    validated = _validate(read_json())
    secret_hash = encrypted = None
    if validated.secret:
        secret_hash, encrypted = stored_secret(validated.client, validated.secret)
    token = new_registration_token()
    client = ClientRepository(db_session()).add(
        validated.client,
        secret_hash,
        secret_encrypted=encrypted,
        registration_token_digest=registration_token_digest(token),
        registered=True,
    )
    response = _client_response(client, token, validated.secret, status=201)
    response.headers["Location"] = _client_uri(client.client_id)
    return response


@bp.get(f"{PATH}/<client_id>")
def read_client(client_id: str):
    """RFC 7592 §2.1. The token is not rotated; the response repeats the one presented
    (RFC 7592 §3 wants it there, and only its digest is stored)."""
    stored, token = _authorized(client_id)
    return _client_response(stored.client, token)


@bp.put(f"{PATH}/<client_id>")
def update_client(client_id: str):
    """RFC 7592 §2.2: the body replaces what the client controls; the registration access
    token is rotated (Hydra), the old one is dead once this commits."""
    stored, presented = _authorized(client_id)
    document = read_json()
    _check_presented_secret(stored, document.pop("client_secret", None))
    validated = _validate(document, client_id=client_id)
    client = keep_admin_fields(validated.client, stored.client)
    secret, secret_hash, encrypted = _secret_for_update(client, stored)
    repository = ClientRepository(db_session())
    saved = repository.replace(client, secret_hash, encrypted)
    token = new_registration_token()
    if saved is None or not repository.set_registration_token(
        client_id, registration_token_digest(token), registration_token_digest(presented)
    ):
        raise _invalid_token()  # deleted, or its token rotated by a concurrent update
    forget_cached(client_id)
    return _client_response(saved, token, secret)


@bp.delete(f"{PATH}/<client_id>")
def delete_client(client_id: str):
    """RFC 7592 §2.3."""
    _authorized(client_id)
    if not ClientRepository(db_session()).delete(client_id):
        raise _invalid_token()  # deleted meanwhile
    forget_cached(client_id)
    return "", 204, NO_STORE_HEADERS


def _check_rate_limit() -> None:
    limiter, transport = current_app.extensions[_LIMITER]
    if limiter is None:
        return
    wait = limiter.acquire(transport.source_address(request.environ))
    if wait:
        raise ApiError(
            "too_many_requests",
            "Too many client registrations from this address; retry later.",
            429,
            headers={"Retry-After": retry_after(wait)},
        )


def _validate(document, client_id: str | None = None):
    settings = _services().settings
    try:
        validated = validate_registration(
            document,
            client_id=client_id,
            default_scope=settings.dynamic_registration_default_scope,
            subject_types=settings.subject_types_supported,
        )
        _check_sector(validated.client)
    except InvalidClientMetadata as exc:
        raise ApiError(exc.error, str(exc), 400) from None
    return validated


def _check_sector(client: Client) -> None:
    """OIDC Core §8.1: a pairwise client's sector (fetched: registration needs it too)."""
    check_sector_identifier(client, FetchPolicy(dev=_services().settings.dev))


def _authorized(client_id: str) -> tuple[StoredClient, str]:
    """The registered client this request's Bearer token belongs to, or the 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    stored = ClientRepository(db_session()).get(client_id) if len(client_id) <= 255 else None
    digest = stored.registration_token_digest if stored and stored.registered else None
    if not registration_token_matches(digest, token):
        raise _invalid_token()
    return stored, token


def _invalid_token() -> ApiError:
    return ApiError(
        "invalid_token",
        "The registration access token is missing, or not valid for this client.",
        401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _check_presented_secret(stored: StoredClient, presented) -> None:
    """RFC 7592 §2.2: a client_secret in the body must be the current one; a client
    cannot choose its own (Hydra refuses any)."""
    if presented in (None, ""):
        return
    hasher = _services().secret_hasher
    if not (isinstance(presented, str) and hasher.verify(stored.secret_hash, presented)):
        raise ApiError(
            "invalid_client_metadata",
            "Field client_secret must be the client's current secret: the server "
            "generates secrets, a client cannot choose one.",
            400,
        )


def _secret_for_update(client: Client, stored: StoredClient):
    """(new secret to show or None, hash, ciphertext): the stored secret is kept; a client
    that moves to a secret-based method without a usable one gets a new secret."""
    if not client.has_secret:
        return None, None, None  # none or private_key_jwt: no secret any more
    usable = stored.secret_hash is not None and (
        client.token_endpoint_auth_method != "client_secret_jwt"
        or stored.secret_encrypted is not None  # HMAC assertions need the secret itself
    )
    if usable:
        return None, KEEP_SECRET, KEEP_SECRET
    secret = new_client_secret()
    return (secret, *stored_secret(client, secret))


def _client_uri(client_id: str) -> str:
    return f"{_services().settings.public_url.rstrip('/')}{PATH}/{quote(client_id, safe='')}"


def _client_response(client: Client, token: str, secret: str | None = None, status: int = 200):
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the client as Hydra
    shows it, without the administrator's ``metadata`` (Hydra hides it too)."""
    data = client.to_json()
    data.pop("metadata", None)
    if secret is not None:
        data["client_secret"] = secret
    data["client_secret_expires_at"] = 0
    if client.created_at is not None:
        data["client_id_issued_at"] = int(client.created_at.timestamp())
    data["registration_access_token"] = token
    data["registration_client_uri"] = _client_uri(client.client_id)
    response = jsonify(data)
    response.status_code = status
    response.headers.update(NO_STORE_HEADERS)  # a token (and maybe a secret) is in it
    return response
