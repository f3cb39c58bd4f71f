"""Back-channel logout deliveries (``domain.stores.LogoutDeliveryStore``)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import bindparam, delete, insert, select, update

from authserver.domain.logout_deliveries import LogoutDelivery
from authserver.storage.executor import Executor
from authserver.storage.models import LogoutDeliveryRow

_TABLE = LogoutDeliveryRow.__table__
_INSERT = insert(_TABLE)
_DUE = (
    select(_TABLE.c.id)
    .where(
        _TABLE.c.next_attempt_at <= bindparam("b_now"),
        _TABLE.c.lease_until <= bindparam("b_now"),
    )
    .order_by(_TABLE.c.next_attempt_at)
    .limit(bindparam("b_limit"))
)
# One statement decides a race between processes: only the one that moves the lease on
# gets the delivery (bind names are not the columns': those are the SET clause's).
_CLAIM = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("b_id"),
        _TABLE.c.next_attempt_at <= bindparam("b_now"),
        _TABLE.c.lease_until <= bindparam("b_now"),
    )
    .values(lease_until=bindparam("b_lease_until"))
    .returning(*_TABLE.c)
)
_RESCHEDULE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next_attempt_at"),
        lease_until=0,
        last_error=bindparam("b_last_error"),
    )
)


class LogoutDeliveryRepository:
    def __init__(self, session: Executor):
        self._session = session

    def add(self, delivery: LogoutDelivery) -> None:
        self._session.execute(_INSERT, asdict(delivery))

    def due(self, now: int, limit: int) -> list[str]:
        return list(self._session.execute(_DUE, {"b_now": now, "b_limit": limit}).scalars())

    def claim(self, delivery_id: str, now: int, lease_until: int) -> LogoutDelivery | None:
        row = self._session.execute(
            _CLAIM, {"b_id": delivery_id, "b_now": now, "b_lease_until": lease_until}
        ).first()
        return LogoutDelivery(**row._mapping) if row else None

    def delivered(self, delivery_id: str) -> None:
        self._session.execute(delete(_TABLE).where(_TABLE.c.id == delivery_id))

    def reschedule(self, delivery: LogoutDelivery) -> None:
        self._session.execute(
            _RESCHEDULE,
            {
                "b_id": delivery.id,
                "b_attempts": delivery.attempts,
                "b_next_attempt_at": delivery.next_attempt_at,
                "b_last_error": delivery.last_error,
            },
        )
