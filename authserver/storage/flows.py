"""Repositories for the login/consent flow: flows (and consent sessions), login sessions,
logout requests. Transitions are compare-and-set on the state they start from."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from authserver.domain.flows import Flow, FlowState
from authserver.domain.sessions import LoginSession, LogoutRequest, LogoutState
from authserver.storage.models import FlowRow, LoginSessionRow, LogoutRequestRow

_FLOW_COLUMNS = [f.name for f in fields(Flow)]


def _flow(row: FlowRow) -> Flow:
    values = {name: getattr(row, name) for name in _FLOW_COLUMNS}
    values["state"] = FlowState(values["state"])
    return Flow(**values)


def _flow_values(flow: Flow) -> dict:
    values = asdict(flow)
    values["state"] = int(flow.state)
    return values


class FlowRepository:
    def __init__(self, session: Session):
        self._session = session

    def add(self, flow: Flow) -> None:
        self._session.execute(insert(FlowRow).values(**_flow_values(flow)))

    def _one(self, condition) -> Flow | None:
        row = self._session.execute(select(FlowRow).where(condition)).scalar_one_or_none()
        return _flow(row) if row else None

    def get(self, flow_id: str) -> Flow | None:
        return self._one(FlowRow.id == flow_id)

    def by_login_challenge(self, challenge_digest: str) -> Flow | None:
        return self._one(FlowRow.login_challenge == challenge_digest)

    def by_login_verifier(self, verifier_digest: str) -> Flow | None:
        return self._one(FlowRow.login_verifier == verifier_digest)

    def by_consent_challenge(self, challenge_digest: str) -> Flow | None:
        return self._one(FlowRow.consent_challenge == challenge_digest)

    def by_consent_verifier(self, verifier_digest: str) -> Flow | None:
        return self._one(FlowRow.consent_verifier == verifier_digest)

    def transition(self, before: Flow, after: Flow) -> bool:
        """Store ``after`` only if the row is still in ``before``'s state (one winner)."""
        values = _flow_values(after)
        values.pop("id")
        result = self._session.execute(
            update(FlowRow)
            .where(FlowRow.id == before.id, FlowRow.state == int(before.state))
            .values(**values)
        )
        return result.rowcount == 1

    def consent_sessions(
        self,
        subject: str,
        client_id: str | None = None,
        login_session_id: str | None = None,
    ) -> list[Flow]:
        """Granted, unrevoked consents of a subject (Hydra's consent sessions), newest first."""
        query = select(FlowRow).where(
            FlowRow.subject == subject,
            FlowRow.state == int(FlowState.DONE),
            FlowRow.consent.is_not(None),
            FlowRow.consent_revoked.is_(False),
        )
        if client_id:
            query = query.where(FlowRow.client_id == client_id)
        if login_session_id:
            query = query.where(FlowRow.login_session_id == login_session_id)
        query = query.order_by(FlowRow.consent_handled_at.desc(), FlowRow.id)
        return [_flow(row) for row in self._session.scalars(query)]

    def remembered_consents(self, subject: str, client_id: str) -> list[Flow]:
        return [flow for flow in self.consent_sessions(subject, client_id) if flow.consent_remember]

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
    def __init__(self, session: Session):
        self._session = session

    def by_cookie(self, cookie_digest: str) -> LoginSession | None:
        row = self._session.execute(
            select(LoginSessionRow).where(LoginSessionRow.cookie_digest == cookie_digest)
        ).scalar_one_or_none()
        return _login_session(row) if row else None

    def get(self, session_id: str) -> LoginSession | None:
        row = self._session.get(LoginSessionRow, session_id)
        return _login_session(row) if row else None

    def save(self, login_session: LoginSession) -> None:
        """Insert or replace (a session keeps its id when it is re-authenticated)."""
        self._session.execute(delete(LoginSessionRow).where(LoginSessionRow.id == login_session.id))
        self._session.execute(insert(LoginSessionRow).values(**asdict(login_session)))

    def delete(self, session_id: str) -> int:
        return self._session.execute(
            delete(LoginSessionRow).where(LoginSessionRow.id == session_id)
        ).rowcount

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
    def __init__(self, session: Session):
        self._session = session

    def add(self, request: LogoutRequest) -> None:
        values = asdict(request)
        values["status"] = int(request.status)
        self._session.execute(insert(LogoutRequestRow).values(**values))

    def by_challenge(self, challenge_digest: str) -> LogoutRequest | None:
        row = self._session.execute(
            select(LogoutRequestRow).where(LogoutRequestRow.challenge == challenge_digest)
        ).scalar_one_or_none()
        return _logout(row) if row else None

    def by_verifier(self, verifier_digest: str) -> LogoutRequest | None:
        row = self._session.execute(
            select(LogoutRequestRow).where(LogoutRequestRow.verifier == verifier_digest)
        ).scalar_one_or_none()
        return _logout(row) if row else None

    def transition(self, before: LogoutRequest, after: LogoutRequest) -> bool:
        result = self._session.execute(
            update(LogoutRequestRow)
            .where(LogoutRequestRow.id == before.id, LogoutRequestRow.status == int(before.status))
            .values(status=int(after.status), verifier=after.verifier)
        )
        return result.rowcount == 1
