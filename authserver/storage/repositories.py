"""Repositories: the only code that reads or writes rows. Each implements a protocol of
``authserver.domain.stores`` on an ``Executor`` (the request's session or the hot paths'
autocommit connection) and never commits: the request (or CLI command) owns the
transaction. (``StoredClient``, ``StoredKey`` and ``ClientAlreadyExists`` are defined with
the protocols, and importable from here.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from authserver.domain.access_tokens import AccessTokenRecord
from authserver.domain.clients import Client
from authserver.domain.stores import (
    KEEP_SECRET,
    MAX_ROTATED_SECRETS,
    ClientAlreadyExists,
    KeepSecret,
    RotatedSecret,
    StoredClient,
    StoredKey,
)
from authserver.storage import driver
from authserver.storage.executor import Executor
from authserver.storage.models import AccessTokenRow, ClientRow, JsonWebKeyRow


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _client_from_row(row) -> StoredClient:
    client = Client.from_document(
        row.id, row.document, created_at=row.created_at, updated_at=row.updated_at
    )
    return StoredClient(
        client=client,
        secret_hash=row.secret_hash,
        secret_encrypted=row.secret_encrypted,
        rotated_secrets=tuple(
            RotatedSecret(item["hash"], item.get("encrypted"), int(item.get("rotated_at", 0)))
            for item in row.rotated_secrets or ()
        ),
        registration_token_digest=row.registration_token_digest,
        registered=bool(row.registered),
        first_used_at=row.first_used_at,
    )


_CLIENT_COLUMNS = (
    ClientRow.id,
    ClientRow.document,
    ClientRow.secret_hash,
    ClientRow.secret_encrypted,
    ClientRow.rotated_secrets,
    ClientRow.registration_token_digest,
    ClientRow.registered,
    ClientRow.first_used_at,
    ClientRow.created_at,
    ClientRow.updated_at,
)


class ClientRepository:
    """``domain.stores.ClientStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def get(self, client_id: str) -> StoredClient | None:
        row = self._session.execute(
            select(*_CLIENT_COLUMNS).where(ClientRow.id == client_id)
        ).first()
        return _client_from_row(row) if row else None

    def add(
        self,
        client: Client,
        secret_hash: str | None,
        *,
        secret_encrypted: str | None = None,
        registration_token_digest: str | None = None,
        registered: bool = False,
    ) -> Client:
        now = _now()
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(ClientRow).values(
                        id=client.client_id,
                        client_name=client.client_name,
                        owner=client.owner,
                        secret_hash=secret_hash,
                        secret_encrypted=secret_encrypted,
                        registration_token_digest=registration_token_digest,
                        registered=registered,
                        document=client.to_document(),
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise ClientAlreadyExists(client.client_id) from None
        return Client.from_document(
            client.client_id, client.to_document(), created_at=now, updated_at=now
        )

    def replace(
        self,
        client: Client,
        secret_hash: str | None | KeepSecret = KEEP_SECRET,
        secret_encrypted: str | None | KeepSecret = KEEP_SECRET,
    ) -> Client | None:
        """Overwrite a client's metadata; keep its secret unless a new hash is given (a
        new hash without a new ciphertext clears the ciphertext)."""
        now = _now()
        values: dict[str, Any] = {
            "client_name": client.client_name,
            "owner": client.owner,
            "document": client.to_document(),
            "updated_at": now,
        }
        if secret_hash is not KEEP_SECRET:
            values["secret_hash"] = secret_hash
            values["secret_encrypted"] = None
            # A secret set outright replaces every one (Hydra): a leaked secret is replaced
            # this way, and its rotated predecessors must stop working with it.
            values["rotated_secrets"] = None
        if secret_encrypted is not KEEP_SECRET:
            values["secret_encrypted"] = secret_encrypted
        result = self._session.execute(
            update(ClientRow)
            .where(ClientRow.id == client.client_id)
            .values(**values)
            .returning(ClientRow.created_at)
        ).first()
        if result is None:
            return None
        return Client.from_document(
            client.client_id, client.to_document(), created_at=result[0], updated_at=now
        )

    def delete(self, client_id: str) -> bool:
        result = self._session.execute(delete(ClientRow).where(ClientRow.id == client_id))
        return result.rowcount > 0

    def rotate_secret(
        self, client_id: str, secret_hash: str, secret_encrypted: str | None, now: int
    ) -> bool:
        row = self._session.execute(
            select(ClientRow.secret_hash, ClientRow.secret_encrypted, ClientRow.rotated_secrets)
            .where(ClientRow.id == client_id)
            .with_for_update()
        ).first()
        if row is None:
            return False
        rotated = list(row.rotated_secrets or ())
        if row.secret_hash:
            old = {"hash": row.secret_hash, "encrypted": row.secret_encrypted, "rotated_at": now}
            rotated.insert(0, old)
        self._session.execute(
            update(ClientRow)
            .where(ClientRow.id == client_id)
            .values(
                secret_hash=secret_hash,
                secret_encrypted=secret_encrypted,
                rotated_secrets=rotated[:MAX_ROTATED_SECRETS],
                updated_at=_now(),
            )
        )
        return True

    def drop_rotated_secrets(self, client_id: str) -> bool:
        result = self._session.execute(
            update(ClientRow)
            .where(ClientRow.id == client_id)
            .values(rotated_secrets=None, updated_at=_now())
        )
        return result.rowcount > 0

    def set_registration_token(self, client_id: str, digest: str, replacing: str) -> bool:
        """Compare and set: of two requests presenting one token, one rotates it."""
        result = self._session.execute(
            update(ClientRow)
            .where(ClientRow.id == client_id, ClientRow.registration_token_digest == replacing)
            .values(registration_token_digest=digest)
        )
        return result.rowcount > 0

    def mark_used(self, client_id: str, now: int) -> None:
        self._session.execute(
            update(ClientRow)
            .where(ClientRow.id == client_id, ClientRow.first_used_at.is_(None))
            .values(first_used_at=now)
        )

    def page(
        self,
        limit: int,
        after_id: str | None = None,
        client_name: str | None = None,
        owner: str | None = None,
    ) -> list[StoredClient]:
        """Clients ordered by id (keyset paging: stable while clients come and go)."""
        query = select(*_CLIENT_COLUMNS).order_by(ClientRow.id).limit(limit)
        if after_id is not None:
            query = query.where(ClientRow.id > after_id)
        if client_name:
            query = query.where(ClientRow.client_name == client_name)
        if owner:
            query = query.where(ClientRow.owner == owner)
        return [_client_from_row(row) for row in self._session.execute(query)]

    def count(self, client_name: str | None = None, owner: str | None = None) -> int:
        query = select(func.count()).select_from(ClientRow)
        if client_name:
            query = query.where(ClientRow.client_name == client_name)
        if owner:
            query = query.where(ClientRow.owner == owner)
        return self._session.execute(query).scalar_one()


_ACCESS_TOKENS = AccessTokenRow.__table__
# Built once: the token and introspection hot paths run these on every request, and a
# prebuilt Core statement skips both the ORM and the per-call statement construction.
_INSERT_ACCESS_TOKEN = driver.register(insert(_ACCESS_TOKENS))
_SELECT_ACCESS_TOKEN = select(
    _ACCESS_TOKENS.c.request_id,
    _ACCESS_TOKENS.c.client_id,
    _ACCESS_TOKENS.c.subject,
    _ACCESS_TOKENS.c.scope,
    _ACCESS_TOKENS.c.audience,
    _ACCESS_TOKENS.c.issued_at,
    _ACCESS_TOKENS.c.expires_at,
    _ACCESS_TOKENS.c.format,
    _ACCESS_TOKENS.c.extra,
    _ACCESS_TOKENS.c.active,
    _ACCESS_TOKENS.c.dpop_jkt,
    _ACCESS_TOKENS.c.act,
).where(_ACCESS_TOKENS.c.signature_digest == bindparam("digest"))
driver.register(_SELECT_ACCESS_TOKEN)


class AccessTokenRepository:
    """``domain.stores.AccessTokenStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, record: AccessTokenRecord) -> None:
        self._session.execute(
            _INSERT_ACCESS_TOKEN,
            {
                "signature_digest": record.signature_digest,
                "request_id": record.request_id,
                "client_id": record.client_id,
                "subject": record.subject,
                "scope": record.scope,
                "audience": list(record.audience),
                "extra": record.extra,
                "format": record.format,
                "issued_at": record.issued_at,
                "expires_at": record.expires_at,
                "active": record.active,
                "dpop_jkt": record.dpop_jkt,
                "act": record.act,
            },
        )

    def find(self, signature_digest: str) -> AccessTokenRecord | None:
        row = self._session.execute(_SELECT_ACCESS_TOKEN, {"digest": signature_digest}).first()
        if row is None:
            return None
        return AccessTokenRecord(
            signature_digest=signature_digest,
            request_id=row.request_id,
            client_id=row.client_id,
            subject=row.subject,
            scope=row.scope,
            audience=tuple(row.audience or ()),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            format=row.format,
            extra=row.extra,
            active=row.active,
            dpop_jkt=row.dpop_jkt,
            act=row.act,
        )

    def deactivate(self, signature_digest: str) -> bool:
        result = self._session.execute(
            update(AccessTokenRow)
            .where(AccessTokenRow.signature_digest == signature_digest)
            .values(active=False)
        )
        return result.rowcount > 0

    def deactivate_request(self, request_id: str) -> int:
        result = self._session.execute(
            update(AccessTokenRow)
            .where(AccessTokenRow.request_id == request_id, AccessTokenRow.active.is_(True))
            .values(active=False)
        )
        return result.rowcount

    def deactivate_client(self, client_id: str) -> int:
        result = self._session.execute(
            update(AccessTokenRow)
            .where(AccessTokenRow.client_id == client_id, AccessTokenRow.active.is_(True))
            .values(active=False)
        )
        return result.rowcount


class KeyRepository:
    """``domain.stores.KeyStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def list_set(self, set_id: str) -> list[StoredKey]:
        """The keys of a set, newest first."""
        # Core columns, not ORM entities: JWT introspection runs this on a plain connection.
        rows = self._session.execute(
            select(*JsonWebKeyRow.__table__.c)
            .where(JsonWebKeyRow.set_id == set_id)
            .order_by(JsonWebKeyRow.created_at.desc(), JsonWebKeyRow.pk.desc())
        )
        return [
            StoredKey(
                set_id=row.set_id,
                kid=row.kid,
                alg=row.alg,
                use=row.use,
                public_key=row.public_key,
                private_key_encrypted=row.private_key_encrypted,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def add(self, key: StoredKey) -> None:
        self._session.execute(
            insert(JsonWebKeyRow).values(
                set_id=key.set_id,
                kid=key.kid,
                alg=key.alg,
                use=key.use,
                public_key=key.public_key,
                private_key_encrypted=key.private_key_encrypted,
                created_at=key.created_at,
            )
        )

    def delete_set(self, set_id: str) -> int:
        result = self._session.execute(delete(JsonWebKeyRow).where(JsonWebKeyRow.set_id == set_id))
        return result.rowcount

    def delete_key(self, set_id: str, kid: str) -> bool:
        result = self._session.execute(
            delete(JsonWebKeyRow).where(JsonWebKeyRow.set_id == set_id, JsonWebKeyRow.kid == kid)
        )
        return result.rowcount > 0
