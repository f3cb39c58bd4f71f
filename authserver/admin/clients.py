"""``/admin/clients``: OAuth2 client CRUD with Hydra's JSON model.

The secret is returned once, in the response that set it (create, or an update that
changed it), and never again: only its argon2id hash is stored.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from authserver.domain.clients import (
    LIFESPAN_FIELDS,
    Client,
    InvalidClientMetadata,
    ValidatedClient,
    validate_client_document,
)
from authserver.oauth2.sectors import check_sector_identifier
from authserver.outbound import FetchPolicy
from authserver.storage.repositories import (
    KEEP_SECRET,
    ClientAlreadyExists,
    ClientRepository,
    StoredClient,
)
from authserver.web.bodies import read_json
from authserver.web.errors import ApiError
from authserver.web.paging import link_header, page_after, page_size
from authserver.web.transaction import after_commit, db_session

bp = Blueprint("clients", __name__)


def _services():
    return current_app.extensions["authserver"]


def _validate(document, **kwargs) -> ValidatedClient:
    settings = _services().settings
    try:
        validated = validate_client_document(
            document,
            subject_types=settings.subject_types_supported,
            private_hosts=settings.dev,
            **kwargs,
        )
        # OIDC Core §8.1: the sector document is fetched (outside --dev, from public hosts only).
        check_sector_identifier(validated.client, FetchPolicy(dev=settings.dev))
        return validated
    except InvalidClientMetadata as exc:
        raise ApiError(exc.error, str(exc), 400) from None


def stored_secret(client: Client, secret: str) -> tuple[str, str | None]:
    """``Services.store_client_secret`` of this app's services."""
    return _services().store_client_secret(client, secret)


def client_response(client: Client, secret: str | None = None, status: int = 200):
    response = jsonify(_client_json(client, secret))
    response.status_code = status
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
        response.headers["Pragma"] = "no-cache"
    return response


def _client_json(client: Client, secret: str | None = None) -> dict:
    data = client.to_json()
    if secret is not None:
        data["client_secret"] = secret
    return data


def client_not_found() -> ApiError:
    return ApiError("not_found", "Unable to locate the resource: no such OAuth 2.0 client.", 404)


@bp.post("/clients")
def create_client():
    validated = _validate(read_json())
    secret_hash = encrypted = None
    if validated.secret:
        secret_hash, encrypted = stored_secret(validated.client, validated.secret)
    try:
        client = ClientRepository(db_session()).add(
            validated.client, secret_hash, secret_encrypted=encrypted
        )
    except ClientAlreadyExists:
        raise ApiError(
            "conflict", "An OAuth 2.0 client with this client_id already exists.", 409
        ) from None
    response = client_response(client, validated.secret, 201)
    response.headers["Location"] = url_for(".get_client", client_id=client.client_id)
    return response


@bp.get("/clients/<client_id>")
def get_client(client_id: str):
    stored = ClientRepository(db_session()).get(client_id)
    if stored is None:
        raise client_not_found()
    return jsonify(_client_json(stored.client))


@bp.put("/clients/<client_id>")
def replace_client(client_id: str):
    document = read_json()
    return _save(client_id, document)


@bp.patch("/clients/<client_id>")
def patch_client(client_id: str):
    """RFC 6902 JSON Patch against the client's JSON (the secret may be set by ``add`` or
    ``replace`` of ``/client_secret``; ``/client_id`` is immutable)."""
    import jsonpatch  # only PATCH needs it

    operations = read_json(list)
    stored = ClientRepository(db_session()).get(client_id)
    if stored is None:
        raise client_not_found()
    # The stored secret is a hash and never shown; an empty placeholder lets a patch
    # "replace" (not only "add") /client_secret, as Hydra allows. Left empty, it changes nothing.
    current = {**_client_json(stored.client), "client_secret": ""}
    try:
        patched = jsonpatch.JsonPatch(operations).apply(current)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        raise ApiError("invalid_request", f"The JSON Patch cannot be applied: {exc}", 400) from None
    if not isinstance(patched, dict) or patched.get("client_id") != client_id:
        raise ApiError("invalid_request", "The JSON Patch must not change client_id.", 400)
    return _save(client_id, patched, stored)


@bp.put("/clients/<client_id>/lifespans")
def set_lifespans(client_id: str):
    document = read_json()
    unknown = set(document) - set(LIFESPAN_FIELDS)
    if unknown:
        raise ApiError("invalid_request", f"Unknown field(s): {', '.join(sorted(unknown))}.", 400)
    stored = ClientRepository(db_session()).get(client_id)
    if stored is None:
        raise client_not_found()
    merged = _client_json(stored.client)
    merged.update(document)
    return _save(client_id, merged, stored)


def _save(client_id: str, document: dict, stored: StoredClient | None = None):
    validated = _validate(document, client_id=client_id, secret_required=False)
    repository = ClientRepository(db_session())
    stored = stored or repository.get(client_id)
    if stored is None:
        raise client_not_found()
    secret_hash = encrypted = KEEP_SECRET
    method = validated.client.token_endpoint_auth_method
    if validated.secret:
        secret_hash, encrypted = stored_secret(validated.client, validated.secret)
    elif not validated.client.has_secret:
        secret_hash = None  # a client turned public (or key-based) loses its secret
    elif not stored.client.has_secret:
        raise ApiError(
            "invalid_client_metadata",
            f"Field client_secret is required to turn a client without a secret into a "
            f"{method} one.",
            400,
        )
    elif method == "client_secret_jwt" and stored.secret_encrypted is None:
        # The stored secret exists only as a hash: HMAC assertions cannot be checked.
        raise ApiError(
            "invalid_client_metadata",
            "Field client_secret is required to switch to client_secret_jwt (the server "
            "keeps only a hash of the current secret).",
            400,
        )
    client = repository.replace(validated.client, secret_hash, encrypted)
    if client is None:
        raise client_not_found()
    forget_cached(client_id)
    return client_response(client, validated.secret)


@bp.delete("/clients/<client_id>")
def delete_client(client_id: str):
    if not ClientRepository(db_session()).delete(client_id):
        raise client_not_found()
    forget_cached(client_id)
    return "", 204


def forget_cached(client_id: str) -> None:
    """This process's token endpoints see the change as soon as it commits."""
    clients = current_app.extensions["authserver"].clients
    after_commit(lambda: clients.forget(client_id))


@bp.get("/clients")
def list_clients():
    size = page_size()
    name = request.args.get("client_name") or None
    owner = request.args.get("owner") or None
    repository = ClientRepository(db_session())
    rows = repository.page(size + 1, after_id=page_after(), client_name=name, owner=owner)
    shown = rows[:size]
    response = jsonify([_client_json(row.client) for row in shown])
    filters = {key: value for key, value in (("client_name", name), ("owner", owner)) if value}
    last = shown[-1].client.client_id if len(rows) > size else None
    response.headers["Link"] = link_header(size, last, filters)
    response.headers["X-Total-Count"] = str(repository.count(client_name=name, owner=owner))
    return response
