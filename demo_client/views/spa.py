"""``/spa``: a single-page app, the second way to log in. This server only hands out the
page and its script (``static/spa.js``); the script is the OAuth 2.0 client. It is a
public client (RFC 6749 §2.1) running in the browser: it fetches discovery, makes the PKCE
pair (RFC 7636), sends the browser to the authorization endpoint, and when it comes back
here checks ``state``, exchanges the code at the token endpoint, checks the ID token
against the JWKS and calls userinfo, each a cross-origin ``fetch`` that CORS allows.
The tokens stay in the script's memory: this server never sees them."""

from __future__ import annotations

from flask import Blueprint

from demo_client.config import SPA_SCOPE
from demo_client.views.pages import page

bp = Blueprint("spa", __name__)


@bp.get("/spa")
def spa_page():
    # The authorization server redirects here with ?code=&state= (or ?error=): the
    # script reads them; this server neither reads nor logs them.
    return page("spa.html", spa_scope=SPA_SCOPE)
