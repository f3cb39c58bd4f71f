"""``/favicon.ico``: browsers ask for it whatever the page says, so it must not be a 404.
Pages link the SVG version (``base.html``); this is the same icon as a 32 px ICO."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response

bp = Blueprint("favicon", __name__)

ICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"
MAX_AGE = 24 * 3600  # seconds: an icon may be cached, unlike the pages


@bp.get("/favicon.ico")
def favicon():
    response = Response(_icon(), mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


@cache
def _icon() -> bytes:
    return ICON.read_bytes()  # 185 bytes, read once
