"""Repositories for authorization codes and refresh tokens. Redemption is an atomic
compare-and-set, so of two concurrent redemptions exactly one wins, on every backend."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from authserver.domain.grants import AuthorizationCodeRecord, RefreshTokenRecord
from authserver.domain.sessions import GrantSession
from authserver.storage import driver
from authserver.storage.executor import Executor
from authserver.storage.models import AuthorizationCodeRow, RefreshTokenRow

# Core statements built once and run at the driver level (storage.driver): the code
# exchange and the refresh run them on every request.
_CODES = AuthorizationCodeRow.__table__
_INSERT_CODE = driver.register(insert(_CODES))
_SELECT_CODE = driver.register(
    select(_CODES).where(_CODES.c.signature_digest == bindparam("digest"))
)
_CONSUME_CODE = driver.register(
    update(_CODES)
    .where(_CODES.c.signature_digest == bindparam("digest"), _CODES.c.used.is_(False))
    .values(used=True)
)
_REFRESH = RefreshTokenRow.__table__
_INSERT_REFRESH = driver.register(insert(_REFRESH))
_SELECT_REFRESH = driver.register(  # introspection's hot path reads it
    select(_REFRESH).where(_REFRESH.c.signature_digest == bindparam("digest"))
)
_CONSUME_REFRESH = driver.register(
    update(_REFRESH)
    .where(_REFRESH.c.signature_digest == bindparam("digest"), _REFRESH.c.active.is_(True))
    .values(active=False)
)


class AuthorizationCodeRepository:
    """``domain.stores.AuthorizationCodeStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, code: AuthorizationCodeRecord) -> None:
        self._session.execute(
            _INSERT_CODE,
            {
                "signature_digest": code.signature_digest,
                "request_id": code.request_id,
                "client_id": code.client_id,
                "redirect_uri": code.redirect_uri,
                "code_challenge": code.code_challenge or None,
                "code_challenge_method": code.code_challenge_method or None,
                "session": code.session.to_json(),
                "issued_at": code.issued_at,
                "expires_at": code.expires_at,
                "used": code.used,
                "dpop_jkt": code.dpop_jkt,
            },
        )

    def find(self, signature_digest: str) -> AuthorizationCodeRecord | None:
        row = self._session.execute(_SELECT_CODE, {"digest": signature_digest}).first()
        if row is None:
            return None
        return AuthorizationCodeRecord(
            signature_digest=row.signature_digest,
            request_id=row.request_id,
            client_id=row.client_id,
            redirect_uri=row.redirect_uri,
            code_challenge=row.code_challenge or "",
            code_challenge_method=row.code_challenge_method or "",
            session=GrantSession.from_json(row.session),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            used=row.used,
            dpop_jkt=row.dpop_jkt,
        )

    def consume(self, signature_digest: str) -> bool:
        """Mark the code used; True only for the one caller that did it."""
        result = self._session.execute(_CONSUME_CODE, {"digest": signature_digest})
        return result.rowcount == 1

    def consume_request(self, request_id: str) -> int:
        """Mark every unused code of a grant used (its consent was revoked)."""
        result = self._session.execute(
            update(_CODES)
            .where(_CODES.c.request_id == request_id, _CODES.c.used.is_(False))
            .values(used=True)
        )
        return result.rowcount

    def consume_client(self, client_id: str) -> int:
        """Mark every unused code of a client used (its tokens were deleted)."""
        result = self._session.execute(
            update(_CODES)
            .where(_CODES.c.client_id == client_id, _CODES.c.used.is_(False))
            .values(used=True)
        )
        return result.rowcount


class RefreshTokenRepository:
    """``domain.stores.RefreshTokenStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, token: RefreshTokenRecord) -> None:
        self._session.execute(
            _INSERT_REFRESH,
            {
                "signature_digest": token.signature_digest,
                "request_id": token.request_id,
                "client_id": token.client_id,
                "session": token.session.to_json(),
                "issued_at": token.issued_at,
                "expires_at": token.expires_at,
                "active": token.active,
                "dpop_jkt": token.dpop_jkt,
            },
        )

    def find(self, signature_digest: str) -> RefreshTokenRecord | None:
        # Core, not Session.get: introspection runs this on a plain autocommit connection.
        row = self._session.execute(_SELECT_REFRESH, {"digest": signature_digest}).first()
        if row is None:
            return None
        return RefreshTokenRecord(
            signature_digest=row.signature_digest,
            request_id=row.request_id,
            client_id=row.client_id,
            session=GrantSession.from_json(row.session),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            active=row.active,
            dpop_jkt=row.dpop_jkt,
        )

    def consume(self, signature_digest: str) -> bool:
        """Deactivate (rotate) the token; True only for the one caller that did it."""
        result = self._session.execute(_CONSUME_REFRESH, {"digest": signature_digest})
        return result.rowcount == 1

    def deactivate_request(self, request_id: str) -> int:
        result = self._session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.request_id == request_id, RefreshTokenRow.active.is_(True))
            .values(active=False)
        )
        return result.rowcount

    def deactivate_client(self, client_id: str) -> int:
        result = self._session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.client_id == client_id, RefreshTokenRow.active.is_(True))
            .values(active=False)
        )
        return result.rowcount
