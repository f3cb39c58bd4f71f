"""``/admin/keys/{set}`` and ``/admin/keys/{set}/{kid}``: JSON Web Key sets.

POST creates a new key in the set, which from then on signs (rotation); the previous keys
stay published until tokens they signed have expired. Only public keys are returned.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.oauth2.keys import KeyAlreadyExists, KeySetError
from authserver.web.bodies import read_json
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session

bp = Blueprint("keys", __name__)


def _manager():
    return current_app.extensions["authserver"].keys


def _not_found(what: str) -> ApiError:
    return ApiError("not_found", f"The {what} could not be found.", 404)


@bp.get("/keys/<set_id>")
def get_key_set(set_id: str):
    keys = _manager().keys(db_session(), set_id, max_age=0)
    if not keys:
        raise _not_found("JSON Web Key Set")
    return jsonify(keys=[key.public for key in keys])


@bp.post("/keys/<set_id>")
def create_key(set_id: str):
    document = read_json()
    alg = document.get("alg") or "RS256"
    use = document.get("use") or "sig"
    kid = document.get("kid") or ""
    if not all(isinstance(value, str) for value in (alg, use, kid)):
        raise ApiError("invalid_request", "Fields alg, use and kid must be strings.", 400)
    try:
        key = _manager().create_key(db_session(), set_id, alg=alg, use=use, kid=kid)
    except KeyAlreadyExists as exc:
        raise ApiError("conflict", str(exc), 409) from None
    except KeySetError as exc:
        raise ApiError("invalid_request", str(exc), 400) from None
    return jsonify(keys=[key.public]), 201


@bp.delete("/keys/<set_id>")
def delete_key_set(set_id: str):
    if not _manager().delete_set(db_session(), set_id):
        raise _not_found("JSON Web Key Set")
    return "", 204


@bp.get("/keys/<set_id>/<kid>")
def get_key(set_id: str, kid: str):
    keys = [key for key in _manager().keys(db_session(), set_id, max_age=0) if key.kid == kid]
    if not keys:
        raise _not_found("JSON Web Key")
    return jsonify(keys=[key.public for key in keys])


@bp.delete("/keys/<set_id>/<kid>")
def delete_key(set_id: str, kid: str):
    if not _manager().delete_key(db_session(), set_id, kid):
        raise _not_found("JSON Web Key")
    return "", 204
