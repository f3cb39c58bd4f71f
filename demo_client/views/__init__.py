"""The pages: one module per flow step, each a small blueprint."""

from __future__ import annotations

from flask import Flask

from demo_client.views import (
    api,
    callback,
    device,
    health,
    home,
    icon,
    login,
    logout,
    spa,
    tokens,
)


def register_views(app: Flask) -> None:
    for module in (home, login, callback, device, spa, tokens, logout, health, icon, api):
        app.register_blueprint(module.bp)
