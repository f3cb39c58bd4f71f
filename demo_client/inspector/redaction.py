"""Display values for the inspector: every secret cut to what is enough to recognise it.

Codes (the device code too), tokens (a token exchange's subject token and a logout token
too), the PKCE verifier, the challenges and verifiers of the login flow, client assertions
and the Authorization header are shortened to their first eight characters and "…" here, so no
template can show a whole one.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl, quote, urlsplit

SECRET_NAMES = frozenset(
    {
        "code",
        "code_verifier",
        "device_code",
        "device_challenge",
        "device_verifier",
        "access_token",
        "refresh_token",
        "id_token",
        "id_token_hint",
        "logout_token",
        "subject_token",
        "actor_token",
        "token",
        "client_secret",
        "client_assertion",
        "login_challenge",
        "login_verifier",
        "consent_challenge",
        "consent_verifier",
        "logout_challenge",
        "logout_verifier",
    }
)
SHORT_LENGTH = 8


def short(value: object) -> str:
    """The first eight characters and "…": enough to recognise, useless to steal."""
    text = "" if value is None else str(value)
    return text if len(text) <= SHORT_LENGTH else text[:SHORT_LENGTH] + "…"


def fingerprint(value: str) -> str:
    """A few hex digits of SHA-256: tells two tokens apart without showing either."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def show(name: str, value: object) -> str:
    if name in SECRET_NAMES:
        return short(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def safe_url(url: str) -> str:
    """The URL with secret query parameters shortened (and "…" left readable)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not pairs:
        return base
    query = "&".join(
        f"{quote(name)}={quote(show(name, value), safe=':/')}".replace("%E2%80%A6", "…")
        for name, value in pairs
    )
    return f"{base}?{query}"


def show_authorization(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    return f"{scheme} {short(credentials)}" if credentials else short(header)
