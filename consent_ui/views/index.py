"""``/``: what this app is, for someone who opened its address (``make demo`` prints it)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("index", __name__)


@bp.get("/")
def show():
    return render_template("index.html", demo_account=current_app.config["SHOW_DEMO_ACCOUNT"])
