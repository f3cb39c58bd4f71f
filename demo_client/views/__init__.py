"""The pages: one module per flow step, each a small blueprint."""

from __future__ import annotations

from flask import Flask

from demo_client.views import (
    api,
    callback,
    channel_logout,
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
    modules = (
        home,
        login,
        callback,
        device,
        spa,
        tokens,
        logout,
        channel_logout,
        health,
        icon,
        api,
    )
    for module in modules:
        app.register_blueprint(module.bp)
