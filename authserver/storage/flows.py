"""Repositories for the login/consent flow: flows (and consent sessions), login sessions,
logout requests. Transitions are compare-and-set on the state they start from."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as insert_or_update

from authserver.domain.flows import Flow, FlowState
from authserver.domain.sessions import LoginSession, LogoutRequest, LogoutState
from authserver.storage import driver
from authserver.storage.executor import Executor
from authserver.storage.models import FlowRow, LoginSessionRow, LogoutRequestRow

_FLOW_COLUMNS = [f.name for f in fields(Flow)]
# Core statements on the table, built once: every step of a login runs them, and the ORM's
# bulk insert/update machinery cost more CPU than the statements themselves. The fixed
# ones run at the driver level (storage.driver).
_FLOWS = FlowRow.__table__
_INSERT_FLOW = driver.register(insert(_FLOWS))
_SELECT_FLOWS = select(_FLOWS)
_SELECT_FLOW_BY = {
    column: driver.register(_SELECT_FLOWS.where(_FLOWS.c[column] == bindparam("value")))
    for column in (
        "id",
        "login_challenge",
        "login_verifier",
        "consent_challenge",
        "consent_verifier",
    )
}
# A transition writes the columns that changed: one statement per set of columns (a few,
# one per kind of step), made on first use and run at the driver level.
_TRANSITION_FLOW = update(_FLOWS).where(
    _FLOWS.c.id == bindparam("where_id"), _FLOWS.c.state == bindparam("where_state")
)
_TRANSITIONS: dict[tuple[str, ...], object] = {}


def _transition(columns: tuple[str, ...]):
    statement = _TRANSITIONS.get(columns)
    if statement is None:  # two threads may both make it: the same statement
        sets = {name: bindparam("set_" + name, type_=_FLOWS.c[name].type) for name in columns}
        statement = _TRANSITIONS[columns] = driver.register(_TRANSITION_FLOW.values(sets))
    return statement


_LOGIN_SESSIONS = LoginSessionRow.__table__
_LOGIN_SESSION_COLUMNS = [f.name for f in fields(LoginSession)]
_SELECT_LOGIN_SESSIONS = select(_LOGIN_SESSIONS)
# One statement: a session re-authenticated under its id is replaced (not an UPDATE, then
# an INSERT when it matched nothing). SQLite (3.24+) compiles this construct to the same
# INSERT ... ON CONFLICT (id) DO UPDATE as PostgreSQL.
_SAVE_LOGIN_SESSION = insert_or_update(_LOGIN_SESSIONS)
_SAVE_LOGIN_SESSION = driver.register(
    _SAVE_LOGIN_SESSION.on_conflict_do_update(
        index_elements=["id"],
        set_={c: _SAVE_LOGIN_SESSION.excluded[c] for c in _LOGIN_SESSION_COLUMNS if c != "id"},
    )
)
_LOGOUT_REQUESTS = LogoutRequestRow.__table__
_SELECT_LOGOUT_REQUESTS = select(_LOGOUT_REQUESTS)
# Hydra looks at the newest remembered consent only; a few more cost nothing.
REMEMBERED_CONSENTS_LOOKED_AT = 10


def _flow(row: FlowRow) -> Flow:
    values = {name: getattr(row, name) for name in _FLOW_COLUMNS}
    values["state"] = FlowState(values["state"])
    return Flow(**values)


def _flow_values(flow: Flow) -> dict:
    # Not dataclasses.asdict: it deep-copies every JSON value, which cost more CPU than
    # the statement itself; these values are only read.
    values = {name: getattr(flow, name) for name in _FLOW_COLUMNS}
    values["state"] = int(flow.state)
    return values


# Every login that is not skipped looks for them.
_REMEMBERED_CONSENTS = driver.register(
    _SELECT_FLOWS.where(
        _FLOWS.c.subject == bindparam("subject"),
        _FLOWS.c.client_id == bindparam("client_id"),
        _FLOWS.c.state == int(FlowState.DONE),
        _FLOWS.c.consent_remember.is_(True),
        _FLOWS.c.consent_revoked.is_(False),
        or_(
            _FLOWS.c.consent_remember_until.is_(None),
            _FLOWS.c.consent_remember_until > bindparam("now"),
        ),
    )
    .order_by(_FLOWS.c.consent_handled_at.desc(), _FLOWS.c.id)
    .limit(REMEMBERED_CONSENTS_LOOKED_AT)
)


class FlowRepository:
    """``domain.stores.FlowStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, flow: Flow) -> None:
        self._session.execute(_INSERT_FLOW, _flow_values(flow))

    def _one(self, column: str, value: str) -> Flow | None:
        row = self._session.execute(_SELECT_FLOW_BY[column], {"value": value}).first()
        return _flow(row) if row else None

    def get(self, flow_id: str) -> Flow | None:
        return self._one("id", flow_id)

    def by_login_challenge(self, challenge_digest: str) -> Flow | None:
        return self._one("login_challenge", challenge_digest)

    def by_login_verifier(self, verifier_digest: str) -> Flow | None:
        return self._one("login_verifier", verifier_digest)

    def by_consent_challenge(self, challenge_digest: str) -> Flow | None:
        return self._one("consent_challenge", challenge_digest)

    def by_consent_verifier(self, verifier_digest: str) -> Flow | None:
        return self._one("consent_verifier", verifier_digest)

    def transition(self, before: Flow, after: Flow) -> bool:
        """Store ``after`` only if the row is still in ``before``'s state (one winner).
        Only the columns that changed are written."""
        old, new = _flow_values(before), _flow_values(after)
        changed = [name for name, value in new.items() if value != old[name] and name != "id"]
        if "state" not in changed:  # never an empty SET; the state always moves on
            changed.append("state")
        values = {"set_" + name: new[name] for name in changed}
        values["where_id"] = before.id
        values["where_state"] = old["state"]
        result = self._session.execute(_transition(tuple(changed)), values)
        return result.rowcount == 1

    def consent_sessions(
        self,
        subject: str,
        client_id: str | None = None,
        login_session_id: str | None = None,
    ) -> list[Flow]:
        """Granted, unrevoked consents of a subject (Hydra's consent sessions), newest first."""
        query = _SELECT_FLOWS.where(
            _FLOWS.c.subject == subject,
            _FLOWS.c.state == int(FlowState.DONE),
            _FLOWS.c.consent_revoked.is_(False),
        )
        if client_id:
            query = query.where(_FLOWS.c.client_id == client_id)
        if login_session_id:
            query = query.where(_FLOWS.c.login_session_id == login_session_id)
        query = query.order_by(_FLOWS.c.consent_handled_at.desc(), _FLOWS.c.id)
        flows = (_flow(row) for row in self._session.execute(query))
        # A JSON column stores None as JSON null, not SQL NULL: "granted" is checked here.
        return [flow for flow in flows if flow.consent is not None]

    def session_participants(self, login_session_ids: list[str]) -> list[tuple[str, str, str]]:
        """``(client_id, login_session_id, subject)`` of every client that was granted
        consent, and so received tokens, in these login sessions (the clients a logout
        must tell: Back-Channel Logout 1.0 §2.7, Front-Channel Logout 1.0 §2)."""
        if not login_session_ids:
            return []
        query = (
            select(_FLOWS.c.client_id, _FLOWS.c.login_session_id, _FLOWS.c.subject)
            .where(
                _FLOWS.c.login_session_id.in_(login_session_ids),
                _FLOWS.c.state == int(FlowState.DONE),
                _FLOWS.c.consent_revoked.is_(False),
            )
            .distinct()
            .order_by(_FLOWS.c.login_session_id, _FLOWS.c.client_id)
        )
        return [tuple(row) for row in self._session.execute(query)]

    def remembered_consents(self, subject: str, client_id: str, now: int) -> list[Flow]:
        """The newest remembered, unexpired consents (bounded: a user who logs in daily
        must not make every later login read all their past ones)."""
        parameters = {"subject": subject, "client_id": client_id, "now": now}
        return [_flow(row) for row in self._session.execute(_REMEMBERED_CONSENTS, parameters)]

    def revoke_consent_sessions(self, subject: str, client_id: str | None) -> list[str]:
        """Mark the subject's consent sessions revoked; return their ids (= request ids)."""
        ids = [flow.id for flow in self.consent_sessions(subject, client_id)]
        if ids:
            self._session.execute(
                update(FlowRow).where(FlowRow.id.in_(ids)).values(consent_revoked=True)
            )
        return ids


def _login_session(row: LoginSessionRow) -> LoginSession:
    return LoginSession(
        id=row.id,
        cookie_digest=row.cookie_digest,
        subject=row.subject,
        authenticated_at=row.authenticated_at,
        remember=row.remember,
        expires_at=row.expires_at,
        identity_provider_session_id=row.identity_provider_session_id,
    )


class LoginSessionRepository:
    """``domain.stores.LoginSessionStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def by_cookie(self, cookie_digest: str) -> LoginSession | None:
        row = self._session.execute(
            _SELECT_LOGIN_SESSIONS.where(_LOGIN_SESSIONS.c.cookie_digest == cookie_digest)
        ).first()
        return _login_session(row) if row else None

    def get(self, session_id: str) -> LoginSession | None:
        row = self._session.execute(
            _SELECT_LOGIN_SESSIONS.where(_LOGIN_SESSIONS.c.id == session_id)
        ).first()
        return _login_session(row) if row else None

    def save(self, login_session: LoginSession) -> None:
        """Insert or replace (a session keeps its id when it is re-authenticated)."""
        values = {name: getattr(login_session, name) for name in _LOGIN_SESSION_COLUMNS}
        self._session.execute(_SAVE_LOGIN_SESSION, values)

    def delete(self, session_id: str) -> int:
        return self._session.execute(
            delete(LoginSessionRow).where(LoginSessionRow.id == session_id)
        ).rowcount

    def ids_for_subject(self, subject: str) -> list[str]:
        return list(
            self._session.execute(
                select(LoginSessionRow.id).where(LoginSessionRow.subject == subject)
            ).scalars()
        )

    def delete_for_subject(self, subject: str) -> int:
        return self._session.execute(
            delete(LoginSessionRow).where(LoginSessionRow.subject == subject)
        ).rowcount


def _logout(row: LogoutRequestRow) -> LogoutRequest:
    return LogoutRequest(
        id=row.id,
        challenge=row.challenge,
        status=LogoutState(row.status),
        subject=row.subject,
        session_id=row.session_id,
        client_id=row.client_id,
        request_url=row.request_url,
        post_logout_redirect_uri=row.post_logout_redirect_uri,
        rp_initiated=row.rp_initiated,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        verifier=row.verifier,
    )


class LogoutRequestRepository:
    """``domain.stores.LogoutRequestStore``."""

    def __init__(self, session: Executor):
        self._session = session

    def add(self, request: LogoutRequest) -> None:
        values = asdict(request)
        values["status"] = int(request.status)
        self._session.execute(insert(LogoutRequestRow).values(**values))

    def by_challenge(self, challenge_digest: str) -> LogoutRequest | None:
        row = self._session.execute(
            _SELECT_LOGOUT_REQUESTS.where(_LOGOUT_REQUESTS.c.challenge == challenge_digest)
        ).first()
        return _logout(row) if row else None

    def by_verifier(self, verifier_digest: str) -> LogoutRequest | None:
        row = self._session.execute(
            _SELECT_LOGOUT_REQUESTS.where(_LOGOUT_REQUESTS.c.verifier == verifier_digest)
        ).first()
        return _logout(row) if row else None

    def transition(self, before: LogoutRequest, after: LogoutRequest) -> bool:
        result = self._session.execute(
            update(LogoutRequestRow)
            .where(LogoutRequestRow.id == before.id, LogoutRequestRow.status == int(before.status))
            .values(status=int(after.status), verifier=after.verifier)
        )
        return result.rowcount == 1
