"""``GET /favicon.ico``: the app's icon (an SVG; pages link it too), so that browsers asking
the conventional path get an icon, not a 404."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("icon", __name__)


@bp.get("/favicon.ico")
def favicon():
    # Not a page: it may be cached (the app's after_request leaves it alone).
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
