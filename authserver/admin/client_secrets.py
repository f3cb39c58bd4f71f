"""``/admin/clients/{id}/secrets/rotate``: client secret rotation, as Hydra v26.

``POST`` makes a new secret and shows it once; the secret it replaces stays valid (with up
to four older ones: five in all), so the services that hold it can move to the new one
without downtime. ``DELETE`` then drops the old ones. Clients without a secret (public
clients, ``private_key_jwt``) have nothing to rotate.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.admin.clients import client_not_found, client_response, forget_cached, stored_secret
from authserver.domain.clients import Client, new_client_secret
from authserver.storage.repositories import ClientRepository
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session

bp = Blueprint("client_secrets", __name__)


def _client_with_secret(repository: ClientRepository, client_id: str) -> Client:
    stored = repository.get(client_id)
    if stored is None:
        raise client_not_found()
    client = stored.client
    if not client.has_secret:
        why = (
            "a public client has no secret"
            if client.is_public
            else "the client proves itself with its keys, not a secret"
        )
        raise ApiError(
            "invalid_request",
            f"The client is configured to use the {client.token_endpoint_auth_method!r} "
            f"authentication method, which does not support client secret rotation ({why}).",
            400,
        )
    return client


@bp.post("/clients/<client_id>/secrets/rotate")
def rotate_client_secret(client_id: str):
    repository = ClientRepository(db_session())
    client = _client_with_secret(repository, client_id)
    secret = new_client_secret()
    secret_hash, encrypted = stored_secret(client, secret)
    now = current_app.extensions["authserver"].clock.now()
    if not repository.rotate_secret(client_id, secret_hash, encrypted, now):
        raise client_not_found()  # deleted meanwhile
    forget_cached(client_id)
    stored = repository.get(client_id)
    if stored is None:
        raise client_not_found()
    return client_response(stored.client, secret)  # Cache-Control: no-store


@bp.delete("/clients/<client_id>/secrets/rotate")
def delete_rotated_client_secrets(client_id: str):
    repository = ClientRepository(db_session())
    _client_with_secret(repository, client_id)
    if not repository.drop_rotated_secrets(client_id):
        raise client_not_found()
    forget_cached(client_id)
    stored = repository.get(client_id)
    if stored is None:
        raise client_not_found()
    return jsonify(stored.client.to_json())
