"""The public app (port 4444): the endpoints browsers and OAuth2 clients talk to."""

from __future__ import annotations

from flask import Flask

from authserver.oauth2.server import AuthorizationServer
from authserver.public import (
    authorize,
    device_auth,
    device_verify,
    discovery,
    fallbacks,
    index,
    jwks,
    logout,
    par,
    register,
    revoke,
    token,
    userinfo,
)
from authserver.services import Services
from authserver.web.app import create_base_app, install_ways_in
from authserver.web.cors import public_cors
from authserver.web.health import health_blueprint
from authserver.web.transport import install_transport_check

MAX_BODY_BYTES = 64 * 1024  # OAuth2 requests are small; anything bigger is not one


def create_public_app(services: Services, hot_paths: bool = True) -> Flask:
    app = create_base_app(__name__, services, MAX_BODY_BYTES)
    transport = install_transport_check(app, services.settings)
    app.extensions["authorization_server"] = AuthorizationServer(services)
    modules = (
        index,
        authorize,
        token,
        par,
        revoke,
        register,
        device_auth,
        device_verify,
        userinfo,
        logout,
        discovery,
        jwks,
        fallbacks,
    )
    for module in modules:
        app.register_blueprint(module.bp)
    app.register_blueprint(health_blueprint())
    hot_routes = {"/oauth2/token": token.hot_route(services)}
    return install_ways_in(
        app,
        "public",
        services.database,
        hot_routes,
        MAX_BODY_BYTES,
        transport,
        hot_paths=hot_paths,
        cors=public_cors(services, MAX_BODY_BYTES),
    )
