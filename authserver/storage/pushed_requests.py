"""Pushed authorization requests (``domain.stores.PushedRequestStore``)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, update

from authserver.domain.pushed_requests import PushedRequest
from authserver.storage import driver
from authserver.storage.executor import Executor
from authserver.storage.models import PushedRequestRow

_TABLE = PushedRequestRow.__table__
_INSERT = driver.register(insert(_TABLE))
# One statement decides a race: only the request that flips ``used`` gets the parameters.
_REDEEM = (
    update(_TABLE)
    .where(
        # Not the columns' names: SQLAlchemy keeps those for an UPDATE's SET clause.
        _TABLE.c.digest == bindparam("b_digest"),
        _TABLE.c.client_id == bindparam("b_client_id"),
        _TABLE.c.used.is_(False),
        _TABLE.c.expires_at > bindparam("b_now"),
    )
    .values(used=True)
    .returning(_TABLE.c.parameters, _TABLE.c.expires_at)
)


class PushedRequestRepository:
    def __init__(self, session: Executor):
        self._session = session

    def add(self, pushed: PushedRequest) -> None:
        self._session.execute(
            _INSERT,
            {
                "digest": pushed.digest,
                "client_id": pushed.client_id,
                "parameters": pushed.parameters,
                "expires_at": pushed.expires_at,
                "used": False,
            },
        )

    def redeem(self, digest: str, client_id: str, now: int) -> PushedRequest | None:
        row = self._session.execute(
            _REDEEM, {"b_digest": digest, "b_client_id": client_id, "b_now": now}
        ).first()
        if row is None:
            return None
        return PushedRequest(digest, client_id, row.parameters, row.expires_at, used=True)
