"""consent_ui: the login, consent and logout screens of an OAuth2 / OpenID Connect server.

The authorization server (``authserver``, or Ory Hydra) never shows these screens: it sends
the browser here with a challenge, and this app answers through the server's admin API.
Start reading at ``views/login.py``; plug in your users at ``users.py``.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from consent_ui import errors, headers, logs, wrappers
from consent_ui.admin_api import AdminApi
from consent_ui.config import DEFAULTS, admin_url, from_env, is_demo_user
from consent_ui.proxies import TrustedProxies, parse_networks
from consent_ui.services import Services
from consent_ui.throttle import LoginThrottle
from consent_ui.users import SingleUserStore, UserStore
from consent_ui.views import apps, consent, device, favicon, health, index, login, logout
from consent_ui.views.common import web_url

log = logging.getLogger(__name__)


def create_app(config: dict | None = None, user_store=None, admin_api=None, throttle=None) -> Flask:
    """Build the app. ``config`` uses the keys of ``config.DEFAULTS`` (``None``: read the
    environment); ``user_store``, ``admin_api`` and ``throttle`` replace the defaults (your
    user database, a shared failure store, or fakes in tests)."""
    settings = {**DEFAULTS, **(config if config is not None else from_env())}
    app = Flask(__name__)
    app.request_class, app.response_class = wrappers.Request, wrappers.Response
    app.config["SHOW_DEMO_ACCOUNT"] = user_store is None and is_demo_user(settings)
    users = user_store or default_user_store(settings)
    settings.pop("USER_PASSWORD", None)  # hashed by now; the plain password is not kept
    app.config.update(settings)
    app.config.update(flask_settings(settings))
    app.extensions["consent_ui"] = Services(
        admin_api=admin_api or AdminApi(admin_url(settings["HYDRA_ADMIN_URL"])),
        users=users,
        throttle=throttle or default_throttle(settings),
        code_throttle=code_throttle(settings),
    )
    app.wsgi_app = wrappers.RejectBadHost(app.wsgi_app, app.url_map)
    # Outermost, so every part of the app sees the client's own address and scheme.
    app.wsgi_app = TrustedProxies(app.wsgi_app, parse_networks(settings["TRUSTED_PROXIES"]))
    logs.init_app(app)  # first, so every later hook and error page has the request id
    CSRFProtect(app)  # every POST needs the form's CSRF token, before any view runs
    init_login_manager(app, users)
    headers.init_app(app)
    errors.init_app(app)
    app.add_template_filter(web_url)
    blueprints = (login, consent, logout, device, apps, index, favicon, health)
    for blueprint in blueprints:
        app.register_blueprint(blueprint.bp)
    return app


def default_user_store(settings: dict) -> UserStore:
    """The single user of CONSENT_UI_USER_* (see users.py to use your own database)."""
    return SingleUserStore.from_settings(
        email=settings["USER_EMAIL"],
        name=settings["USER_NAME"],
        password=settings.get("USER_PASSWORD"),
        password_hash=settings.get("USER_PASSWORD_HASH"),
        hasher=settings.get("PASSWORD_HASHER"),
    )


def default_throttle(settings: dict) -> LoginThrottle:
    """The in-memory throttle of CONSENT_UI_THROTTLE_* (see throttle.py)."""
    return LoginThrottle(
        max_failures=settings["THROTTLE_MAX_FAILURES"],
        window=settings["THROTTLE_WINDOW"],
        lockout=settings["THROTTLE_LOCKOUT"],
        address_max_failures=settings["THROTTLE_ADDRESS_MAX_FAILURES"],
        max_delay=settings["THROTTLE_MAX_DELAY"],
    )


def code_throttle(settings: dict) -> LoginThrottle:
    """Wrong device codes from one address (CONSENT_UI_THROTTLE_ADDRESS_MAX_FAILURES). The
    server ends each challenge after a few, so only the per-address count is used here."""
    return LoginThrottle(
        max_failures=2**31,  # per challenge: the server's limit, then its 410 starts again
        window=settings["THROTTLE_WINDOW"],
        lockout=settings["THROTTLE_LOCKOUT"],
        address_max_failures=settings["THROTTLE_ADDRESS_MAX_FAILURES"],
        max_delay=settings["THROTTLE_MAX_DELAY"],
    )


def flask_settings(settings: dict) -> dict:
    """Cookie and CSRF settings. The cookie names are this app's own: the authorization
    server and the client app run on the same host, and cookies ignore ports. Cookies are
    also Secure on any request that came over https (wrappers.Response)."""
    https = bool(settings["HTTPS"])
    secret_key = settings.get("SECRET_KEY")
    if not secret_key:
        log.warning(
            "CONSENT_UI_SECRET_KEY is not set: using a random key, so sessions and forms "
            "do not survive a restart and do not work across several processes"
        )
        secret_key = secrets.token_urlsafe(32)
    return {
        "SECRET_KEY": secret_key,
        "SESSION_COOKIE_NAME": "consent_ui_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_NAME": "consent_ui_remember",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        # 0 means "no limit" to Hydra; Flask-Login needs a number, so a year.
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=settings["REMEMBER_FOR"] or 365 * 86400),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Flask-WTF's extra Referer check on https cannot pass: our Referrer-Policy is
        # no-referrer (URLs carry challenges). The signed token bound to the session
        # cookie, and SameSite=Lax, are the CSRF protection.
        "WTF_CSRF_SSL_STRICT": False,
        "MAX_CONTENT_LENGTH": 64 * 1024,  # our forms are tiny
    }


def init_login_manager(app: Flask, users: UserStore) -> None:
    """Flask-Login remembers who logged in here, only to greet them on later pages. The
    authorization server, not this cookie, decides who is logged in for OAuth2."""
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(users.get)
