"""``demo-client --register``: create or update this app's own OAuth2 client through the
admin API, so that nobody copies client ids and secrets by hand.

PUT ``/admin/clients/{id}`` when the client exists (a full replace, which also sets the new
secret), POST ``/admin/clients`` when it does not. While the admin API is still starting
(``docker compose up``), the registration retries for a while, then fails with one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import requests

from demo_client.config import Config

RETRY_SECONDS = 30.0
REQUEST_TIMEOUT = 10.0


class RegistrationError(Exception):
    """Why the client could not be registered, in one line."""


def client_document(config: Config) -> dict:
    """The client, in Hydra's JSON model (``spec/api.json``: ``oAuth2Client``)."""
    return {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "client_name": "Demo client",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": config.scope,
        "redirect_uris": [config.redirect_uri],
        "post_logout_redirect_uris": [config.post_logout_redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
    }


def register_client(
    config: Config,
    http: requests.Session | None = None,
    retry_seconds: float = RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Create or update the client; return "created" or "updated".

    Raises RegistrationError (after retrying connection failures and 5xx answers for
    ``retry_seconds``) with a one-line reason.
    """
    if not config.admin_url:
        raise RegistrationError("registering needs DEMO_CLIENT_ADMIN_URL (the admin API URL)")
    if not config.client_secret:
        raise RegistrationError("registering needs a client secret")
    http = http or requests.Session()
    base = config.admin_url.rstrip("/") + "/admin/clients"
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            return _register_once(http, base, client_document(config))
        except _Retry as exc:
            if time.monotonic() >= deadline:
                raise RegistrationError(
                    f"cannot register the client at {base}: {exc} "
                    f"(gave up after {retry_seconds:g} s)"
                ) from None
            sleep(1.0)


class _Retry(Exception):
    pass


def _send(http: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    try:
        response = http.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
    except requests.ConnectionError:
        raise _Retry("the admin API is not reachable") from None
    except requests.Timeout:
        raise _Retry("the admin API did not answer in time") from None
    if response.status_code >= 500:
        raise _Retry(f"the admin API answered HTTP {response.status_code}")
    return response


def _register_once(http: requests.Session, base: str, document: dict) -> str:
    url = f"{base}/{quote(document['client_id'], safe='')}"
    existing = _send(http, "GET", url)
    if existing.status_code == 404:
        created = _send(http, "POST", base, json=document)
        if created.status_code == 201:
            return "created"
        if created.status_code != 409:  # 409: created meanwhile; update it below
            raise RegistrationError(_refusal(created, "create"))
    elif existing.status_code != 200:
        raise RegistrationError(_refusal(existing, "read"))
    updated = _send(http, "PUT", url, json=document)
    if updated.status_code != 200:
        raise RegistrationError(_refusal(updated, "update"))
    return "updated"


def _refusal(response: requests.Response, action: str) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    reason = ": ".join(
        str(part) for part in (body.get("error"), body.get("error_description")) if part
    )
    return (
        f"the admin API refused to {action} the client (HTTP {response.status_code}"
        + (f", {reason}" if reason else "")
        + ")"
    )
