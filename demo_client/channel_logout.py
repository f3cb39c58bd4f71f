"""Sessions ended by the authorization server: OIDC Back-Channel Logout 1.0 (a logout token
POSTed server to server) and Front-Channel Logout 1.0 (this app's page in an iframe of the
server's logout page). No Flask here: the views read the request and write the answer.

A logout token is checked in the order of §2.6, cheapest first, and the first failed check
names the refusal: its form, its header (before any key is fetched), its signature, its
claims, and last whether its ``jti`` was seen before (recorded only then, so that nobody
but the server can fill the replay cache). Then every session here whose ID token has the
token's ``sid`` (or, without one, its ``sub``) ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from demo_client import errors, inspector
from demo_client.config import Config
from demo_client.discovery import Discovery, ServerMetadata, same_issuer
from demo_client.id_token import Check
from demo_client.logout_token import (
    IAT_FUTURE_SECONDS,
    IAT_PAST_SECONDS,
    LogoutToken,
    claim_checks,
    header_checks,
    read_logout_token,
    replay_check,
    signature_checks,
)
from demo_client.oauth import OAuthClient
from demo_client.resource import ReplayCache
from demo_client.store import BrowserState, SessionStore
from demo_client.transport import Unreachable

KEYS_SECONDS = 300  # how long the JWKS is kept
REFETCH_SECONDS = 10  # an unknown kid fetches the JWKS again, at most this often
LOCK_SECONDS = 5.0  # how long to wait for a browser's request to finish with its state
MAX_JTIS = 10_000
# Longer than any token is accepted (iat at most 10 minutes old, a minute ahead).
JTI_SECONDS = IAT_PAST_SECONDS + IAT_FUTURE_SECONDS + 60


class Refused(Exception):
    """Why a logout (token or front-channel request) is refused: ``check`` names the rule
    for the log, ``description`` says it in ASCII for the answer (never a token value)."""

    def __init__(self, check: str, description: str):
        super().__init__(description)
        self.check = check
        self.description = description


class SigningKeys:
    """The issuer's JWKS for logout tokens: kept for a few minutes and fetched again when a
    token names a kid it lacks (a rotated key), as for ID tokens, but at most every
    REFETCH_SECONDS, so that tokens with made-up kids cannot make this app hammer the
    server."""

    def __init__(self, fetch: Callable[[ServerMetadata], dict]):
        self._fetch = fetch
        self._lock = threading.Lock()
        self._jwks: dict | None = None
        self._fetched_at = 0.0

    def get(self, metadata: ServerMetadata, kid: object) -> dict:
        """Raises Unreachable when the JWKS cannot be fetched."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if (
                self._jwks is None
                or age >= KEYS_SECONDS
                or (not _has_kid(self._jwks, kid) and age >= REFETCH_SECONDS)
            ):
                self._jwks = self._fetch(metadata)
                self._fetched_at = time.monotonic()
            return self._jwks


def _has_kid(jwks: dict, kid: object) -> bool:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    return isinstance(keys, list) and any(
        isinstance(key, dict) and key.get("kid") == kid for key in keys
    )


@dataclass
class BackChannelLogout:
    """Checks logout tokens and ends the sessions they name (one per app)."""

    store: SessionStore
    client_id: str
    metadata: Callable[[], ServerMetadata]  # discovery (cached); raises errors.Explained
    keys: SigningKeys
    replays: ReplayCache

    def accept(self, compact: str, url: str) -> int:
        """Check the token, then end its sessions; how many ended. Raises Refused."""
        started = time.time()
        token = read_logout_token(compact)
        if token is None:
            raise Refused("format", "the logout_token is not a compact JWS (three base64url parts)")
        checks = _passes(header_checks(token.header))
        metadata = self._metadata()
        try:
            jwks = self.keys.get(metadata, token.header.get("kid"))
        except Unreachable:
            raise Refused("keys", "the issuer's signing keys cannot be fetched") from None
        checks += _passes(signature_checks(token, jwks))
        claims = claim_checks(
            token.claims, issuer=metadata.issuer, client_id=self.client_id, now=started
        )
        checks += _passes(claims)
        checks += _passes([replay_check(self.replays.first_use(token.claims["jti"], started))])
        return self._end(token, checks, url, started)

    def _metadata(self) -> ServerMetadata:
        try:
            return self.metadata()
        except errors.Explained:
            raise Refused(
                "discovery", "the issuer's discovery document cannot be fetched"
            ) from None

    def _end(self, token: LogoutToken, checks: list[Check], url: str, started: float) -> int:
        sid, sub = token.claims.get("sid"), token.claims.get("sub")

        def step():
            decoded = inspector.decode_logout_token(token.header, token.claims, token.signature)
            return inspector.backchannel_logout_step(url, token.compact, decoded, checks, started)

        # With a sid, that login's sessions; with only a sub, all of that user's (§2.7).
        ended = end_sessions(self.store, "sid" if sid else "sub", sid or sub, step)
        if ended is None:
            raise Refused("session", "a matching session is busy; send a new logout token")
        return len(ended)


def _passes(checks: list[Check]) -> list[Check]:
    failed = next((check for check in checks if not check.passed), None)
    if failed is not None:
        raise Refused(failed.name, f"the logout token failed the {failed.name} check")
    return checks


def frontchannel_params(
    iss_values: list[str], sid_values: list[str], issuer: str
) -> tuple[str | None, str | None]:
    """OIDC Front-Channel Logout §2: iss must be this client's issuer; sid comes with iss.
    (iss, sid), each None when absent. Raises Refused."""
    if len(iss_values) > 1 or len(sid_values) > 1:
        raise Refused("parameters", "iss and sid may each be sent once")
    iss = iss_values[0] if iss_values else None
    sid = sid_values[0] if sid_values else None
    if iss is not None and not same_issuer(iss, issuer):
        raise Refused("iss", "iss is not the issuer this client trusts")
    if sid is not None and iss is None:
        raise Refused("iss", "sid is sent with iss")
    if sid == "":
        raise Refused("sid", "sid is empty")
    return iss, sid


def end_sessions(
    store: SessionStore, claim: str, value: str, step: Callable[[], inspector.Step]
) -> list[BrowserState] | None:
    """End every session whose ID token's ``claim`` (sid or sub) is ``value``; those ended,
    or None when one of them stayed locked by a request in progress."""
    ended = []
    for state in store.states():
        if not _logged_in_as(state, claim, value):
            continue  # read without the lock: a first sort, checked again under it
        if not state.lock.acquire(timeout=LOCK_SECONDS):
            return None
        try:
            if _logged_in_as(state, claim, value):
                state.end_session(step())
                ended.append(state)
        finally:
            state.lock.release()
    return ended


def end_own_session(state: BrowserState, step: Callable[[], inspector.Step]) -> bool:
    """Front-channel logout without a sid: the requesting browser's session, if logged in."""
    if not state.lock.acquire(timeout=LOCK_SECONDS):
        return False
    try:
        if not state.tokens:
            return False
        state.end_session(step())
        return True
    finally:
        state.lock.release()


def _logged_in_as(state: BrowserState, claim: str, value: str) -> bool:
    id_token = state.id_token
    return bool(state.tokens and id_token and id_token.claims.get(claim) == value)


def build_backchannel_logout(
    config: Config, store: SessionStore, discovery: Discovery, oauth: OAuthClient
) -> BackChannelLogout:
    """With the app's store, its discovery (cached) and its JWKS fetch."""
    return BackChannelLogout(
        store=store,
        client_id=config.client_id,
        metadata=lambda: discovery.get()[0].metadata,
        keys=SigningKeys(lambda metadata: oauth.jwks(metadata)[0]),
        replays=ReplayCache(max_entries=MAX_JTIS, keep_seconds=JTI_SECONDS),
    )
