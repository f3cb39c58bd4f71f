"""A small protected API: this app as a **resource server**.

- ``GET /api/profile`` takes an access token in the Authorization header only (``Bearer``,
  RFC 6750 §2.1, or ``DPoP`` with a proof, RFC 9449 §7.1), asks the authorization server
  whether it is active by introspection on the admin API (RFC 7662), and answers with who
  the token is for and the user's claims (from userinfo with the same token).
- ``GET /.well-known/oauth-protected-resource``: its metadata (RFC 9728 §3), which the
  401 challenges point at, so a client can find the authorization server to ask.

The resource identifier is this app's configured origin (the redirect URI's, by default
``http://{host}:{port}``). The checks themselves live in ``demo_client.resource``.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from demo_client import errors
from demo_client.config import Config
from demo_client.resource import (
    DPOP_ALGS,
    ProofContext,
    Refusal,
    bound_key,
    challenges,
    check_active,
    check_binding,
    check_proof,
    check_scope,
    check_sizes,
    invalid_request,
    normalized_url,
    read_authorization,
)
from demo_client.services import services
from demo_client.transport import Exchange, Unreachable, send

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

API_PATH = "/api/profile"
METADATA_PATH = "/.well-known/oauth-protected-resource"
RETRY_AFTER = "30"  # seconds, when the introspection endpoint is down
SCOPES = ("openid", "profile", "email")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == METADATA_PATH


def metadata_url(config: Config) -> str:
    return config.public_origin + METADATA_PATH


# -- the protected resource -----------------------------------------------------------------


@bp.get(API_PATH)
def profile():
    config = services().config
    try:
        return json_answer(_checked_profile(config))
    except Refusal as refusal:
        return refused(refusal, config)


def _checked_profile(config: Config) -> dict:
    _refuse_tokens_outside_the_header()
    check_sizes(request.headers.getlist("Authorization") + request.headers.getlist("DPoP"))
    scheme, token = read_authorization(request.headers.getlist("Authorization"))
    # A proof is checked before introspection: a bad one costs the server nothing.
    thumbprint = _proof_thumbprint(config, token) if scheme == "DPoP" else None
    answer = _introspect(config, token)
    check_active(answer)
    check_binding(scheme, bound_key(answer), thumbprint)
    check_scope(answer, config.api_scope)
    claims, note = _claims(config, scheme, token, answer, thumbprint)
    body = {key: answer.get(key) for key in ("sub", "client_id", "scope")}
    body.update(token_type=scheme, claims=claims)
    if note:
        body["note"] = note
    return body


def _refuse_tokens_outside_the_header() -> None:
    """RFC 6750 §2.2, §2.3 allow a token in a form body or the query; this API does not:
    URLs end up in logs and histories (RFC 6750 §5.3)."""
    try:
        in_body = "access_token" in request.form
    except HTTPException as exc:  # a body over the size limit
        raise invalid_request("the request body cannot be read", exc.code or 400) from None
    if "access_token" in request.args or in_body:
        raise invalid_request("send the token in the Authorization header, not as access_token")


def _proof_thumbprint(config: Config, token: str) -> str:
    # Only the configured URLs: the request's own URL comes from its Host header, which the
    # sender chooses, so a proof made for another server would pass (RFC 9449 §4.3 check 9).
    urls = (config.public_origin + API_PATH, f"http://{config.host}:{config.port}{API_PATH}")
    context = ProofContext(
        method=request.method,
        urls=frozenset(filter(None, map(normalized_url, urls))),
        access_token=token,
        now=time.time(),
    )
    return check_proof(request.headers.getlist("DPoP"), context, services().replays)


def _introspect(config: Config, token: str) -> dict:
    if not config.admin_url:
        raise Refusal(
            503,
            "temporarily_unavailable",
            "this API checks tokens by introspection on the authorization server's admin "
            "API: set DEMO_CLIENT_ADMIN_URL",
        )
    try:
        exchange = services().oauth.introspect(token)
    except Unreachable as exc:
        raise _unavailable(f"the introspection endpoint did not answer: {exc.reason}") from None
    if exchange.status != 200 or not isinstance(exchange.body, dict):
        raise _unavailable(f"the introspection endpoint answered HTTP {exchange.status}")
    return exchange.body


def _unavailable(description: str) -> Refusal:
    return Refusal(503, "temporarily_unavailable", description, retry_after=int(RETRY_AFTER))


def _claims(
    config: Config, scheme: str, token: str, answer: dict, thumbprint: str | None
) -> tuple[dict, str]:
    """The user's claims and, when they are not userinfo's, a note saying why."""
    own_key = thumbprint == services().dpop_key.thumbprint
    if scheme == "DPoP" and not own_key:  # userinfo would need a proof by the client's key
        ext = answer.get("ext")
        return (ext if isinstance(ext, dict) else {}), (
            "DPoP token: the claims are the introspection's ext (this server does not hold "
            "the client's key, so it cannot make the DPoP proof userinfo needs)"
        )
    try:
        exchange = _userinfo(config, token, dpop=scheme == "DPoP")
    except Unreachable as exc:
        return {}, f"userinfo did not answer ({exc.reason})"
    body = exchange.body
    if exchange.status != 200 or not isinstance(body, dict):
        return {}, f"userinfo answered HTTP {exchange.status}"
    if body.get("sub") != answer.get("sub"):
        return {}, "userinfo's sub differs from the introspection's: claims not used"
    return body, ""


def _userinfo(config: Config, token: str, dpop: bool) -> Exchange:
    """Userinfo with the token: a DPoP-bound one only when this app's own DPoP key is the
    one it is bound to (this app is also the client that holds that key)."""
    try:
        discovered, _ = services().discovery.get()
    except errors.Explained:
        discovered = None
    endpoint = discovered.metadata.userinfo_endpoint if discovered else ""
    if dpop and discovered and endpoint:
        return services().oauth.userinfo(discovered.metadata, token, dpop=True)
    _, exchange = send(
        services().http,
        "GET",
        endpoint or config.backchannel_url.rstrip("/") + "/userinfo",
        config.http_timeout,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    return exchange


# -- answers --------------------------------------------------------------------------------


def json_answer(body: dict, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def refused(refusal: Refusal, config: Config) -> Response:
    """The JSON error and, for 4xx, the challenges (RFC 6750 §3, RFC 9728 §5.1)."""
    log.info("api refused a request: %s %s", refusal.status, refusal.error or "no credentials")
    # No credentials: no error code in the challenge (RFC 6750 §3.1); the body still says why.
    response = json_answer(
        {"error": refusal.error or "invalid_request", "error_description": refusal.description},
        refusal.status,
    )
    if refusal.status < 500:
        for challenge in challenges(metadata_url(config), refusal):
            response.headers.add("WWW-Authenticate", challenge)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def http_error(error: HTTPException) -> Response:
    """Werkzeug's errors on the API's paths (405, 413…) as JSON, their headers kept."""
    response = json_answer(
        {"error": "invalid_request", "error_description": error.description or error.name},
        error.code or 400,
    )
    for name, value in error.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response


# -- the metadata (RFC 9728 §3) -------------------------------------------------------------


@bp.get(METADATA_PATH)
def resource_metadata():
    config = services().config
    scopes = list(dict.fromkeys((*SCOPES, config.api_scope)))
    response = jsonify(
        resource=config.public_origin,  # its well-known URL is this path at that origin
        authorization_servers=[config.issuer],
        scopes_supported=scopes,
        bearer_methods_supported=["header"],
        dpop_signing_alg_values_supported=list(DPOP_ALGS),
        dpop_bound_access_tokens_required=False,
        resource_name="demo_client profile API",
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- the client's side: this app calling its own API ------------------------------------------


def call_profile(access_token: str, dpop: bool = False) -> tuple[Exchange, list[str]]:
    """``GET /api/profile`` with the token as a Bearer token, or a DPoP-bound one with a
    proof for the API's URL as configured (RFC 9449 §7.1), dispatched in-process (this app
    is the client and the resource server); (the Exchange, its WWW-Authenticate)."""
    url = services().config.public_origin + API_PATH
    headers = {"Authorization": f"{'DPoP' if dpop else 'Bearer'} {access_token}"}
    if dpop:
        headers["DPoP"] = services().dpop_key.proof("GET", url, access_token)
    started = time.time()
    client = current_app.test_client(use_cookies=False)
    answer = client.get(url, headers=headers)
    body = answer.get_json(silent=True)
    exchange = Exchange(
        method="GET",
        url=url,
        started_at=started,
        authorization=headers["Authorization"],
        status=answer.status_code,
        body=body if body is not None else answer.get_data(as_text=True)[:2000],
        duration_ms=(time.time() - started) * 1000,
        dpop_proof=headers.get("DPoP", ""),
    )
    return exchange, answer.headers.getlist("WWW-Authenticate")
