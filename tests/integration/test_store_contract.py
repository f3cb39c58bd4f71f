"""The store contract: every repository held to its ``domain.stores`` protocol.

As Hydra runs one persister test suite against every backend, each test here runs on
SQLite and PostgreSQL, and on both kinds of handle a repository is given: an ORM session
in a transaction, and the autocommit connection of the hot paths (``storage.driver``,
where the registered statements bypass SQLAlchemy). Values are compared strictly: a
boolean must come back as ``bool`` (not 1), JSON as dicts and lists, on both handles.

One migrated database per module and backend (per xdist worker); every test makes its
own ids, so tests share it without seeing each other's rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from authserver.domain.access_tokens import AccessTokenRecord
from authserver.domain.clients import Client
from authserver.domain.device import (
    ChallengeState,
    DeviceChallenge,
    DeviceCodeRecord,
    DeviceStatus,
)
from authserver.domain.flows import Flow, FlowState
from authserver.domain.grants import AuthorizationCodeRecord, RefreshTokenRecord
from authserver.domain.logout_deliveries import LogoutDelivery
from authserver.domain.pushed_requests import PushedRequest
from authserver.domain.sessions import GrantSession, LoginSession, LogoutRequest, LogoutState
from authserver.domain.stores import (
    MAX_ROTATED_SECRETS,
    AccessTokenStore,
    AuthorizationCodeStore,
    ClientAlreadyExists,
    ClientStore,
    DeviceChallengeStore,
    DeviceCodeStore,
    FlowStore,
    JtiStore,
    KeyStore,
    LoginSessionStore,
    LogoutDeliveryStore,
    LogoutRequestStore,
    PushedRequestStore,
    RefreshTokenStore,
    RotatedSecret,
    StoredClient,
    StoredKey,
    TrustedIssuerStore,
)
from authserver.domain.trust import TrustedIssuer
from authserver.storage.database import Database
from authserver.storage.device import DeviceChallengeRepository, DeviceCodeRepository
from authserver.storage.driver import DriverConnection
from authserver.storage.executor import Executor
from authserver.storage.flows import (
    REMEMBERED_CONSENTS_LOOKED_AT,
    FlowRepository,
    LoginSessionRepository,
    LogoutRequestRepository,
)
from authserver.storage.grants import AuthorizationCodeRepository, RefreshTokenRepository
from authserver.storage.logout_deliveries import LogoutDeliveryRepository
from authserver.storage.pushed_requests import PushedRequestRepository
from authserver.storage.repositories import (
    AccessTokenRepository,
    ClientRepository,
    KeyRepository,
)
from authserver.storage.trust import JtiRepository, TrustedIssuerRepository
from tests.conftest import POSTGRES_ENV, drop_postgres_database, migrated_database

UNICODE = "Zoë ☕ ユーザー 🎉"
NOW = 1_900_000_000  # past 2**31: the BIGINT columns must hold it
# Nested JSON with every JSON type (floats aside: they need not compare exactly).
CLAIMS = {"name": UNICODE, "flag": True, "off": False, "n": 3, "none": None, "list": [1, "ü", {}]}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request, tmp_path_factory) -> Iterator[Database]:
    backend = request.param
    admin_dsn = os.environ.get(POSTGRES_ENV, "")
    if backend == "postgres" and not admin_dsn:
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    created = migrated_database(backend, tmp_path_factory.mktemp("contract"), "authserver_contract")
    database = Database(created.dsn)
    yield database
    database.dispose()
    if backend == "postgres":
        drop_postgres_database(admin_dsn, created)


HANDLE_KINDS = ("session", "autocommit")


def open_handle(database: Database, kind: str) -> Session | DriverConnection:
    """An ORM session in a transaction, or the hot paths' autocommit driver connection."""
    return database.open_session(write=True, autocommit=kind == "autocommit")


def commit(handle: Executor) -> None:
    """End the handle's transaction (an autocommit handle has none)."""
    if isinstance(handle, Session):
        handle.commit()


@pytest.fixture(params=HANDLE_KINDS)
def handle(request, database) -> Iterator[Session | DriverConnection]:
    opened = open_handle(database, request.param)
    try:
        yield opened
        commit(opened)
    finally:
        database.close_session(opened)


@contextmanager
def other_handle(
    database: Database, handle: Session | DriverConnection
) -> Iterator[Session | DriverConnection]:
    """The other kind of handle than ``handle``, after ``handle``'s writes committed."""
    commit(handle)
    other = open_handle(database, "autocommit" if isinstance(handle, Session) else "session")
    try:
        yield other
        commit(other)
    finally:
        database.close_session(other)


# Every store as its protocol: annotated (a type checker sees the repository satisfy it,
# on an Executor: either handle) and checked at run time.


@pytest.fixture
def clients(handle: Executor) -> ClientStore:
    store: ClientStore = ClientRepository(handle)
    assert isinstance(store, ClientStore)
    return store


@pytest.fixture
def access_tokens(handle: Executor) -> AccessTokenStore:
    store: AccessTokenStore = AccessTokenRepository(handle)
    assert isinstance(store, AccessTokenStore)
    return store


@pytest.fixture
def codes(handle: Executor) -> AuthorizationCodeStore:
    store: AuthorizationCodeStore = AuthorizationCodeRepository(handle)
    assert isinstance(store, AuthorizationCodeStore)
    return store


@pytest.fixture
def refresh_tokens(handle: Executor) -> RefreshTokenStore:
    store: RefreshTokenStore = RefreshTokenRepository(handle)
    assert isinstance(store, RefreshTokenStore)
    return store


@pytest.fixture
def device_codes(handle: Executor) -> DeviceCodeStore:
    store: DeviceCodeStore = DeviceCodeRepository(handle)
    assert isinstance(store, DeviceCodeStore)
    return store


@pytest.fixture
def device_challenges(handle: Executor) -> DeviceChallengeStore:
    store: DeviceChallengeStore = DeviceChallengeRepository(handle)
    assert isinstance(store, DeviceChallengeStore)
    return store


@pytest.fixture
def flows(handle: Executor) -> FlowStore:
    store: FlowStore = FlowRepository(handle)
    assert isinstance(store, FlowStore)
    return store


@pytest.fixture
def login_sessions(handle: Executor) -> LoginSessionStore:
    store: LoginSessionStore = LoginSessionRepository(handle)
    assert isinstance(store, LoginSessionStore)
    return store


@pytest.fixture
def logout_requests(handle: Executor) -> LogoutRequestStore:
    store: LogoutRequestStore = LogoutRequestRepository(handle)
    assert isinstance(store, LogoutRequestStore)
    return store


@pytest.fixture
def keys(handle: Executor) -> KeyStore:
    store: KeyStore = KeyRepository(handle)
    assert isinstance(store, KeyStore)
    return store


@pytest.fixture
def client_id(clients) -> str:
    """A stored client (tokens, codes and flows refer to one)."""
    return clients.add(new_client(), "hash").client_id


# -- helpers -------------------------------------------------------------------------------


def unique(prefix: str = "id") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def new_digest() -> str:
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def assert_identical(found: Any, expected: Any, where: str = "value") -> None:
    """Equal, and of the same types all the way down (``True == 1`` does not pass)."""
    assert type(found) is type(expected), f"{where}: {type(found)} is not {type(expected)}"
    if dataclasses.is_dataclass(expected):
        for field in dataclasses.fields(expected):
            name = field.name
            assert_identical(getattr(found, name), getattr(expected, name), f"{where}.{name}")
    elif isinstance(expected, dict):
        assert found.keys() == expected.keys(), where
        for key in expected:
            assert_identical(found[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(found) == len(expected), where
        for index, (item, wanted) in enumerate(zip(found, expected, strict=True)):
            assert_identical(item, wanted, f"{where}[{index}]")
    else:
        assert found == expected, where


def without_times(client: Client) -> Client:
    return dataclasses.replace(client, created_at=None, updated_at=None)


def new_client(**fields) -> Client:
    values = {
        "client_id": unique("client"),
        "client_name": f"{UNICODE} {uuid.uuid4().hex}",
        "grant_types": ("authorization_code", "refresh_token"),
        "redirect_uris": ("https://app.example.com/cb",),
        "skip_consent": True,
        "metadata": {"claims": CLAIMS},
        "owner": unique("owner"),
    }
    return Client(**{**values, **fields})


def new_access_token(client_id: str, **fields) -> AccessTokenRecord:
    values = {
        "signature_digest": new_digest(),
        "request_id": uuid.uuid4().hex,
        "client_id": client_id,
        "subject": UNICODE,
        "scope": "openid offline",
        "audience": ("https://api.example.com", UNICODE),
        "issued_at": NOW,
        "expires_at": NOW + 3600,
        "format": "opaque",
        "extra": {"claims": CLAIMS},
        "active": True,
        "dpop_jkt": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        "act": {"sub": UNICODE, "client_id": "api", "act": {"sub": "earlier"}},
    }
    return AccessTokenRecord(**{**values, **fields})


def new_grant_session(**fields) -> GrantSession:
    values = {
        "subject": UNICODE,
        "scope": ("openid", "offline"),
        "audience": ("https://api.example.com",),
        "auth_time": NOW - 10,
        "requested_at": NOW - 20,
        "acr": "1",
        "amr": ("pwd",),
        "sid": uuid.uuid4().hex,
        "nonce": "nönce",
        "access_token_claims": dict(CLAIMS),
        "id_token_claims": {"list": [True, None]},
    }
    return GrantSession(**{**values, **fields})


def new_code(client_id: str, **fields) -> AuthorizationCodeRecord:
    values = {
        "signature_digest": new_digest(),
        "request_id": uuid.uuid4().hex,
        "client_id": client_id,
        "redirect_uri": "https://app.example.com/cb?x=ü",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "session": new_grant_session(),
        "issued_at": NOW,
        "expires_at": NOW + 60,
        "dpop_jkt": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    }
    return AuthorizationCodeRecord(**{**values, **fields})


def new_device_code(client_id: str, **fields) -> DeviceCodeRecord:
    values = {
        "signature_digest": new_digest(),
        "user_code_digest": new_digest(),
        "request_id": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": ("openid", UNICODE),
        "audience": ("https://api.example.com",),
        "status": DeviceStatus.PENDING,
        "requested_at": NOW,
        "expires_at": NOW + 900,
        "interval": 5,
    }
    return DeviceCodeRecord(**{**values, **fields})


def new_device_challenge(**fields) -> DeviceChallenge:
    values = {
        "id": uuid.uuid4().hex,
        "challenge_digest": new_digest(),
        "csrf_digest": new_digest(),
        "state": ChallengeState.OPEN,
        "requested_at": NOW,
        "expires_at": NOW + 1800,
    }
    return DeviceChallenge(**{**values, **fields})


def new_refresh_token(client_id: str, **fields) -> RefreshTokenRecord:
    values = {
        "signature_digest": new_digest(),
        "request_id": uuid.uuid4().hex,
        "client_id": client_id,
        "session": new_grant_session(),
        "issued_at": NOW,
        "expires_at": NOW + 86400,
        "dpop_jkt": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    }
    return RefreshTokenRecord(**{**values, **fields})


def new_flow(client_id: str, **fields) -> Flow:
    values = {
        "id": uuid.uuid4().hex,
        "state": FlowState.LOGIN_REQUESTED,
        "client_id": client_id,
        "request_url": "https://auth.example.com/oauth2/auth?state=ü",
        "request": {"scope": ["openid"], "state": UNICODE, "max_age": None, "claims": CLAIMS},
        "requested_at": NOW,
        "expires_at": NOW + 600,
        "login_challenge": new_digest(),
        "login_csrf": new_digest(),
    }
    return Flow(**{**values, **fields})


def done_flow(client_id: str, subject: str, handled_at: int, **fields) -> Flow:
    """A finished flow: a consent session (granted unless told otherwise)."""
    values = {
        "state": FlowState.DONE,
        "login_verifier": new_digest(),
        "login": {"subject": subject, "remember": True},
        "subject": subject,
        "login_session_id": uuid.uuid4().hex,
        "authenticated_at": handled_at - 5,
        "consent_challenge": new_digest(),
        "consent_verifier": new_digest(),
        "consent_csrf": new_digest(),
        "consent": {"grant_scope": ["openid"], "grant_access_token_audience": []},
        "consent_handled_at": handled_at,
    }
    return new_flow(client_id, **{**values, **fields})


def new_login_session(**fields) -> LoginSession:
    values = {
        "id": uuid.uuid4().hex,
        "cookie_digest": new_digest(),
        "subject": unique(UNICODE),
        "authenticated_at": NOW,
        "remember": True,
        "expires_at": NOW + 3600,
        "identity_provider_session_id": UNICODE,
    }
    return LoginSession(**{**values, **fields})


def new_logout_request(**fields) -> LogoutRequest:
    values = {
        "id": uuid.uuid4().hex,
        "challenge": new_digest(),
        "status": LogoutState.REQUESTED,
        "subject": UNICODE,
        "session_id": uuid.uuid4().hex,
        "client_id": None,
        "request_url": "https://auth.example.com/oauth2/sessions/logout?ü",
        "post_logout_redirect_uri": "https://app.example.com/bye?state=ü",
        "rp_initiated": True,
        "requested_at": NOW,
        "expires_at": NOW + 600,
    }
    return LogoutRequest(**{**values, **fields})


def new_key(set_id: str, created_at: datetime, **fields) -> StoredKey:
    values = {
        "set_id": set_id,
        "kid": uuid.uuid4().hex,
        "alg": "RS256",
        "use": "sig",
        "public_key": {"kty": "RSA", "n": "0vx7agoebGcQSuu", "e": "AQAB", "key_ops": ["verify"]},
        "private_key_encrypted": "gAAAAAB" + uuid.uuid4().hex,
        "created_at": created_at,
    }
    return StoredKey(**{**values, **fields})


# -- clients -------------------------------------------------------------------------------


def test_client_round_trips(clients):
    client = new_client()
    added = clients.add(client, "argon2-hash")
    assert_identical(without_times(added), client)
    assert added.created_at is not None and added.created_at == added.updated_at
    stored = clients.get(client.client_id)
    assert_identical(stored, StoredClient(added, "argon2-hash"))
    assert stored.client.created_at.tzinfo is not None
    assert clients.get(unique("unknown")) is None


def test_a_public_client_has_no_secret_hash(clients):
    client = new_client(token_endpoint_auth_method="none")
    clients.add(client, None)
    assert clients.get(client.client_id).secret_hash is None


def test_adding_a_taken_client_id_is_refused_and_the_handle_stays_usable(clients):
    client = new_client()
    clients.add(client, "first")
    with pytest.raises(ClientAlreadyExists):
        clients.add(dataclasses.replace(client, client_name="second"), "second")
    # A PostgreSQL transaction would be aborted here without the savepoint.
    stored = clients.get(client.client_id)
    assert (stored.client.client_name, stored.secret_hash) == (client.client_name, "first")


def test_replacing_a_client_keeps_or_sets_its_secret(clients):
    client = new_client()
    added = clients.add(client, "old-hash")
    changed = dataclasses.replace(client, client_name=UNICODE, metadata={"v": [2]}, owner="o")
    replaced = clients.replace(changed)
    assert_identical(without_times(replaced), changed)
    assert replaced.created_at == added.created_at
    stored = clients.get(client.client_id)
    assert_identical(stored, StoredClient(replaced, "old-hash"))
    clients.replace(changed, "new-hash")
    assert clients.get(client.client_id).secret_hash == "new-hash"
    clients.replace(changed, None)
    assert clients.get(client.client_id).secret_hash is None
    assert clients.replace(new_client()) is None


def test_deleting_a_client(clients):
    client = new_client()
    clients.add(client, None)
    assert clients.delete(client.client_id) is True
    assert clients.get(client.client_id) is None
    assert clients.delete(client.client_id) is False


def test_clients_are_paged_by_id_and_counted(clients):
    owner, name = unique("owner"), unique(UNICODE)
    added = [clients.add(new_client(owner=owner), None) for _ in range(5)]
    named = clients.add(new_client(owner=owner, client_name=name), None)
    clients.add(new_client(client_name=name), None)  # another owner
    ids = sorted(client.client_id for client in [*added, named])
    first = clients.page(4, owner=owner)
    assert [stored.client.client_id for stored in first] == ids[:4]
    assert all(isinstance(stored, StoredClient) for stored in first)
    rest = clients.page(4, after_id=ids[3], owner=owner)
    assert [stored.client.client_id for stored in rest] == ids[4:]
    assert clients.page(4, after_id=ids[-1], owner=owner) == []
    assert [s.client.client_id for s in clients.page(10, client_name=name, owner=owner)] == [
        named.client_id
    ]
    assert clients.count(owner=owner) == 6
    assert clients.count(client_name=name) == 2
    assert clients.count(client_name=name, owner=owner) == 1
    assert clients.count(owner=unique("nobody")) == 0
    assert clients.count() >= 7


def test_rotating_a_secret_keeps_the_five_newest_old_ones(clients):
    client = new_client(token_endpoint_auth_method="client_secret_jwt")
    clients.add(client, "hash-0", secret_encrypted="cipher-0")
    for n in range(1, MAX_ROTATED_SECRETS + 2):
        assert clients.rotate_secret(client.client_id, f"hash-{n}", f"cipher-{n}", NOW + n)
    stored = clients.get(client.client_id)
    newest = MAX_ROTATED_SECRETS + 1
    assert (stored.secret_hash, stored.secret_encrypted) == (f"hash-{newest}", f"cipher-{newest}")
    expected = tuple(
        RotatedSecret(f"hash-{n}", f"cipher-{n}", NOW + n + 1)
        for n in range(newest - 1, newest - 1 - MAX_ROTATED_SECRETS, -1)
    )
    assert_identical(stored.rotated_secrets, expected)  # hash-0 fell off
    assert clients.rotate_secret(unique("unknown"), "h", None, NOW) is False


def test_rotating_without_ciphertext_and_dropping_rotated_secrets(clients):
    client = new_client()
    clients.add(client, "first")
    assert clients.rotate_secret(client.client_id, "second", None, NOW) is True
    stored = clients.get(client.client_id)
    assert (stored.secret_hash, stored.secret_encrypted) == ("second", None)
    assert_identical(stored.rotated_secrets, (RotatedSecret("first", None, NOW),))
    assert clients.drop_rotated_secrets(client.client_id) is True
    stored = clients.get(client.client_id)
    assert (stored.secret_hash, stored.rotated_secrets) == ("second", ())
    assert clients.drop_rotated_secrets(client.client_id) is True  # nothing left: still found
    assert clients.drop_rotated_secrets(unique("unknown")) is False


def test_a_registered_clients_token_digest_is_compared_and_set(clients):
    client = new_client()
    clients.add(client, None, registration_token_digest="digest-1", registered=True)
    stored = clients.get(client.client_id)
    assert (stored.registered, stored.registration_token_digest) == (True, "digest-1")
    assert stored.first_used_at is None
    assert clients.set_registration_token(client.client_id, "digest-2", "digest-1") is True
    # A second update that presented the same (now replaced) token loses.
    assert clients.set_registration_token(client.client_id, "digest-3", "digest-1") is False
    assert clients.get(client.client_id).registration_token_digest == "digest-2"
    assert clients.set_registration_token(unique("unknown"), "d", "digest-2") is False


def test_the_first_use_is_recorded_once(clients):
    client = new_client()
    clients.add(client, "hash")
    assert clients.get(client.client_id).registered is False  # admin-made
    clients.mark_used(client.client_id, NOW)
    clients.mark_used(client.client_id, NOW + 60)
    assert_identical(clients.get(client.client_id).first_used_at, NOW)


def test_setting_a_secret_outright_drops_the_rotated_ones(clients):
    client = new_client()
    clients.add(client, "first")
    clients.rotate_secret(client.client_id, "second", None, NOW)
    clients.replace(client, "third")
    stored = clients.get(client.client_id)
    assert (stored.secret_hash, stored.rotated_secrets) == ("third", ())


# -- single-use JWT ids and trusted issuers -------------------------------------------------


@pytest.fixture
def jtis(handle: Executor) -> JtiStore:
    store: JtiStore = JtiRepository(handle)
    assert isinstance(store, JtiStore)
    return store


@pytest.fixture
def trusted_issuers(handle: Executor) -> TrustedIssuerStore:
    store: TrustedIssuerStore = TrustedIssuerRepository(handle)
    assert isinstance(store, TrustedIssuerStore)
    return store


def test_a_jwt_id_is_used_once_and_the_handle_stays_usable(jtis, database, handle):
    digest = new_digest()
    assert jtis.use_once(digest, NOW) is True
    assert jtis.use_once(digest, NOW + 10) is False
    assert jtis.use_once(new_digest(), NOW) is True  # the handle still works
    with other_handle(database, handle) as other:
        assert JtiRepository(other).use_once(digest, NOW) is False


def new_trust(**fields) -> TrustedIssuer:
    moment = datetime.fromtimestamp(NOW, UTC)
    values = {
        "id": str(uuid.uuid4()),
        "issuer": unique("https://idp.example/"),
        "subject": UNICODE,
        "allow_any_subject": False,
        "scope": ("read", "write"),
        "key_set": "",
        "key_id": unique("kid"),
        "public_key": {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k"},
        "expires_at": moment + timedelta(days=1),
        "created_at": moment,
        **fields,
    }
    values["key_set"] = values["key_set"] or values["issuer"]
    return TrustedIssuer(**values)


def test_trusted_issuer_round_trips_and_is_unique(trusted_issuers):
    trusted = new_trust()
    assert trusted_issuers.add(trusted) is True
    assert_identical(trusted_issuers.get(trusted.id), trusted)
    again = dataclasses.replace(trusted, id=str(uuid.uuid4()))
    assert trusted_issuers.add(again) is False  # same issuer, subject and kid
    assert trusted_issuers.get(again.id) is None
    assert trusted_issuers.delete(trusted.id) is True
    assert trusted_issuers.delete(trusted.id) is False
    assert trusted_issuers.get(trusted.id) is None


def test_trusted_issuers_are_paged_and_filtered(trusted_issuers):
    issuer = unique("https://paged.example/")
    made = sorted((new_trust(issuer=issuer, key_id=f"k{n}") for n in range(3)), key=lambda t: t.id)
    for trusted in made:
        trusted_issuers.add(trusted)
    first = trusted_issuers.page(2, issuer=issuer)
    assert [t.id for t in first] == [t.id for t in made[:2]]
    rest = trusted_issuers.page(2, after_id=first[-1].id, issuer=issuer)
    assert [t.id for t in rest] == [made[2].id]


def test_trusted_issuers_for_an_assertion(trusted_issuers):
    issuer = unique("https://assert.example/")
    moment = datetime.fromtimestamp(NOW, UTC)
    alice = new_trust(issuer=issuer, subject="alice")
    anyone = new_trust(issuer=issuer, subject="", allow_any_subject=True)
    expired = new_trust(issuer=issuer, subject="alice", expires_at=moment - timedelta(seconds=1))
    other = new_trust(subject="alice")
    for trusted in (alice, anyone, expired, other):
        trusted_issuers.add(trusted)
    found = {t.id for t in trusted_issuers.for_assertion(issuer, "alice", moment)}
    assert found == {alice.id, anyone.id}
    found = {t.id for t in trusted_issuers.for_assertion(issuer, "bob", moment)}
    assert found == {anyone.id}


# -- access tokens -------------------------------------------------------------------------


def test_access_token_round_trips(access_tokens, client_id):
    record = new_access_token(client_id)
    access_tokens.add(record)
    assert_identical(access_tokens.find(record.signature_digest), record)
    assert access_tokens.find(new_digest()) is None


def test_access_token_with_empty_values_round_trips(access_tokens, client_id):
    record = new_access_token(client_id, audience=(), extra=None, scope="", format="jwt")
    access_tokens.add(record)
    assert_identical(access_tokens.find(record.signature_digest), record)


def test_deactivating_an_access_token(access_tokens, client_id):
    record = new_access_token(client_id)
    access_tokens.add(record)
    assert access_tokens.deactivate(record.signature_digest) is True
    found = access_tokens.find(record.signature_digest)
    assert_identical(found, dataclasses.replace(record, active=False))
    assert access_tokens.deactivate(new_digest()) is False


def test_deactivating_a_grants_access_tokens(access_tokens, client_id):
    request_id = uuid.uuid4().hex
    grant = [new_access_token(client_id, request_id=request_id) for _ in range(3)]
    bystander = new_access_token(client_id)
    for record in [*grant, bystander]:
        access_tokens.add(record)
    access_tokens.deactivate(grant[0].signature_digest)
    assert access_tokens.deactivate_request(request_id) == 2  # the active ones
    assert access_tokens.deactivate_request(request_id) == 0
    assert [access_tokens.find(r.signature_digest).active for r in grant] == [False] * 3
    assert access_tokens.find(bystander.signature_digest).active is True
    assert access_tokens.deactivate_request(uuid.uuid4().hex) == 0


def test_deactivating_a_clients_access_tokens(access_tokens, clients, client_id):
    other = clients.add(new_client(), "hash").client_id
    mine = [new_access_token(client_id) for _ in range(3)]
    theirs = new_access_token(other)
    for record in [*mine, theirs]:
        access_tokens.add(record)
    access_tokens.deactivate(mine[0].signature_digest)
    assert access_tokens.deactivate_client(client_id) == 2  # the active ones
    assert access_tokens.deactivate_client(client_id) == 0
    assert [access_tokens.find(r.signature_digest).active for r in mine] == [False] * 3
    assert access_tokens.find(theirs.signature_digest).active is True
    assert access_tokens.deactivate_client(unique("unknown")) == 0


# -- authorization codes -------------------------------------------------------------------


def test_authorization_code_round_trips(codes, client_id):
    code = new_code(client_id)
    codes.add(code)
    assert_identical(codes.find(code.signature_digest), code)
    assert codes.find(new_digest()) is None


def test_authorization_code_without_pkce_or_redirect_uri_round_trips(codes, client_id):
    code = new_code(client_id, code_challenge="", code_challenge_method="", redirect_uri="")
    codes.add(code)
    assert_identical(codes.find(code.signature_digest), code)


def test_a_code_is_consumed_once(codes, client_id):
    code = new_code(client_id)
    codes.add(code)
    assert codes.consume(code.signature_digest) is True
    assert codes.consume(code.signature_digest) is False
    assert_identical(codes.find(code.signature_digest), dataclasses.replace(code, used=True))
    assert codes.consume(new_digest()) is False


def test_consuming_a_grants_codes(codes, client_id):
    request_id = uuid.uuid4().hex
    grant = [new_code(client_id, request_id=request_id) for _ in range(3)]
    bystander = new_code(client_id)
    for code in [*grant, bystander]:
        codes.add(code)
    codes.consume(grant[0].signature_digest)
    assert codes.consume_request(request_id) == 2
    assert codes.consume_request(request_id) == 0
    assert codes.consume(grant[1].signature_digest) is False
    assert codes.find(bystander.signature_digest).used is False


def test_consuming_a_clients_codes(codes, clients, client_id):
    other = clients.add(new_client(), "hash").client_id
    mine = [new_code(client_id) for _ in range(3)]
    theirs = new_code(other)
    for code in [*mine, theirs]:
        codes.add(code)
    codes.consume(mine[0].signature_digest)
    assert codes.consume_client(client_id) == 2
    assert codes.consume_client(client_id) == 0
    assert codes.consume(mine[1].signature_digest) is False
    assert [codes.find(c.signature_digest).used for c in mine] == [True] * 3
    assert codes.find(theirs.signature_digest).used is False
    assert codes.consume_client(unique("unknown")) == 0


# -- device codes and device challenges ----------------------------------------------------


def test_device_code_round_trips_and_is_found_by_its_user_code(device_codes, client_id):
    pending = new_device_code(client_id)
    approved = new_device_code(
        client_id,
        status=DeviceStatus.APPROVED,
        session=new_grant_session(),
        last_polled_at=NOW + 5,
        user_code_used=True,
        scope=(),
        audience=(),
    )
    for record in (pending, approved):
        device_codes.add(record)
        assert_identical(device_codes.find(record.signature_digest), record)
        assert_identical(device_codes.by_user_code(record.user_code_digest), record)
    assert device_codes.find(new_digest()) is None
    assert device_codes.by_user_code(new_digest()) is None


def test_a_user_code_is_claimed_once(device_codes, client_id):
    record = new_device_code(client_id)
    device_codes.add(record)
    assert device_codes.claim_user_code(record.signature_digest) is True
    assert device_codes.claim_user_code(record.signature_digest) is False
    assert device_codes.find(record.signature_digest).user_code_used is True
    assert device_codes.claim_user_code(new_digest()) is False


def test_a_poll_is_recorded(device_codes, client_id):
    record = new_device_code(client_id)
    device_codes.add(record)
    device_codes.record_poll(record.signature_digest, NOW + 7, 10)
    found = device_codes.find(record.signature_digest)
    assert (found.last_polled_at, found.interval) == (NOW + 7, 10)


def test_a_device_code_is_settled_once_then_redeemed_once(device_codes, client_id):
    record = new_device_code(client_id)
    device_codes.add(record)
    assert device_codes.redeem(record.signature_digest) is False  # not approved yet
    approved = record.approved(new_grant_session(), uuid.uuid4().hex)
    assert device_codes.settle(approved) is True
    assert device_codes.settle(record.denied()) is False
    assert_identical(device_codes.find(record.signature_digest), approved)
    assert device_codes.redeem(record.signature_digest) is True
    assert device_codes.redeem(record.signature_digest) is False
    assert device_codes.find(record.signature_digest).status is DeviceStatus.REDEEMED

    denied = new_device_code(client_id)
    device_codes.add(denied)
    assert device_codes.settle(denied.denied()) is True
    assert_identical(device_codes.find(denied.signature_digest), denied.denied())
    assert device_codes.redeem(denied.signature_digest) is False


def test_device_challenge_round_trips_and_transitions_once(device_challenges):
    challenge = new_device_challenge()
    device_challenges.add(challenge)
    assert_identical(device_challenges.by_challenge(challenge.challenge_digest), challenge)
    failed = challenge.failed()
    assert device_challenges.transition(challenge, failed) is True
    assert device_challenges.transition(challenge, failed) is False  # stale attempts
    accepted = dataclasses.replace(
        failed,
        state=ChallengeState.ACCEPTED,
        verifier_digest=new_digest(),
        device_signature_digest=new_digest(),
    )
    assert device_challenges.transition(failed, accepted) is True
    assert device_challenges.transition(failed, accepted) is False
    assert_identical(device_challenges.by_verifier(accepted.verifier_digest), accepted)
    assert device_challenges.by_challenge(new_digest()) is None
    assert device_challenges.by_verifier(new_digest()) is None


def test_a_browsers_failed_attempts_are_counted(device_challenges):
    csrf = new_digest()
    for attempts, requested_at in ((2, NOW), (3, NOW + 10), (4, NOW - 100)):
        device_challenges.add(
            new_device_challenge(
                csrf_digest=csrf, failed_attempts=attempts, requested_at=requested_at
            )
        )
    assert device_challenges.failed_attempts_of_browser(csrf, NOW) == 5
    assert device_challenges.failed_attempts_of_browser(new_digest(), NOW) == 0


# -- refresh tokens ------------------------------------------------------------------------


def test_refresh_token_round_trips(refresh_tokens, client_id):
    token = new_refresh_token(client_id)
    refresh_tokens.add(token)
    assert_identical(refresh_tokens.find(token.signature_digest), token)
    assert refresh_tokens.find(new_digest()) is None


def test_a_refresh_token_is_consumed_once(refresh_tokens, client_id):
    token = new_refresh_token(client_id)
    refresh_tokens.add(token)
    assert refresh_tokens.consume(token.signature_digest) is True
    assert refresh_tokens.consume(token.signature_digest) is False
    found = refresh_tokens.find(token.signature_digest)
    assert_identical(found, dataclasses.replace(token, active=False))
    assert refresh_tokens.consume(new_digest()) is False


def test_deactivating_a_grants_refresh_tokens(refresh_tokens, client_id):
    request_id = uuid.uuid4().hex
    grant = [new_refresh_token(client_id, request_id=request_id) for _ in range(2)]
    bystander = new_refresh_token(client_id)
    for token in [*grant, bystander]:
        refresh_tokens.add(token)
    assert refresh_tokens.deactivate_request(request_id) == 2
    assert refresh_tokens.deactivate_request(request_id) == 0
    assert refresh_tokens.consume(grant[0].signature_digest) is False
    assert refresh_tokens.find(bystander.signature_digest).active is True


def test_deactivating_a_clients_refresh_tokens(refresh_tokens, clients, client_id):
    other = clients.add(new_client(), "hash").client_id
    mine = [new_refresh_token(client_id) for _ in range(2)]
    theirs = new_refresh_token(other)
    for token in [*mine, theirs]:
        refresh_tokens.add(token)
    assert refresh_tokens.deactivate_client(client_id) == 2
    assert refresh_tokens.deactivate_client(client_id) == 0
    assert refresh_tokens.consume(mine[0].signature_digest) is False
    assert refresh_tokens.find(theirs.signature_digest).active is True
    assert refresh_tokens.deactivate_client(unique("unknown")) == 0


# -- flows ---------------------------------------------------------------------------------


def test_flow_round_trips_and_is_found_by_each_digest(flows, client_id):
    flow = done_flow(client_id, UNICODE, NOW, consent_remember=True, consent_skip=True)
    flows.add(flow)
    assert_identical(flows.get(flow.id), flow)
    assert_identical(flows.by_login_challenge(flow.login_challenge), flow)
    assert_identical(flows.by_login_verifier(flow.login_verifier), flow)
    assert_identical(flows.by_consent_challenge(flow.consent_challenge), flow)
    assert_identical(flows.by_consent_verifier(flow.consent_verifier), flow)
    unknown = new_digest()
    assert flows.get(unknown) is None
    assert flows.by_login_challenge(unknown) is None
    assert flows.by_login_verifier(unknown) is None
    assert flows.by_consent_challenge(unknown) is None
    assert flows.by_consent_verifier(unknown) is None


def test_a_new_flow_round_trips_with_its_empty_fields(flows, client_id):
    flow = new_flow(client_id)
    flows.add(flow)
    assert_identical(flows.get(flow.id), flow)


def test_a_flow_transitions_once_from_the_state_it_was_read_in(flows, client_id):
    before = new_flow(client_id)
    flows.add(before)
    after = dataclasses.replace(
        before,
        state=FlowState.LOGIN_HANDLED,
        login_verifier=new_digest(),
        login={"subject": UNICODE, "remember": False, "amr": ["pwd"]},
        subject=UNICODE,
        authenticated_at=NOW + 1,
    )
    assert flows.transition(before, after) is True
    assert_identical(flows.get(before.id), after)
    # A second request that read ``before`` too: it lost the race, and writes nothing.
    rival = dataclasses.replace(
        before, state=FlowState.LOGIN_HANDLED, login_error={"error": "access_denied"}
    )
    assert flows.transition(before, rival) is False
    assert_identical(flows.get(before.id), after)
    onwards = dataclasses.replace(after, state=FlowState.DONE, login_verifier=None)
    assert flows.transition(after, onwards) is True
    assert_identical(flows.get(before.id), onwards)
    assert flows.transition(new_flow(client_id), onwards) is False  # never stored


def test_consent_sessions_are_the_granted_unrevoked_ones_newest_first(flows, clients):
    subject = unique(UNICODE)
    first, second = clients.add(new_client(), None), clients.add(new_client(), None)
    older = done_flow(first.client_id, subject, NOW + 1)
    newer = done_flow(second.client_id, subject, NOW + 2)
    for flow in [
        older,
        newer,
        done_flow(first.client_id, subject, NOW + 3, consent=None, consent_error={"e": 1}),
        done_flow(first.client_id, subject, NOW + 4, consent_revoked=True),
        done_flow(first.client_id, subject, NOW + 5, state=FlowState.CONSENT_HANDLED),
        done_flow(first.client_id, unique("other"), NOW + 6),
    ]:
        flows.add(flow)
    found = flows.consent_sessions(subject)
    assert_identical(found, [newer, older])
    assert_identical(flows.consent_sessions(subject, client_id=first.client_id), [older])
    by_login = flows.consent_sessions(subject, login_session_id=newer.login_session_id)
    assert_identical(by_login, [newer])
    assert flows.consent_sessions(unique("nobody")) == []


def test_remembered_consents_are_the_newest_unexpired_ones(flows, client_id):
    subject = unique(UNICODE)
    forever = done_flow(client_id, subject, NOW + 3, consent_remember=True)
    until_later = done_flow(
        client_id, subject, NOW + 2, consent_remember=True, consent_remember_until=NOW + 100
    )
    for flow in [
        forever,
        until_later,
        done_flow(client_id, subject, NOW + 4, consent_remember=True, consent_remember_until=NOW),
        done_flow(client_id, subject, NOW + 5, consent_remember=False),
        done_flow(client_id, subject, NOW + 6, consent_remember=True, consent_revoked=True),
    ]:
        flows.add(flow)
    assert_identical(flows.remembered_consents(subject, client_id, NOW), [forever, until_later])
    assert flows.remembered_consents(subject, unique("client"), NOW) == []


def test_remembered_consents_are_bounded(flows, client_id):
    subject = unique(UNICODE)
    for offset in range(REMEMBERED_CONSENTS_LOOKED_AT + 2):
        flows.add(done_flow(client_id, subject, NOW + offset, consent_remember=True))
    found = flows.remembered_consents(subject, client_id, NOW)
    assert len(found) == REMEMBERED_CONSENTS_LOOKED_AT
    assert found[0].consent_handled_at == NOW + REMEMBERED_CONSENTS_LOOKED_AT + 1


def test_revoking_consent_sessions_per_client_then_all(flows, clients):
    subject = unique(UNICODE)
    first, second = clients.add(new_client(), None), clients.add(new_client(), None)
    mine = [done_flow(first.client_id, subject, NOW + n) for n in range(2)]
    theirs = done_flow(second.client_id, subject, NOW + 5)
    for flow in [*mine, theirs]:
        flows.add(flow)
    revoked = flows.revoke_consent_sessions(subject, first.client_id)
    assert sorted(revoked) == sorted(flow.id for flow in mine)
    assert flows.get(mine[0].id).consent_revoked is True
    assert_identical(flows.consent_sessions(subject), [theirs])
    assert flows.revoke_consent_sessions(subject, None) == [theirs.id]
    assert flows.revoke_consent_sessions(subject, None) == []


# -- login sessions ------------------------------------------------------------------------


def test_login_session_round_trips(login_sessions):
    session = new_login_session()
    login_sessions.save(session)
    assert_identical(login_sessions.get(session.id), session)
    assert_identical(login_sessions.by_cookie(session.cookie_digest), session)
    assert login_sessions.get(uuid.uuid4().hex) is None
    assert login_sessions.by_cookie(new_digest()) is None


def test_a_login_session_that_is_not_remembered_round_trips(login_sessions):
    session = new_login_session(remember=False, expires_at=None, identity_provider_session_id="")
    login_sessions.save(session)
    assert_identical(login_sessions.get(session.id), session)


def test_saving_a_login_session_again_replaces_it(login_sessions):
    session = new_login_session()
    login_sessions.save(session)
    renewed = dataclasses.replace(
        session, cookie_digest=new_digest(), authenticated_at=NOW + 60, remember=False
    )
    login_sessions.save(renewed)
    assert_identical(login_sessions.get(session.id), renewed)
    assert login_sessions.by_cookie(session.cookie_digest) is None


def test_deleting_login_sessions(login_sessions):
    subject = unique(UNICODE)
    alone = new_login_session()
    shared = [new_login_session(subject=subject) for _ in range(2)]
    for session in [alone, *shared]:
        login_sessions.save(session)
    assert login_sessions.delete(alone.id) == 1
    assert login_sessions.delete(alone.id) == 0
    assert login_sessions.get(alone.id) is None
    assert login_sessions.delete_for_subject(subject) == 2
    assert login_sessions.delete_for_subject(subject) == 0
    assert login_sessions.get(shared[0].id) is None


# -- logout requests -----------------------------------------------------------------------


def test_logout_request_round_trips(logout_requests, client_id):
    for request in [new_logout_request(), new_logout_request(client_id=client_id, subject="")]:
        logout_requests.add(request)
        assert_identical(logout_requests.by_challenge(request.challenge), request)
    assert logout_requests.by_challenge(new_digest()) is None
    assert logout_requests.by_verifier(new_digest()) is None


def test_a_logout_request_transitions_once(logout_requests):
    request = new_logout_request()
    logout_requests.add(request)
    accepted = dataclasses.replace(request, status=LogoutState.ACCEPTED, verifier=new_digest())
    assert logout_requests.transition(request, accepted) is True
    assert_identical(logout_requests.by_verifier(accepted.verifier), accepted)
    assert_identical(logout_requests.by_challenge(request.challenge), accepted)
    rejected = dataclasses.replace(request, status=LogoutState.REJECTED)
    assert logout_requests.transition(request, rejected) is False  # stale
    assert_identical(logout_requests.by_challenge(request.challenge), accepted)
    done = dataclasses.replace(accepted, status=LogoutState.DONE)
    assert logout_requests.transition(accepted, done) is True
    assert logout_requests.by_challenge(request.challenge).status is LogoutState.DONE


# -- keys ----------------------------------------------------------------------------------


def test_keys_round_trip_newest_first(keys):
    set_id = unique("set")
    created = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    oldest = new_key(set_id, created - timedelta(days=1))
    same_time = [new_key(set_id, created), new_key(set_id, created, private_key_encrypted=None)]
    for key in [oldest, *same_time]:
        keys.add(key)
    keys.add(new_key(unique("set"), created))
    # Newest first; of keys made in the same second, the last added first.
    assert_identical(keys.list_set(set_id), [same_time[1], same_time[0], oldest])
    assert keys.list_set(unique("set")) == []


def test_deleting_keys(keys):
    set_id = unique("set")
    created = datetime(2030, 1, 2, tzinfo=UTC)
    first, second = new_key(set_id, created), new_key(set_id, created)
    keys.add(first)
    keys.add(second)
    assert keys.delete_key(set_id, first.kid) is True
    assert keys.delete_key(set_id, first.kid) is False
    assert keys.delete_key(unique("set"), second.kid) is False
    assert [key.kid for key in keys.list_set(set_id)] == [second.kid]
    assert keys.delete_set(set_id) == 1
    assert keys.delete_set(set_id) == 0
    assert keys.list_set(set_id) == []


# -- both handle kinds agree ---------------------------------------------------------------


def test_what_one_handle_kind_writes_the_other_reads_alike(database, handle):
    client = ClientRepository(handle).add(new_client(), "hash")
    token = new_access_token(client.client_id)
    code = new_code(client.client_id)
    refresh = new_refresh_token(client.client_id)
    flow = done_flow(client.client_id, UNICODE, NOW)
    login_session = new_login_session()
    logout = new_logout_request(client_id=client.client_id)
    key = new_key(unique("set"), datetime(2030, 1, 1, tzinfo=UTC))
    AccessTokenRepository(handle).add(token)
    AuthorizationCodeRepository(handle).add(code)
    RefreshTokenRepository(handle).add(refresh)
    FlowRepository(handle).add(flow)
    LoginSessionRepository(handle).save(login_session)
    LogoutRequestRepository(handle).add(logout)
    KeyRepository(handle).add(key)
    with other_handle(database, handle) as other:
        assert_identical(ClientRepository(other).get(client.client_id).client, client)
        assert_identical(AccessTokenRepository(other).find(token.signature_digest), token)
        assert_identical(AuthorizationCodeRepository(other).find(code.signature_digest), code)
        assert_identical(RefreshTokenRepository(other).find(refresh.signature_digest), refresh)
        assert_identical(FlowRepository(other).get(flow.id), flow)
        assert_identical(LoginSessionRepository(other).get(login_session.id), login_session)
        assert_identical(LogoutRequestRepository(other).by_challenge(logout.challenge), logout)
        assert_identical(KeyRepository(other).list_set(key.set_id), [key])


def test_both_handle_kinds_store_the_same_row(database):
    """The driver path writes what SQLAlchemy writes: JSON null (not SQL NULL) for None,
    the same JSON text, the same booleans."""
    written = []
    for kind in HANDLE_KINDS:
        opened = open_handle(database, kind)
        try:
            client_id = ClientRepository(opened).add(new_client(), None).client_id
            for extra in (None, {"claims": CLAIMS}):
                record = new_access_token(client_id, extra=extra, audience=())
                AccessTokenRepository(opened).add(record)
                written.append(record.signature_digest)
            commit(opened)
        finally:
            database.close_session(opened)
    query = text(
        "SELECT extra IS NULL, audience IS NULL, active FROM oauth2_access_tokens"
        " WHERE signature_digest = :digest"
    )
    with database.engine.connect() as connection:
        rows = [tuple(connection.execute(query, {"digest": d}).one()) for d in written]
    by_session, by_driver = rows[:2], rows[2:]
    assert by_session == by_driver
    assert by_session[0][:2] == (False, False)  # JSON null and [], not SQL NULL


# -- pushed authorization requests -----------------------------------------------------------


@pytest.fixture
def pushed_requests(handle: Executor) -> PushedRequestStore:
    store: PushedRequestStore = PushedRequestRepository(handle)
    assert isinstance(store, PushedRequestStore)
    return store


def new_pushed(client_id: str, **fields) -> PushedRequest:
    values = {
        "digest": new_digest(),
        "client_id": client_id,
        "parameters": {"scope": ["openid ü"], "resource": ["https://a.example", UNICODE]},
        "expires_at": NOW + 60,
    }
    return PushedRequest(**{**values, **fields})


def test_a_pushed_request_is_redeemed_once_by_its_client_before_it_expires(
    pushed_requests, client_id, database, handle
):
    pushed = new_pushed(client_id)
    pushed_requests.add(pushed)
    assert pushed_requests.redeem(pushed.digest, "another-client", NOW) is None
    assert pushed_requests.redeem(pushed.digest, client_id, NOW + 60) is None  # expired
    redeemed = pushed_requests.redeem(pushed.digest, client_id, NOW)
    assert_identical(redeemed, replace(pushed, used=True))
    assert pushed_requests.redeem(pushed.digest, client_id, NOW) is None  # used
    assert pushed_requests.redeem(new_digest(), client_id, NOW) is None  # unknown
    later = new_pushed(client_id)
    pushed_requests.add(later)
    with other_handle(database, handle) as other:
        assert PushedRequestRepository(other).redeem(later.digest, client_id, NOW) is not None


def test_of_concurrent_redemptions_exactly_one_wins(database):
    # Its own handles: SQLite has one write slot, which the fixtures' handle would hold.
    client = new_client()
    pushed = new_pushed(client.client_id)
    opened = open_handle(database, "session")
    try:
        ClientRepository(opened).add(client, None)
        PushedRequestRepository(opened).add(pushed)
        commit(opened)
    finally:
        database.close_session(opened)

    def redeem(_) -> bool:
        handle = open_handle(database, "session")
        try:
            found = PushedRequestRepository(handle).redeem(pushed.digest, client.client_id, NOW)
            commit(handle)
            return found is not None
        finally:
            database.close_session(handle)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(redeem, range(20)))
    assert outcomes.count(True) == 1


# -- back-channel logout deliveries ---------------------------------------------------------


@pytest.fixture
def logout_deliveries(handle: Executor) -> LogoutDeliveryStore:
    store: LogoutDeliveryStore = LogoutDeliveryRepository(handle)
    assert isinstance(store, LogoutDeliveryStore)
    return store


def new_delivery(client_id: str, **fields) -> LogoutDelivery:
    delivery = LogoutDelivery.owed(client_id, "https://rp.example/bc", "sub-1", unique("sid"), NOW)
    return replace(delivery, **fields)


def test_a_delivery_is_due_claimed_once_rescheduled_and_delivered(
    logout_deliveries, client_id, database, handle
):
    leased = new_delivery(client_id)  # as made by the process ending the session
    free = new_delivery(client_id, lease_until=0, next_attempt_at=NOW - 5)
    later = new_delivery(client_id, lease_until=0, next_attempt_at=NOW + 30)
    for delivery in (leased, free, later):
        logout_deliveries.add(delivery)
    due = logout_deliveries.due(NOW, 10)
    assert free.id in due and leased.id not in due and later.id not in due
    assert logout_deliveries.claim(leased.id, NOW, NOW + 15) is None  # owned by its sender
    assert logout_deliveries.claim(later.id, NOW, NOW + 15) is None  # not yet due
    claimed = logout_deliveries.claim(free.id, NOW, NOW + 15)
    assert_identical(claimed, replace(free, lease_until=NOW + 15))
    assert logout_deliveries.claim(free.id, NOW, NOW + 15) is None  # now owned
    assert free.id not in logout_deliveries.due(NOW, 10)

    retry = claimed.after_failure("the client answered HTTP 500", NOW)
    logout_deliveries.reschedule(retry)
    assert logout_deliveries.due(NOW, 10).count(free.id) == 0  # backoff: one second on
    assert free.id in logout_deliveries.due(NOW + 1, 10)
    assert_identical(
        logout_deliveries.claim(free.id, NOW + 1, NOW + 16), replace(retry, lease_until=NOW + 16)
    )
    logout_deliveries.delivered(free.id)
    assert logout_deliveries.claim(free.id, NOW + 60, NOW + 75) is None
    # A lease that ran out (its sender died) makes the delivery due for anyone.
    with other_handle(database, handle) as other:
        assert LogoutDeliveryRepository(other).claim(leased.id, NOW + 15, NOW + 30) is not None


def test_deleting_the_client_drops_its_deliveries(logout_deliveries, clients, client_id):
    delivery = new_delivery(client_id, lease_until=0)
    logout_deliveries.add(delivery)
    clients.delete(client_id)
    assert delivery.id not in logout_deliveries.due(NOW, 100)


def test_of_concurrent_claims_exactly_one_wins(database):
    client = new_client()
    delivery = new_delivery(client.client_id, lease_until=0)
    opened = open_handle(database, "session")
    try:
        ClientRepository(opened).add(client, None)
        LogoutDeliveryRepository(opened).add(delivery)
        commit(opened)
    finally:
        database.close_session(opened)

    def claim(_) -> bool:
        handle = open_handle(database, "session")
        try:
            found = LogoutDeliveryRepository(handle).claim(delivery.id, NOW, NOW + 15)
            commit(handle)
            return found is not None
        finally:
            database.close_session(handle)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(claim, range(20)))
    assert outcomes.count(True) == 1
