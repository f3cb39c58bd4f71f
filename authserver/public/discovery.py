"""Server metadata: OpenID Connect Discovery 1.0 and RFC 8414.

The document is derived from what the running app really has: an endpoint is listed only
if its route is registered, a grant type only if its grant class is.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.domain.client_keys import ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS
from authserver.oauth2 import client_auth
from authserver.oauth2.dpop import DPOP_ALGORITHMS
from authserver.oauth2.keys import SIGNING_ALGORITHMS

bp = Blueprint("discovery", __name__)

_ENDPOINTS = {
    "authorization_endpoint": "/oauth2/auth",
    "token_endpoint": "/oauth2/token",
    "revocation_endpoint": "/oauth2/revoke",
    "userinfo_endpoint": "/userinfo",
    "end_session_endpoint": "/oauth2/sessions/logout",
    "device_authorization_endpoint": "/oauth2/device/auth",
    "registration_endpoint": "/oauth2/register",
    "pushed_authorization_request_endpoint": "/oauth2/par",
}
# Endpoints listed only when a setting turns them on (their routes always exist).
_SWITCHED = {"registration_endpoint": lambda settings: settings.dynamic_registration_enabled}
_ASSERTION_ALGORITHMS = [*ASYMMETRIC_ALGORITHMS, *SYMMETRIC_ALGORITHMS]


def server_metadata() -> dict:
    services = current_app.extensions["authserver"]
    server = current_app.extensions["authorization_server"]
    settings = services.settings
    base = settings.public_url.rstrip("/")
    routes = {rule.rule for rule in current_app.url_map.iter_rules()}
    grant_types = [grant.GRANT_TYPE for grant, _ in server._token_grants]
    auth_methods = sorted(
        {
            method
            for grant, _ in server._token_grants
            for method in grant.TOKEN_ENDPOINT_AUTH_METHODS
        }
    )
    metadata = {"issuer": settings.issuer}
    for name, path in _ENDPOINTS.items():
        if path in routes and _SWITCHED.get(name, lambda _: True)(settings):
            metadata[name] = base + path
    metadata["jwks_uri"] = settings.issuer.rstrip("/") + "/.well-known/jwks.json"
    metadata.update(
        {
            "grant_types_supported": grant_types,
            "response_types_supported": ["code"] if "/oauth2/auth" in routes else [],
            "response_modes_supported": ["query"] if "/oauth2/auth" in routes else [],
            "scopes_supported": ["offline_access", "offline", "openid"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": _ASSERTION_ALGORITHMS,
            "revocation_endpoint_auth_methods_supported": list(client_auth.ALL_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": _ASSERTION_ALGORITHMS,
            "subject_types_supported": list(settings.subject_types_supported),
            "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
            "client_id_metadata_document_supported": (
                settings.client_id_metadata_documents_enabled
            ),
            # A client picks one with id_token_signed_response_alg (RS256 first: the
            # default key's, and the one every OpenID client must accept).
            "id_token_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
            # Hydra's names (Ory's SDK requires them): the algorithms it signs with.
            "id_token_signed_response_alg": list(SIGNING_ALGORITHMS),
            "userinfo_signed_response_alg": ["RS256"],
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
        }
    )
    if "/oauth2/auth" in routes:
        metadata.update(
            {
                "code_challenge_methods_supported": ["S256"],
                "prompt_values_supported": ["none", "login", "consent", "select_account"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "acr",
                    "amr",
                    "sid",
                    "at_hash",
                ],
                "authorization_response_iss_parameter_supported": True,
                # RFC 9126 §5: every client must push (else only those that ask to).
                "require_pushed_authorization_requests": settings.par_required,
                # OpenID Connect Front- and Back-Channel Logout 1.0: both, with sid/iss.
                "frontchannel_logout_supported": True,
                "frontchannel_logout_session_supported": True,
                "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True,
            }
        )
    if settings.access_token_strategy == "jwt":
        metadata["access_token_signing_alg_values_supported"] = list(SIGNING_ALGORITHMS)
    return metadata


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def openid_configuration():
    return jsonify(server_metadata())
