"""The page that logs the browser out of each client (OpenID Connect Front-Channel Logout
1.0 §3): the clients' ``frontchannel_logout_uri``s in invisible iframes, then on to the
post-logout destination.

No script framework, no inline handler: one small script (allowed by its hash in the
Content-Security-Policy, like the style) goes on once every frame has loaded or after
``WAIT_MS``; without JavaScript a meta refresh goes on after ``FALLBACK_SECONDS`` and a
link lets the user go at once. ``frame-src`` names exactly the clients' origins, and the
frames are sandboxed (scripts and their own cookies, but no navigating this page away).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from urllib.parse import urlsplit

from flask import Response, render_template

from authserver.web.pages import STYLE

log = logging.getLogger("authserver.logout")

WAIT_MS = 4000
FALLBACK_SECONDS = 6
FRAME_STYLE = ".logout{position:absolute;width:0;height:0;border:0;visibility:hidden}"
SCRIPT = (
    "(function(){var f=document.querySelectorAll('iframe.logout'),"
    "n=document.getElementById('continue').getAttribute('href'),left=f.length,done=false;"
    "function go(){if(!done){done=true;window.location.replace(n);}}"
    "f.forEach(function(e){e.addEventListener('load',function(){if(--left<=0)go();});});"
    f"if(!left)go();setTimeout(go,{WAIT_MS});}})();"
)
# A CSP source names an origin only: scheme, host (name, IPv4 or [IPv6]) and port.
_CSP_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _CSP_ORIGIN.fullmatch(origin) else None


def frontchannel_page(frames: list[str], destination: str) -> Response:
    origins = {url: _origin(url) for url in frames}
    shown = [url for url, origin in origins.items() if origin]
    if len(shown) < len(frames):
        log.warning(
            "%d front-channel logout URI(s) not loaded: no CSP origin names them",
            len(frames) - len(shown),
        )
    style = STYLE + FRAME_STYLE
    html = render_template(
        "frontchannel_logout.html",
        frames=shown,
        destination=destination,
        style=style,
        script=SCRIPT,
        fallback_seconds=FALLBACK_SECONDS,
    )
    frame_sources = " ".join(sorted({origins[url] for url in shown})) or "'none'"
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{_sha256(style)}'; "
            f"script-src 'sha256-{_sha256(SCRIPT)}'; frame-src {frame_sources}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return Response(html, status=200, mimetype="text/html", headers=headers)
