"""``DELETE /admin/oauth2/tokens?client_id=...``: Hydra's ``deleteOAuth2Token``.

Every access and refresh token of the client stops being active (introspection answers
``{"active": false}``, a refresh is refused) and its codes not yet exchanged can no longer
be. The rows are deactivated rather than deleted, as revocation does: a code exchanged
after this counts as a replay. As in Hydra, an unknown client is no error (there is
nothing to delete).
"""

from __future__ import annotations

from flask import Blueprint, request

from authserver.domain.text import text_problem
from authserver.storage.grants import AuthorizationCodeRepository, RefreshTokenRepository
from authserver.storage.repositories import AccessTokenRepository
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session

bp = Blueprint("tokens", __name__)

MAX_CLIENT_ID_LENGTH = 255  # the column's size: a longer id names no client


@bp.delete("/oauth2/tokens")
def delete_client_tokens():
    client_id = request.args.get("client_id", "")
    if not client_id:
        raise ApiError(
            "invalid_request",
            "Query parameter 'client_id' is not defined but it should have been.",
            400,
        )
    problem = text_problem(client_id)
    if problem:
        raise ApiError("invalid_request", f"Query parameter 'client_id': {problem}", 400)
    if len(client_id) <= MAX_CLIENT_ID_LENGTH:
        session = db_session()
        AccessTokenRepository(session).deactivate_client(client_id)
        RefreshTokenRepository(session).deactivate_client(client_id)
        AuthorizationCodeRepository(session).consume_client(client_id)
    return "", 204
