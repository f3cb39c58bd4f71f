"""A small Flask web app that logs its users in through authserver (OpenID Connect,
authorization code with PKCE), with Authlib's Flask client.

Configured from the environment:

* ``AUTHSERVER_ISSUER``: the issuer as browsers reach it, e.g. ``http://localhost:4444/``;
  the server metadata is read from its ``/.well-known/openid-configuration``;
* ``AUTHSERVER_INTERNAL_URL`` (optional): where this app itself reaches authserver when
  that differs from the issuer (a compose network: ``http://authserver:4444``); see
  ``back_channel_metadata``;
* ``AUTHSERVER_CLIENT_ID``, ``AUTHSERVER_CLIENT_SECRET``: the app's OAuth2 client;
* ``APP_SECRET_KEY``: signs Flask's session cookie.
"""

import os
from html import escape
from urllib.parse import urlsplit, urlunsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, session, url_for

# The endpoints this app calls itself (the back channel); the browser uses the others.
BACK_CHANNEL = (
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
)


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ["APP_SECRET_KEY"]
    issuer = os.environ["AUTHSERVER_ISSUER"]
    internal = os.environ.get("AUTHSERVER_INTERNAL_URL")
    metadata_base = (internal or issuer).rstrip("/")

    oauth = OAuth(app)
    client = oauth.register(
        "authserver",
        client_id=os.environ["AUTHSERVER_CLIENT_ID"],
        client_secret=os.environ["AUTHSERVER_CLIENT_SECRET"],
        server_metadata_url=metadata_base + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )

    def metadata() -> dict:
        loaded = client.load_server_metadata()  # fetched once, then kept by Authlib
        if internal:
            back_channel_metadata(loaded, internal)
        return loaded

    @app.get("/")
    def index():
        user = session.get("user")
        if user is None:
            return '<p>Not logged in. <a href="/login">Log in</a></p>'
        return f"<p>Logged in as <span id=email>{escape(user.get('email', ''))}</span></p>"

    @app.get("/login")
    def login():
        metadata()
        return client.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback():
        metadata()
        try:
            token = client.authorize_access_token()  # checks state, sends the PKCE verifier
        except OAuthError as exc:  # e.g. ?error=access_denied from the authorization server
            message = f"{exc.error}: {exc.description or ''}"
            return f"<p>Login failed: <span id=error>{escape(message)}</span></p>", 403
        session["user"] = dict(token["userinfo"])  # the ID token's claims, verified
        return redirect(url_for("index"))

    return app


def back_channel_metadata(metadata: dict, internal_url: str) -> dict:
    """Point the back-channel endpoints at ``internal_url``, in place.

    Discovery names every endpoint under the issuer, the browser-facing URL. The browser
    keeps using the authorization endpoint there; this app's own calls (token, JWKS,
    userinfo…) go to the internal address instead. The ``issuer`` is left alone: ID
    tokens carry the browser-facing issuer, and Authlib checks ``iss`` against it.
    """
    if metadata.get("_back_channel") == internal_url:
        return metadata
    internal = urlsplit(internal_url)
    for name in BACK_CHANNEL:
        if name in metadata:
            url = urlsplit(metadata[name])
            metadata[name] = urlunsplit(
                url._replace(scheme=internal.scheme, netloc=internal.netloc)
            )
    metadata["_back_channel"] = internal_url
    return metadata


if __name__ == "__main__":  # or: flask --app app run
    create_app().run(
        host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000"))
    )
