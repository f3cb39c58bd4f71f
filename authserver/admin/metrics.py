"""``GET /admin/metrics/prometheus`` (Hydra's path): the server's metrics in Prometheus's
text format, every serving process's added up (``authserver.metrics``)."""

from __future__ import annotations

from flask import Blueprint, Response

from authserver.metrics import CONTENT_TYPE, metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics/prometheus")
def prometheus():
    return Response(
        metrics().exposition(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
