"""Security headers on every response.

No JavaScript at all, styles only from our own stylesheet, images (client logos) from
https, no framing (clickjacking a consent button is the classic attack on this page), and
no Referer: our URLs carry the challenges.

There is deliberately no ``form-action``: Chrome and Safari apply it to every redirect that
follows a form submission, and ours end at the authorization server and then at the
client's redirect URI, which no fixed list can name (w3c/webappsec-csp#8).
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' https: data:",
        "style-src 'self'",
        "script-src 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


CACHEABLE = ("static", "favicon.favicon")  # the same for everyone, and nothing personal


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    if request.endpoint not in CACHEABLE:
        # Pages show personal data and one-time forms: never keep them in a cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
