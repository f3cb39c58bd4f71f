"""Settings from the environment, read once by the command line (never at import time).

``from_env()`` turns environment variables into the plain dict that ``create_app`` takes, so
tests and embedders can build the same dict by hand. Every variable is listed in README.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import Type

from consent_ui.proxies import parse_networks

# The demo account of Hydra's reference app. Change it with CONSENT_UI_USER_* variables.
DEMO_EMAIL = "foo@bar.com"
DEMO_PASSWORD = "foobar"

DEFAULTS: dict = {
    "HOST": "127.0.0.1",
    "PORT": 3000,
    "HYDRA_ADMIN_URL": None,
    "SECRET_KEY": None,  # None: create_app picks a random key and logs a warning
    "USER_EMAIL": DEMO_EMAIL,
    "USER_NAME": "Foo Bar",
    "USER_PASSWORD": DEMO_PASSWORD,
    "USER_PASSWORD_HASH": None,  # an argon2 hash; wins over USER_PASSWORD
    "REMEMBER_FOR": 30 * 24 * 3600,  # seconds: "Remember me" and "Remember this decision"
    "HTTPS": False,  # True: cookies are always Secure (else only on https requests)
    "TRUSTED_PROXIES": (),  # CIDRs whose X-Forwarded-For and -Proto are believed
    # Login throttling (throttle.py): failures per device cookie, per account + address,
    # and per account before the delays start; per address; within the window (seconds).
    "THROTTLE_MAX_FAILURES": 5,
    "THROTTLE_ADDRESS_MAX_FAILURES": 20,
    "THROTTLE_WINDOW": 15 * 60,
    "THROTTLE_LOCKOUT": 5 * 60,  # seconds a device, pair or address stays locked
    "THROTTLE_MAX_DELAY": 60,  # seconds: the longest wait between attempts on an account
    "DEVICE_COOKIE_MAX_AGE": 90 * 24 * 3600,  # seconds a browser stays a known device
    "LOG_LEVEL": "info",
    "DEMO_CLIENT_URL": None,  # an http(s) link shown on the index and "still logged in" pages
    "USER_STORE": None,  # "package.module:factory": the user store to load (store_loader.py)
}


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line meant for the operator."""


def from_env(environ: Mapping[str, str] | None = None) -> dict:
    """Read the settings from environment variables; raise ConfigError when one is wrong."""
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    config["HYDRA_ADMIN_URL"] = admin_url(env.get("HYDRA_ADMIN_URL", ""))
    config["HOST"] = env.get("HOST") or DEFAULTS["HOST"]
    config["PORT"] = _integer(env, "PORT", DEFAULTS["PORT"], 1, 65535)
    config["SECRET_KEY"] = env.get("CONSENT_UI_SECRET_KEY") or None
    config["USER_EMAIL"] = env.get("CONSENT_UI_USER_EMAIL") or DEMO_EMAIL
    config["USER_NAME"] = env.get("CONSENT_UI_USER_NAME") or DEFAULTS["USER_NAME"]
    config["USER_PASSWORD"] = env.get("CONSENT_UI_USER_PASSWORD") or DEMO_PASSWORD
    config["USER_PASSWORD_HASH"] = password_hash(env.get("CONSENT_UI_USER_PASSWORD_HASH", ""))
    config["REMEMBER_FOR"] = _integer(env, "CONSENT_UI_REMEMBER_FOR", DEFAULTS["REMEMBER_FOR"], 0)
    config["HTTPS"] = _boolean(env, "CONSENT_UI_HTTPS")
    config["TRUSTED_PROXIES"] = trusted_proxies(env.get("CONSENT_UI_TRUSTED_PROXIES", ""))
    for key in _POSITIVE_INTEGERS:
        config[key] = _integer(env, "CONSENT_UI_" + key, DEFAULTS[key], 1)
    config["LOG_LEVEL"] = env.get("LOG_LEVEL") or DEFAULTS["LOG_LEVEL"]
    config["DEMO_CLIENT_URL"] = link(env.get("CONSENT_UI_DEMO_CLIENT_URL", ""))
    config["USER_STORE"] = env.get("CONSENT_UI_USER_STORE", "").strip() or None
    return config


def admin_url(value: str | None) -> str:
    """HYDRA_ADMIN_URL, Hydra's own variable name: where the admin API listens."""
    value = (value or "").strip().rstrip("/")
    if not value:
        raise ConfigError(
            "HYDRA_ADMIN_URL is not set: give the admin API's URL, e.g. http://127.0.0.1:4445"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"HYDRA_ADMIN_URL must be an http(s) URL, got {value!r}")
    return value


_POSITIVE_INTEGERS = (
    "THROTTLE_MAX_FAILURES",
    "THROTTLE_ADDRESS_MAX_FAILURES",
    "THROTTLE_WINDOW",
    "THROTTLE_LOCKOUT",
    "THROTTLE_MAX_DELAY",
    "DEVICE_COOKIE_MAX_AGE",
)


def link(value: str) -> str | None:
    """CONSENT_UI_DEMO_CLIENT_URL: an http(s) URL, or none."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.isprintable():
        raise ConfigError(f"CONSENT_UI_DEMO_CLIENT_URL must be an http(s) URL, got {value!r}")
    return value


def trusted_proxies(value: str | Iterable[str]) -> tuple[str, ...]:
    """CONSENT_UI_TRUSTED_PROXIES: comma-separated CIDRs (``10.0.0.0/8,::1``), or none."""
    try:
        return tuple(str(network) for network in parse_networks(value))
    except ValueError as exc:
        raise ConfigError(f"CONSENT_UI_TRUSTED_PROXIES: {exc}") from None


def password_hash(value: str) -> str | None:
    """CONSENT_UI_USER_PASSWORD_HASH must be an argon2id hash (``$argon2id$v=19$...``)."""
    value = value.strip()
    if not value:
        return None
    try:
        parameters = extract_parameters(value)
    except InvalidHashError:
        raise ConfigError("CONSENT_UI_USER_PASSWORD_HASH is not an argon2 hash") from None
    if parameters.type is not Type.ID:
        raise ConfigError("CONSENT_UI_USER_PASSWORD_HASH must be an argon2id hash")
    return value


def is_demo_user(config: Mapping) -> bool:
    """True while the built-in demo credentials are in use (the login page says so)."""
    return (
        config.get("USER_EMAIL") == DEMO_EMAIL
        and not config.get("USER_PASSWORD_HASH")
        and config.get("USER_PASSWORD") == DEMO_PASSWORD
    )


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int | None = None):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be {limit}, got {value}")
    return value


def _boolean(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
