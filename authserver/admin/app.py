"""The admin app (port 4445): clients, introspection, keys. Never expose it publicly.

Every route answers under ``/admin`` and, as in Hydra, without the prefix too.
"""

from __future__ import annotations

from flask import Flask

from authserver.admin import (
    client_secrets,
    clients,
    consent,
    device,
    index,
    introspect,
    keys,
    login,
    logout,
    metrics,
    sessions,
    tokens,
    trust,
)
from authserver.services import Services
from authserver.web.app import create_base_app, install_ways_in
from authserver.web.cors import admin_cors
from authserver.web.health import health_blueprint

MAX_BODY_BYTES = 1024 * 1024


def create_admin_app(services: Services, hot_paths: bool = True) -> Flask:
    app = create_base_app(__name__, services, MAX_BODY_BYTES)
    modules = (
        index,
        clients,
        client_secrets,
        introspect,
        tokens,
        keys,
        login,
        consent,
        device,
        logout,
        sessions,
        trust,
        metrics,
    )
    for module in modules:
        app.register_blueprint(module.bp, url_prefix="/admin")
        app.register_blueprint(module.bp, name=f"{module.bp.name}_unprefixed")
    app.register_blueprint(health_blueprint("health"), url_prefix="/admin")
    app.register_blueprint(health_blueprint("health_unprefixed"))
    introspection = introspect.hot_route(services)
    hot_routes = {"/admin/oauth2/introspect": introspection, "/oauth2/introspect": introspection}
    return install_ways_in(
        app,
        "admin",
        services.database,
        hot_routes,
        MAX_BODY_BYTES,
        hot_paths=hot_paths,
        cors=admin_cors(services),
    )
