"""``GET /.well-known/jwks.json``: the public keys that verify our ID tokens (and JWT access
tokens when that strategy is on), including recently rotated-out keys."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.web.transaction import db_session

bp = Blueprint("jwks", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    services = current_app.extensions["authserver"]
    session = db_session()
    keys = [
        key
        for set_id in services.key_sets_to_publish()
        for key in services.keys.published(session, set_id)
    ]
    return jsonify(keys=keys)
