"""The few HTML pages the headless server shows itself: the error page and the fallbacks
used when no login, consent or logout app is configured. Everything is escaped, no script
runs, and a strict Content-Security-Policy says so."""

from __future__ import annotations

import base64
import hashlib

from flask import Response, render_template

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}"
    "main{max-width:40rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px #0002}h1{font-size:1.4rem;margin-top:0}"
    "dt{font-weight:600;margin-top:.8rem}dd{margin:0}code{word-break:break-all}"
)


def security_headers(style: str, forms: bool = False) -> dict[str, str]:
    """Headers of a page with ``style`` as its only stylesheet and no script. ``forms``:
    its forms may post, and the answer redirect anywhere (a login page's answer goes on to
    the client's redirect URI: browsers apply ``form-action`` to those redirects too)."""
    style_hash = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    form_action = "" if forms else "form-action 'none'; "
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; "
            f"{form_action}frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


SECURITY_HEADERS = security_headers(STYLE)


def render_page(
    title: str,
    paragraphs: list[str],
    details: list[tuple[str, str]] | None = None,
    status: int = 200,
    link: tuple[str, str] | None = None,
) -> Response:
    html = render_template(
        "page.html",
        title=title,
        paragraphs=paragraphs,
        details=details or [],
        link=link,
        style=STYLE,
    )
    return Response(html, status=status, mimetype="text/html", headers=SECURITY_HEADERS)


def error_page(error: str, description: str, hint: str = "", status: int = 400) -> Response:
    details = [("error", error)]
    if description:
        details.append(("error_description", description))
    if hint:
        details.append(("error_hint", hint))
    return render_page(
        "The request could not be completed",
        ["The authorization server could not complete this request."],
        details,
        status,
    )
