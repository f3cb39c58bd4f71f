"""``/healthz``: liveness for container health checks. It does not call the admin API, so
a slow authorization server does not get this app restarted."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")
