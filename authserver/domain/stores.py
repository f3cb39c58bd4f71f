"""What the domain and the services need from storage: one protocol per store.

As Hydra has one persister interface and runs one test suite against every backend, the
repositories in ``authserver.storage`` implement these protocols and
``tests/integration/test_store_contract.py`` holds each of them to its protocol on every
backend (SQLite, PostgreSQL) and on both kinds of database handle (an ORM session in a
transaction, the autocommit connection of the hot paths). The protocols speak in domain
types only; a store never commits (whoever opened the handle owns the transaction).

Lookups by a challenge, verifier, cookie or token take its SHA-256 digest, never the
secret itself. Each store returns None (or an empty list) for what it does not know, and
``False`` or 0 when a write found nothing to change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from authserver.domain.access_tokens import AccessTokenRecord
from authserver.domain.clients import Client
from authserver.domain.device import DeviceChallenge, DeviceCodeRecord
from authserver.domain.flows import Flow
from authserver.domain.grants import AuthorizationCodeRecord, RefreshTokenRecord
from authserver.domain.logout_deliveries import LogoutDelivery
from authserver.domain.pushed_requests import PushedRequest
from authserver.domain.sessions import LoginSession, LogoutRequest
from authserver.domain.trust import TrustedIssuer

# -- clients -----------------------------------------------------------------------------


class ClientAlreadyExists(Exception):
    """``ClientStore.add`` of an id that is taken."""


class KeepSecret(enum.Enum):
    """``ClientStore.replace``'s default: leave the stored secret hash as it is."""

    KEEP = "keep"


KEEP_SECRET = KeepSecret.KEEP


@dataclass(frozen=True)
class RotatedSecret:
    """A secret replaced by a rotation (Hydra v26), still valid until dropped."""

    hash: str
    encrypted: str | None  # client_secret_jwt clients only
    rotated_at: int


MAX_ROTATED_SECRETS = 5


@dataclass(frozen=True)
class StoredClient:
    client: Client
    secret_hash: str | None  # None: a public client
    # client_secret_jwt only: the secret, Fernet-encrypted with the system secret.
    secret_encrypted: str | None = None
    rotated_secrets: tuple[RotatedSecret, ...] = ()
    registration_token_digest: str | None = None  # RFC 7592, registered clients only
    registered: bool = False  # made by dynamic registration
    first_used_at: int | None = None  # when it first obtained a token


@runtime_checkable
class ClientStore(Protocol):
    def get(self, client_id: str) -> StoredClient | None: ...

    def add(
        self,
        client: Client,
        secret_hash: str | None,
        *,
        secret_encrypted: str | None = None,
        registration_token_digest: str | None = None,
        registered: bool = False,
    ) -> Client:
        """The client as stored (with its timestamps); raises ``ClientAlreadyExists``,
        leaving the handle usable."""
        ...

    def replace(
        self,
        client: Client,
        secret_hash: str | None | KeepSecret = KEEP_SECRET,
        secret_encrypted: str | None | KeepSecret = KEEP_SECRET,
    ) -> Client | None:
        """Overwrite a client's metadata (and its secret unless ``KEEP_SECRET``; a new
        hash without a new ciphertext clears the ciphertext); the client as stored, None
        if there is no such client."""
        ...

    def rotate_secret(
        self, client_id: str, secret_hash: str, secret_encrypted: str | None, now: int
    ) -> bool:
        """Make this the client's secret; the one it replaces joins ``rotated_secrets``
        (newest first, at most ``MAX_ROTATED_SECRETS``). False if there is no such client."""
        ...

    def drop_rotated_secrets(self, client_id: str) -> bool: ...

    def set_registration_token(self, client_id: str, digest: str, replacing: str) -> bool:
        """Replace the registration token's digest if it is still ``replacing``."""
        ...

    def mark_used(self, client_id: str, now: int) -> None:
        """Record the first use (a no-op once recorded)."""
        ...

    def delete(self, client_id: str) -> bool: ...

    def page(
        self,
        limit: int,
        after_id: str | None = None,
        client_name: str | None = None,
        owner: str | None = None,
    ) -> list[StoredClient]:
        """At most ``limit`` clients with ids after ``after_id``, ordered by id."""
        ...

    def count(self, client_name: str | None = None, owner: str | None = None) -> int: ...


# -- tokens and codes --------------------------------------------------------------------


@runtime_checkable
class AccessTokenStore(Protocol):
    def add(self, record: AccessTokenRecord) -> None: ...

    def find(self, signature_digest: str) -> AccessTokenRecord | None: ...

    def deactivate(self, signature_digest: str) -> bool: ...

    def deactivate_request(self, request_id: str) -> int:
        """Deactivate the grant's active tokens; how many there were."""
        ...

    def deactivate_client(self, client_id: str) -> int:
        """Deactivate every active token of the client (Hydra's ``deleteOAuth2Token``);
        how many there were."""
        ...


@runtime_checkable
class AuthorizationCodeStore(Protocol):
    def add(self, code: AuthorizationCodeRecord) -> None: ...

    def find(self, signature_digest: str) -> AuthorizationCodeRecord | None: ...

    def consume(self, signature_digest: str) -> bool:
        """Mark the code used: True for the one caller that did it, False for all others."""
        ...

    def consume_request(self, request_id: str) -> int:
        """Mark the grant's unused codes used; how many there were."""
        ...

    def consume_client(self, client_id: str) -> int:
        """Mark every unused code of the client used; how many there were."""
        ...


@runtime_checkable
class RefreshTokenStore(Protocol):
    def add(self, token: RefreshTokenRecord) -> None: ...

    def find(self, signature_digest: str) -> RefreshTokenRecord | None: ...

    def consume(self, signature_digest: str) -> bool:
        """Deactivate (rotate) the token: True for the one caller that did it."""
        ...

    def deactivate_request(self, request_id: str) -> int: ...

    def deactivate_client(self, client_id: str) -> int:
        """Deactivate every active refresh token of the client; how many there were."""
        ...


@runtime_checkable
class DeviceCodeStore(Protocol):
    def add(self, record: DeviceCodeRecord) -> None: ...

    def find(self, signature_digest: str) -> DeviceCodeRecord | None: ...

    def by_user_code(self, user_code_digest: str) -> DeviceCodeRecord | None: ...

    def claim_user_code(self, signature_digest: str) -> bool:
        """Mark the user code taken by a browser: True for the one caller that did it."""
        ...

    def record_poll(self, signature_digest: str, polled_at: int, interval: int) -> None:
        """Remember when the device polled and the interval it must keep from now on."""
        ...

    def settle(self, record: DeviceCodeRecord) -> bool:
        """Store a pending code's outcome (``status`` approved with its ``session`` and
        ``request_id``, or denied) only if it is still pending: True for the one caller
        that did it."""
        ...

    def redeem(self, signature_digest: str) -> bool:
        """Approved -> redeemed: True for the one caller that did it (compare-and-set)."""
        ...


@runtime_checkable
class DeviceChallengeStore(Protocol):
    def add(self, challenge: DeviceChallenge) -> None: ...

    def by_challenge(self, challenge_digest: str) -> DeviceChallenge | None: ...

    def by_verifier(self, verifier_digest: str) -> DeviceChallenge | None: ...

    def transition(self, before: DeviceChallenge, after: DeviceChallenge) -> bool:
        """Store ``after`` only if the challenge still has ``before``'s state and failed
        attempts (compare-and-set): True for the one caller that moved it on."""
        ...

    def failed_attempts_of_browser(self, csrf_digest: str, since: int) -> int:
        """Wrong user codes entered by one browser (its CSRF cookie) since ``since``."""
        ...


# -- the login and consent flow, sessions, logout ----------------------------------------


@runtime_checkable
class FlowStore(Protocol):
    def add(self, flow: Flow) -> None: ...

    def get(self, flow_id: str) -> Flow | None: ...

    def by_login_challenge(self, challenge_digest: str) -> Flow | None: ...

    def by_login_verifier(self, verifier_digest: str) -> Flow | None: ...

    def by_consent_challenge(self, challenge_digest: str) -> Flow | None: ...

    def by_consent_verifier(self, verifier_digest: str) -> Flow | None: ...

    def transition(self, before: Flow, after: Flow) -> bool:
        """Store ``after`` only if the flow is still in ``before``'s state: True for the
        one caller that moved it on, False when ``before`` is stale."""
        ...

    def consent_sessions(
        self,
        subject: str,
        client_id: str | None = None,
        login_session_id: str | None = None,
    ) -> list[Flow]:
        """The subject's granted, unrevoked consents, newest first."""
        ...

    def remembered_consents(self, subject: str, client_id: str, now: int) -> list[Flow]:
        """The newest few remembered, unexpired, unrevoked consents (a bounded number)."""
        ...

    def revoke_consent_sessions(self, subject: str, client_id: str | None) -> list[str]:
        """Revoke the subject's consent sessions (of one client, or all); their ids."""
        ...


@runtime_checkable
class LoginSessionStore(Protocol):
    def by_cookie(self, cookie_digest: str) -> LoginSession | None: ...

    def get(self, session_id: str) -> LoginSession | None: ...

    def save(self, login_session: LoginSession) -> None:
        """Insert, or replace the session with the same id."""
        ...

    def delete(self, session_id: str) -> int: ...

    def delete_for_subject(self, subject: str) -> int: ...


@runtime_checkable
class LogoutRequestStore(Protocol):
    def add(self, request: LogoutRequest) -> None: ...

    def by_challenge(self, challenge_digest: str) -> LogoutRequest | None: ...

    def by_verifier(self, verifier_digest: str) -> LogoutRequest | None: ...

    def transition(self, before: LogoutRequest, after: LogoutRequest) -> bool:
        """Store ``after``'s status and verifier only if the request still has
        ``before``'s status (compare-and-set, as ``FlowStore.transition``)."""
        ...


# -- signing keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    set_id: str
    kid: str
    alg: str
    use: str
    public_key: dict[str, Any]  # the public JWK
    private_key_encrypted: str | None
    created_at: datetime


@runtime_checkable
class KeyStore(Protocol):
    def list_set(self, set_id: str) -> list[StoredKey]:
        """The keys of a set, newest first."""
        ...

    def add(self, key: StoredKey) -> None: ...

    def delete_set(self, set_id: str) -> int: ...

    def delete_key(self, set_id: str, kid: str) -> bool: ...


# -- single-use JWT ids and trusted JWT issuers ---------------------------------------


@runtime_checkable
class JtiStore(Protocol):
    def use_once(self, digest: str, expires_at: int) -> bool:
        """Record a JWT id until ``expires_at``; False if it is already recorded (a
        replay), also when two requests race (exactly one gets True)."""
        ...


@runtime_checkable
class TrustedIssuerStore(Protocol):
    def add(self, trusted: TrustedIssuer) -> bool:
        """False if the issuer already trusts this subject with a key of this kid."""
        ...

    def get(self, trust_id: str) -> TrustedIssuer | None: ...

    def page(
        self, limit: int, after_id: str | None = None, issuer: str | None = None
    ) -> list[TrustedIssuer]:
        """At most ``limit`` relationships with ids after ``after_id``, ordered by id."""
        ...

    def delete(self, trust_id: str) -> bool: ...

    def for_assertion(self, issuer: str, subject: str, now: datetime) -> list[TrustedIssuer]:
        """The issuer's unexpired relationships for this subject or any subject."""
        ...


@runtime_checkable
class PushedRequestStore(Protocol):
    def add(self, pushed: PushedRequest) -> None: ...

    def redeem(self, digest: str, client_id: str, now: int) -> PushedRequest | None:
        """Mark the client's unexpired, unused request used and return it; None for an
        unknown, expired, used or another client's reference. Of concurrent redemptions
        of one reference exactly one gets it."""
        ...


@runtime_checkable
class LogoutDeliveryStore(Protocol):
    def add(self, delivery: LogoutDelivery) -> None: ...

    def due(self, now: int, limit: int) -> list[str]:
        """Ids of deliveries whose next attempt is due and that no sender owns."""
        ...

    def claim(self, delivery_id: str, now: int, lease_until: int) -> LogoutDelivery | None:
        """Own the delivery until ``lease_until`` if it is due and unowned; of concurrent
        claims exactly one gets it."""
        ...

    def delivered(self, delivery_id: str) -> None: ...

    def reschedule(self, delivery: LogoutDelivery) -> None: ...
