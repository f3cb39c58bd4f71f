"""Repositories for the device authorization grant: device codes and device challenges.
Every change of state is a compare-and-set on the state it starts from, so of concurrent
polls (or answers) exactly one wins, on every backend."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import bindparam, func, insert, select, update

from authserver.domain.device import (
    ChallengeState,
    DeviceChallenge,
    DeviceCodeRecord,
    DeviceStatus,
)
from authserver.domain.sessions import GrantSession
from authserver.storage.executor import Executor
from authserver.storage.models import DeviceChallengeRow, DeviceCodeRow

_CODES = DeviceCodeRow.__table__
_INSERT_CODE = insert(_CODES)
_SELECT_CODE = select(_CODES).where(_CODES.c.signature_digest == bindparam("digest"))
_SELECT_BY_USER_CODE = select(_CODES).where(_CODES.c.user_code_digest == bindparam("digest"))
_CLAIM_USER_CODE = (
    update(_CODES)
    .where(_CODES.c.signature_digest == bindparam("digest"), _CODES.c.user_code_used.is_(False))
    .values(user_code_used=True)
)
_RECORD_POLL = (
    update(_CODES)
    .where(_CODES.c.signature_digest == bindparam("digest"))
    .values(last_polled_at=bindparam("polled_at"), interval=bindparam("new_interval"))
)
_SETTLE = (
    update(_CODES)
    .where(
        _CODES.c.signature_digest == bindparam("digest"),
        _CODES.c.status == DeviceStatus.PENDING.value,
    )
    .values(
        status=bindparam("new_status"),
        session=bindparam("new_session"),
        request_id=bindparam("new_request_id"),
    )
)
_REDEEM = (
    update(_CODES)
    .where(
        _CODES.c.signature_digest == bindparam("digest"),
        _CODES.c.status == DeviceStatus.APPROVED.value,
    )
    .values(status=DeviceStatus.REDEEMED.value)
)

_CHALLENGES = DeviceChallengeRow.__table__
_CHALLENGE_COLUMNS = [f.name for f in fields(DeviceChallenge)]
_INSERT_CHALLENGE = insert(_CHALLENGES)
_SELECT_CHALLENGE_BY = {
    column: select(_CHALLENGES).where(_CHALLENGES.c[column] == bindparam("value"))
    for column in ("challenge_digest", "verifier_digest")
}
_TRANSITION_CHALLENGE = update(_CHALLENGES).where(
    _CHALLENGES.c.id == bindparam("where_id"),
    _CHALLENGES.c.state == bindparam("where_state"),
    _CHALLENGES.c.failed_attempts == bindparam("where_attempts"),
)
_BROWSER_FAILURES = select(func.coalesce(func.sum(_CHALLENGES.c.failed_attempts), 0)).where(
    _CHALLENGES.c.csrf_digest == bindparam("csrf"),
    _CHALLENGES.c.requested_at >= bindparam("since"),
)


def _record(row) -> DeviceCodeRecord:
    return DeviceCodeRecord(
        signature_digest=row.signature_digest,
        user_code_digest=row.user_code_digest,
        request_id=row.request_id,
        client_id=row.client_id,
        scope=tuple(row.scope or ()),
        audience=tuple(row.audience or ()),
        status=DeviceStatus(row.status),
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        interval=row.interval,
        last_polled_at=row.last_polled_at,
        user_code_used=bool(row.user_code_used),
        session=GrantSession.from_json(row.session) if row.session is not None else None,
    )


class DeviceCodeRepository:
    """``domain.stores.DeviceCodeStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, record: DeviceCodeRecord) -> None:
        self._session.execute(
            _INSERT_CODE,
            {
                "signature_digest": record.signature_digest,
                "user_code_digest": record.user_code_digest,
                "request_id": record.request_id,
                "client_id": record.client_id,
                "scope": list(record.scope),
                "audience": list(record.audience),
                "status": record.status.value,
                "requested_at": record.requested_at,
                "expires_at": record.expires_at,
                "interval": record.interval,
                "last_polled_at": record.last_polled_at,
                "user_code_used": record.user_code_used,
                "session": record.session.to_json() if record.session is not None else None,
            },
        )

    def find(self, signature_digest: str) -> DeviceCodeRecord | None:
        row = self._session.execute(_SELECT_CODE, {"digest": signature_digest}).first()
        return _record(row) if row is not None else None

    def by_user_code(self, user_code_digest: str) -> DeviceCodeRecord | None:
        row = self._session.execute(_SELECT_BY_USER_CODE, {"digest": user_code_digest}).first()
        return _record(row) if row is not None else None

    def claim_user_code(self, signature_digest: str) -> bool:
        result = self._session.execute(_CLAIM_USER_CODE, {"digest": signature_digest})
        return result.rowcount == 1

    def record_poll(self, signature_digest: str, polled_at: int, interval: int) -> None:
        self._session.execute(
            _RECORD_POLL,
            {"digest": signature_digest, "polled_at": polled_at, "new_interval": interval},
        )

    def settle(self, record: DeviceCodeRecord) -> bool:
        if record.status not in (DeviceStatus.APPROVED, DeviceStatus.DENIED):
            raise ValueError("a device code is settled as approved or denied")
        result = self._session.execute(
            _SETTLE,
            {
                "digest": record.signature_digest,
                "new_status": record.status.value,
                "new_session": record.session.to_json() if record.session is not None else None,
                "new_request_id": record.request_id,
            },
        )
        return result.rowcount == 1

    def redeem(self, signature_digest: str) -> bool:
        result = self._session.execute(_REDEEM, {"digest": signature_digest})
        return result.rowcount == 1


def _challenge(row) -> DeviceChallenge:
    values = {name: getattr(row, name) for name in _CHALLENGE_COLUMNS}
    values["state"] = ChallengeState(values["state"])
    return DeviceChallenge(**values)


def _challenge_values(challenge: DeviceChallenge) -> dict:
    values = {name: getattr(challenge, name) for name in _CHALLENGE_COLUMNS}
    values["state"] = int(challenge.state)
    return values


class DeviceChallengeRepository:
    """``domain.stores.DeviceChallengeStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, challenge: DeviceChallenge) -> None:
        self._session.execute(_INSERT_CHALLENGE, _challenge_values(challenge))

    def by_challenge(self, challenge_digest: str) -> DeviceChallenge | None:
        return self._by("challenge_digest", challenge_digest)

    def by_verifier(self, verifier_digest: str) -> DeviceChallenge | None:
        return self._by("verifier_digest", verifier_digest)

    def _by(self, column: str, value: str) -> DeviceChallenge | None:
        row = self._session.execute(_SELECT_CHALLENGE_BY[column], {"value": value}).first()
        return _challenge(row) if row is not None else None

    def transition(self, before: DeviceChallenge, after: DeviceChallenge) -> bool:
        values = _challenge_values(after)
        del values["id"]
        values.update(
            where_id=before.id,
            where_state=int(before.state),
            where_attempts=before.failed_attempts,
        )
        return self._session.execute(_TRANSITION_CHALLENGE, values).rowcount == 1

    def failed_attempts_of_browser(self, csrf_digest: str, since: int) -> int:
        row = self._session.execute(_BROWSER_FAILURES, {"csrf": csrf_digest, "since": since})
        return int(row.first()[0] or 0)
