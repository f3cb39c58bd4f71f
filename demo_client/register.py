"""``demo-client --register``: create or update this app's own OAuth2 client through the
admin API, so that nobody copies client ids and secrets by hand.

A client is this app's when its redirect URIs are this app's: then it is updated (PUT
``/admin/clients/{id}``, a full replace that also sets the new secret, or with
``private_key_jwt`` the new public key and no secret). A client that
another demo client registered for other redirect URIs is never changed unless
``--overwrite`` says so: without ``DEMO_CLIENT_ID`` the app takes ``demo-client``, or else
``demo-client-<port>``; with ``DEMO_CLIENT_ID`` it fails in one line. While the admin API is
still starting (``docker compose up``), the registration says so and retries for a while.

The client carries this app's logout URIs (OIDC Back-Channel Logout 1.0 §2.2, Front-Channel
Logout 1.0 §2), both asking for the session id (``sid``), so that a logout at the
authorization server ends this app's session too.

``register_spa_client`` then does the same for the single-page app at ``/spa``: a public
client (no secret) under ``demo-spa`` (or ``demo-spa-<port>``), whose ``allowed_cors_origins``
let this app's origin call the token, revocation and userinfo endpoints from the browser.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests

from demo_client.client_key import PRIVATE_KEY_JWT
from demo_client.config import SPA_SCOPE, Config
from demo_client.logs import printable
from demo_client.oauth import TOKEN_EXCHANGE_GRANT

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4

RETRY_SECONDS = 30.0
REPORT_EVERY = 5.0  # seconds between "still waiting" lines
REQUEST_TIMEOUT = 10.0


class RegistrationError(Exception):
    """Why the client could not be registered, in one line."""


@dataclass(frozen=True)
class Registration:
    outcome: str  # "created" or "updated"
    client_id: str


def client_document(config: Config) -> dict:
    """The client, in Hydra's JSON model (``spec/api.json``: ``oAuth2Client``).

    With a key (``private_key_jwt``, RFC 7523 §2.2) it carries the public key in ``jwks``
    and the algorithm its assertions use (OIDC Dynamic Client Registration §2,
    ``token_endpoint_auth_signing_alg``), and no secret at all. With an exchange audience it
    holds the token-exchange grant type and names that audience (RFC 8693 §2.1), so the
    home page's exchange is allowed."""
    document = {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "client_name": config.name,
        # The device grant (RFC 8628) for the "Log in with a device" page.
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "response_types": ["code"],
        "scope": config.scope,
        "redirect_uris": [config.redirect_uri],
        "post_logout_redirect_uris": [config.post_logout_redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
        # Logout at the server ends the session here too: a logout token POSTed server to
        # server, and this app's page in an iframe of the server's logout page; with the
        # session id, so that only that login's session here ends.
        "backchannel_logout_uri": config.backchannel_logout_uri,
        "backchannel_logout_session_required": True,
        "frontchannel_logout_uri": config.frontchannel_logout_uri,
        "frontchannel_logout_session_required": True,
    }
    if config.exchange_audience:  # RFC 8693: "Exchange the access token" on the home page
        document["grant_types"].append(TOKEN_EXCHANGE_GRANT)
    # RFC 8707 and RFC 8693: the server grants only audiences in the client's list.
    audience = [uri for uri in (config.resource, config.exchange_audience) if uri]
    if audience:
        document["audience"] = list(dict.fromkeys(audience))
    key = config.client_key
    if key is not None:
        del document["client_secret"]
        document.update(
            token_endpoint_auth_method=PRIVATE_KEY_JWT,
            token_endpoint_auth_signing_alg=key.alg,
            jwks=key.public_jwks(),
        )
    return document


def spa_client_document(config: Config) -> dict:
    """The single-page app's client: public, since its code runs in the browser and could
    keep no secret (RFC 6749 §2.1; the server then requires PKCE of it), and its origin
    allowed to call the token, revocation and userinfo endpoints cross-origin."""
    return {
        "client_id": config.spa_client_id,
        "client_name": "Demo single-page app",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": SPA_SCOPE,
        "redirect_uris": [config.spa_redirect_uri],
        "allowed_cors_origins": [config.public_origin],
        "token_endpoint_auth_method": "none",
    }


def candidate_ids(config: Config) -> list[str]:
    """The ids this app may register under, in order of preference."""
    if config.client_id_given or config.overwrite:
        return [config.client_id]
    return [config.client_id, f"{config.client_id}-{config.redirect_port}"]


def spa_candidate_ids(config: Config) -> list[str]:
    """The ids the single-page app's client may take, in order of preference."""
    if config.spa_client_id_given or config.overwrite:
        return [config.spa_client_id]
    return [config.spa_client_id, f"{config.spa_client_id}-{config.redirect_port}"]


@dataclass(frozen=True)
class _Wanted:
    """One client to claim: the ids to try in order and its document under an id."""

    ids: list[str]
    document: Callable[[str], dict]
    redirect_uri: str
    id_setting: str  # the variable that names the id
    overwrite: bool


def register_client(
    config: Config,
    http: requests.Session | None = None,
    retry_seconds: float = RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda _line: None,
    clock: Callable[[], float] = time.monotonic,
) -> Registration:
    """Create or update the client; ``say`` reports the wait for the admin API.

    Raises RegistrationError (after retrying connection failures and 5xx answers for
    ``retry_seconds``) with a one-line reason.
    """
    _need_admin_url(config)
    if not config.client_secret and config.client_key is None:
        raise RegistrationError("registering needs a client secret or a key")
    wanted = _Wanted(
        ids=candidate_ids(config),
        document=lambda client_id: client_document(config.with_client_id(client_id)),
        redirect_uri=config.redirect_uri,
        id_setting="DEMO_CLIENT_ID",
        overwrite=config.overwrite,
    )
    return _register(config, wanted, http, retry_seconds, sleep, say, clock)


def register_spa_client(
    config: Config,
    http: requests.Session | None = None,
    retry_seconds: float = RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda _line: None,
    clock: Callable[[], float] = time.monotonic,
) -> Registration:
    """Create or update the single-page app's public client, by the rules and with the
    retries of ``register_client``. Raises RegistrationError with a one-line reason."""
    _need_admin_url(config)
    wanted = _Wanted(
        ids=spa_candidate_ids(config),
        document=lambda client_id: spa_client_document(config.with_spa_client_id(client_id)),
        redirect_uri=config.spa_redirect_uri,
        id_setting="DEMO_CLIENT_SPA_ID",
        overwrite=config.overwrite,
    )
    return _register(config, wanted, http, retry_seconds, sleep, say, clock)


def _need_admin_url(config: Config) -> None:
    if not config.admin_url:
        raise RegistrationError("registering needs DEMO_CLIENT_ADMIN_URL (the admin API URL)")


def _register(
    config: Config,
    wanted: _Wanted,
    http: requests.Session | None,
    retry_seconds: float,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
    clock: Callable[[], float],
) -> Registration:
    http = http or requests.Session()
    base = config.admin_url.rstrip("/") + "/admin/clients"
    waiting = _Waiting(config.admin_url, say, clock, retry_seconds)
    while True:
        try:
            return _register_once(http, base, wanted)
        except _Retry as exc:
            if waiting.expired():
                raise RegistrationError(
                    f"cannot register the client at {base}: {exc} "
                    f"(gave up after {retry_seconds:g} s)"
                ) from None
            waiting.report(str(exc))
            sleep(1.0)


class _Retry(Exception):
    pass


class _Waiting:
    """Says once that the admin API is awaited, then a line every REPORT_EVERY seconds."""

    def __init__(self, url: str, say: Callable[[str], None], clock, limit: float):
        self.url, self.say, self.clock = url, say, clock
        self.start = clock()
        self.deadline = self.start + limit
        self.next_report: float | None = None

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def report(self, reason: str) -> None:
        now = self.clock()
        if self.next_report is None:
            limit = self.deadline - self.start
            self.say(f"waiting for the admin API at {self.url}: {reason}; retrying for {limit:g} s")
        elif now >= self.next_report:
            self.say(f"still waiting for the admin API at {self.url} ({now - self.start:.0f} s)")
        else:
            return
        self.next_report = now + REPORT_EVERY


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


def _register_once(http: requests.Session, base: str, wanted: _Wanted) -> Registration:
    taken: dict[str, list] = {}
    for client_id in wanted.ids:
        outcome = _claim(http, base, wanted.document(client_id), wanted.overwrite)
        if isinstance(outcome, str):
            return Registration(outcome, client_id)
        taken[client_id] = outcome
    raise RegistrationError(_taken_message(wanted, taken))


def _claim(http: requests.Session, base: str, document: dict, overwrite: bool) -> str | list:
    """Create or update the client; when another app's client holds the id, its redirect
    URIs instead."""
    url = f"{base}/{quote(document['client_id'], safe='')}"
    existing = _send(http, "GET", url)
    if existing.status_code == 404:
        created = _send(http, "POST", base, json=document)
        if created.status_code == 201:
            return "created"
        if created.status_code != 409:  # 409: created meanwhile; look at it again
            raise RegistrationError(_refusal(created, "create"))
        existing = _send(http, "GET", url)
    if existing.status_code != 200:
        raise RegistrationError(_refusal(existing, "read"))
    theirs = _redirect_uris(existing)
    if not overwrite and sorted(theirs) != sorted(document["redirect_uris"]):
        return theirs
    updated = _send(http, "PUT", url, json=document)
    if updated.status_code != 200:
        raise RegistrationError(_refusal(updated, "update"))
    return "updated"


def _redirect_uris(response: requests.Response) -> list:
    try:
        body = response.json()
    except ValueError:
        return []
    uris = body.get("redirect_uris") if isinstance(body, dict) else None
    return [printable(uri) for uri in uris] if isinstance(uris, list) else []


def _taken_message(wanted: _Wanted, taken: dict[str, list]) -> str:
    """One line: which ids are taken, for what, and the two ways out."""
    held = "; ".join(
        f"{client_id!r} has redirect URIs {', '.join(uris) or '(none)'}"
        for client_id, uris in taken.items()
    )
    return (
        f"will not change a client another app uses: {held}, not {wanted.redirect_uri} "
        f"(set {wanted.id_setting} to a new id, or pass --overwrite to replace "
        f"{wanted.ids[0]!r})"
    )


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
