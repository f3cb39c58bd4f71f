"""The long-lived objects one server process needs, built once from ``Settings``.

Both apps (public and admin) of a process share one ``Services``: one engine, one key
cache, one client-secret verification cache. Nothing here holds request state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from authserver.config import Settings
from authserver.domain.caching import TtlCache
from authserver.domain.client_secrets import ClientSecretHasher, argon2_hasher
from authserver.domain.clock import Clock
from authserver.domain.secrets import SystemSecrets
from authserver.domain.tokens import OpaqueTokenCodec
from authserver.metrics import metrics
from authserver.oauth2.access_tokens import AccessTokens
from authserver.oauth2.backchannel import BackchannelLogout, delivery_policy
from authserver.oauth2.client_documents import ClientDocuments
from authserver.oauth2.client_jwks import ClientKeys
from authserver.oauth2.document_clients import ClientFinder
from authserver.oauth2.dpop_binding import DpopBinding
from authserver.oauth2.id_tokens import IdTokens
from authserver.oauth2.keys import ACCESS_TOKEN_SET, ID_TOKEN_SET, KeyManager
from authserver.oauth2.logout_tokens import LogoutTokens
from authserver.outbound import FetchPolicy
from authserver.storage.database import Database, DatabaseTimeouts
from authserver.storage.repositories import ClientRepository, StoredClient


class ClientDirectory:
    """Client lookups for the OAuth2 endpoints, through a short-lived per-process cache.

    A token request then costs no client read. Changes made through this process's admin
    API drop the entry when they commit; other processes see them within ``ttl`` seconds
    (``CLIENTS_CACHE_TTL``; 0 turns the cache off). Only clients found are cached, so
    unknown ids cannot fill it."""

    def __init__(self, ttl: float = 0.0):
        self._cache: TtlCache[str, StoredClient] = TtlCache(ttl)
        # Bumped by every forget(): a row read before a change committed must not be
        # cached after the change has evicted it.
        self._generation = 0

    def find(self, session: Session, client_id: str) -> StoredClient | None:
        if not client_id or len(client_id) > 255:
            return None
        stored = self._cache.get(client_id)
        metrics().client_lookup(hit=stored is not None)
        if stored is None:
            generation = self._generation
            stored = ClientRepository(session).get(client_id)
            if stored is not None and generation == self._generation:
                self._cache.put(client_id, stored)
        return stored

    def forget(self, client_id: str) -> None:
        self._generation += 1
        self._cache.discard(client_id)


@dataclass
class Services:
    settings: Settings
    database: Database
    secrets: SystemSecrets
    secret_hasher: ClientSecretHasher
    keys: KeyManager
    codec: OpaqueTokenCodec
    access_tokens: AccessTokens
    id_tokens: IdTokens
    clients: ClientDirectory
    # private_key_jwt clients' public keys (jwks_uri documents cached).
    client_keys: ClientKeys
    # DPoP at the token and PAR endpoints (RFC 9449 §5, §10).
    dpop: DpopBinding
    # The client of an OAuth2 request: stored, or named by its metadata document's URL.
    client_finder: ClientFinder
    # Back-channel logout tokens owed by ended login sessions (sent now, and retried).
    backchannel: BackchannelLogout
    # Every expiry check's "now"; only the test harness moves it (domain.clock).
    clock: Clock = field(default_factory=Clock)

    def store_client_secret(self, client, secret: str) -> tuple[str, str | None]:
        """What is kept of a new client secret: its argon2id hash and, for
        client_secret_jwt (whose assertions are HMACs keyed with the secret itself), the
        secret encrypted with the system secret."""
        encrypted = None
        if client.token_endpoint_auth_method == "client_secret_jwt":
            encrypted = self.secrets.encrypt(secret.encode("utf-8"))
        return self.secret_hasher.hash(secret), encrypted

    def key_sets_to_publish(self) -> tuple[str, ...]:
        # Both, whatever the default strategy: a client may choose JWT access tokens.
        return (ID_TOKEN_SET, ACCESS_TOKEN_SET)

    def ensure_keys(self) -> None:
        """Create the signing keys the server needs on first start (as Hydra does) and check
        that the configured secrets can decrypt them (raises ``UndecryptableKey``)."""
        with self.database.transaction() as session:
            for set_id in self.key_sets_to_publish():
                self.keys.ensure_set(session, set_id)
                self.keys.signing_key(session, set_id)

    def start_background_work(self) -> None:
        """What a serving process does besides answering requests: send the back-channel
        logouts that are due (retries, and those of a process that died), and sample its
        connection pool for the metrics."""
        self.backchannel.start()
        sample_pool(self.database)

    def close(self) -> None:
        self.backchannel.stop()
        self.database.dispose()


def build_services(
    settings: Settings, database: Database | None = None, clock: Clock | None = None
) -> Services:
    clock = clock or Clock()
    secrets = SystemSecrets(settings.secrets_system)
    keys = KeyManager(
        secrets,
        publish_for=max(settings.access_token_ttl, settings.id_token_ttl) + 300,
    )
    codec = OpaqueTokenCodec(secrets.token_hmac_keys)
    clients = ClientDirectory(settings.clients_cache_ttl)
    documents = (
        ClientDocuments(policy_for_dev=settings.dev)
        if settings.client_id_metadata_documents_enabled
        else None
    )
    database = database or database_for(settings)
    return Services(
        settings=settings,
        database=database,
        secrets=secrets,
        secret_hasher=ClientSecretHasher(
            argon2_hasher(settings.argon2_memory_kib, settings.argon2_iterations)
        ),
        keys=keys,
        codec=codec,
        id_tokens=IdTokens(keys, settings.issuer, settings.id_token_ttl, clock),
        access_tokens=AccessTokens(
            codec,
            keys,
            issuer=settings.issuer,
            default_strategy=settings.access_token_strategy,
            default_ttl=settings.access_token_ttl,
            clock=clock,
        ),
        clients=clients,
        client_keys=ClientKeys(FetchPolicy(dev=settings.dev)),
        clock=clock,
        dpop=DpopBinding(settings, clock, secrets.dpop_nonce_key),
        client_finder=ClientFinder(
            clients, documents, " ".join(settings.dynamic_registration_default_scope)
        ),
        backchannel=BackchannelLogout(
            database,
            LogoutTokens(keys, settings.issuer, clock),
            clock,
            delivery_policy(settings.dev),
        ),
    )


def sample_pool(database: Database, every: float = 5.0) -> None:
    """The pool's size and use, every ``every`` seconds (a gauge read at scrape time
    could not see the other processes' pools)."""

    def sample() -> None:
        pool = database.engine.pool
        while True:
            # QueuePool (PostgreSQL) counts both; SQLite's pool may not: then 0.
            checked_out = getattr(pool, "checkedout", lambda: 0)()
            idle = getattr(pool, "checkedin", lambda: 0)()
            metrics().pool_use(idle + checked_out, checked_out)
            time.sleep(every)

    threading.Thread(target=sample, name="pool-sampler", daemon=True).start()


def database_for(settings: Settings) -> Database:
    timeouts = DatabaseTimeouts(
        connect=settings.database_connect_timeout,
        statement=settings.database_statement_timeout,
        pool=settings.database_pool_timeout,
    )
    return Database(settings.dsn, pool_size=settings.database_pool_size, timeouts=timeouts)
