"""Single-use JWT ids (``domain.stores.JtiStore``) and the JWT bearer grant's trusted
issuers (``domain.stores.TrustedIssuerStore``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from authserver.domain.trust import TrustedIssuer
from authserver.storage import driver
from authserver.storage.executor import Executor
from authserver.storage.models import JtiRow, TrustedJwtIssuerRow

_INSERT_JTI = driver.register(insert(JtiRow.__table__))


class JtiRepository:
    def __init__(self, session: Executor):
        self._session = session

    def use_once(self, digest: str, expires_at: int) -> bool:
        # The primary key decides a race: the second insert of a digest fails, in its own
        # savepoint so the request's transaction stays usable for the error answer.
        try:
            with self._session.begin_nested():
                self._session.execute(_INSERT_JTI, {"digest": digest, "expires_at": expires_at})
        except IntegrityError:
            return False
        return True


def _issuer_from_row(row) -> TrustedIssuer:
    return TrustedIssuer(
        id=row.id,
        issuer=row.issuer,
        subject=row.subject,
        allow_any_subject=bool(row.allow_any_subject),
        scope=tuple(row.scope or ()),
        key_set=row.key_set,
        key_id=row.key_id,
        public_key=row.public_key,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


class TrustedIssuerRepository:
    def __init__(self, session: Executor):
        self._session = session

    def add(self, trusted: TrustedIssuer) -> bool:
        """False if this issuer already trusts this subject with this key."""
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(TrustedJwtIssuerRow).values(
                        id=trusted.id,
                        issuer=trusted.issuer,
                        subject=trusted.subject,
                        allow_any_subject=trusted.allow_any_subject,
                        scope=list(trusted.scope),
                        key_set=trusted.key_set,
                        key_id=trusted.key_id,
                        public_key=trusted.public_key,
                        expires_at=trusted.expires_at,
                        created_at=trusted.created_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, trust_id: str) -> TrustedIssuer | None:
        row = self._session.execute(
            select(TrustedJwtIssuerRow.__table__).where(TrustedJwtIssuerRow.id == trust_id)
        ).first()
        return _issuer_from_row(row) if row else None

    def page(
        self, limit: int, after_id: str | None = None, issuer: str | None = None
    ) -> list[TrustedIssuer]:
        query = select(TrustedJwtIssuerRow.__table__).order_by(TrustedJwtIssuerRow.id).limit(limit)
        if after_id is not None:
            query = query.where(TrustedJwtIssuerRow.id > after_id)
        if issuer:
            query = query.where(TrustedJwtIssuerRow.issuer == issuer)
        return [_issuer_from_row(row) for row in self._session.execute(query)]

    def delete(self, trust_id: str) -> bool:
        result = self._session.execute(
            delete(TrustedJwtIssuerRow).where(TrustedJwtIssuerRow.id == trust_id)
        )
        return result.rowcount > 0

    def for_assertion(self, issuer: str, subject: str, now: datetime) -> list[TrustedIssuer]:
        """Unexpired relationships of this issuer that cover this subject."""
        query = select(TrustedJwtIssuerRow.__table__).where(
            TrustedJwtIssuerRow.issuer == issuer,
            TrustedJwtIssuerRow.expires_at > now,
            (TrustedJwtIssuerRow.subject == subject)
            | TrustedJwtIssuerRow.allow_any_subject.is_(True),
        )
        return [_issuer_from_row(row) for row in self._session.execute(query)]
