"""``POST /oauth2/token`` (RFC 6749 §3.2): the grants themselves live in ``authserver.oauth2``.

Two ways in: the Flask view serves every grant and every malformed request; the hot path
(``web.hotpath``) serves well-formed client-credentials requests, the endpoint's busiest
case, through Authlib's framework-independent server with the same grant class.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.metrics import metrics
from authserver.oauth2.server import ClientCredentialsServer
from authserver.web.bodies import require_form_post
from authserver.web.errors import ApiError
from authserver.web.hotpath import HotRequest, HotResponse, HotRoute
from authserver.web.transaction import request_database, use_autocommit

bp = Blueprint("token", __name__)

# Hydra accepts a repeated ``audience``, RFC 8707 a repeated ``resource``; every other
# parameter appears once.
_REPEATABLE = frozenset({"audience", "resource"})


@bp.post("/oauth2/token")
def token():
    require_form_post(repeatable=_REPEATABLE)
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise ApiError("invalid_request", "The 'grant_type' parameter is missing.", 400)
    if grant_type == "client_credentials":
        use_autocommit()  # one INSERT (and a client read on a cache miss): no transaction
    server = current_app.extensions["authorization_server"]
    response = server.create_token_response(request_database())
    if response.status_code == 200:
        metrics().token_issued(grant_type)
    return response


def hot_route(services) -> HotRoute:
    server = ClientCredentialsServer(services)

    def client_credentials(hot: HotRequest) -> HotResponse | None:
        if hot.form.get("grant_type") != "client_credentials":
            return None  # the other grants need the Flask view's transaction
        oauth_request = server.oauth2_request(hot.environ, hot.form, hot.form_lists, hot.db)
        status, body, headers = server.create_token_response(oauth_request)
        if status == 200:
            metrics().token_issued("client_credentials")
        return HotResponse(status, body, list(headers))

    return HotRoute(client_credentials, repeatable=_REPEATABLE, writes=True)
