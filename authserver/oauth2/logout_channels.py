"""What ending login sessions owes the clients that took part in them.

Back-Channel Logout 1.0: each such client with a ``backchannel_logout_uri`` gets a logout
token, server to server (``LogoutDelivery`` rows, written in the transaction that ends the
sessions, sent by ``oauth2.backchannel``). Front-Channel Logout 1.0: each one with a
``frontchannel_logout_uri`` is loaded in an invisible iframe of the page the browser sees
next, with ``iss`` and ``sid`` when the client asked for them (§2). "Took part" means the
user granted it consent in the session (Hydra: the session's handled consent requests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import InvalidRequestError
from sqlalchemy.orm import Session

from authserver.domain.logout_deliveries import LogoutDelivery
from authserver.oauth2.login_consent import add_query
from authserver.oauth2.token_sets import client_subject
from authserver.storage.flows import FlowRepository
from authserver.storage.logout_deliveries import LogoutDeliveryRepository

log = logging.getLogger("authserver.logout")


@dataclass(frozen=True)
class SessionsEnded:
    deliveries: list[LogoutDelivery] = field(default_factory=list)  # to send after commit
    frames: list[str] = field(default_factory=list)  # front-channel logout URLs


def end_sessions(services, session: Session, login_session_ids: list[str]) -> SessionsEnded:
    """Record the back-channel deliveries these sessions' ending owes (in ``session``'s
    transaction) and list the front-channel URLs to load. The caller deletes the sessions."""
    now = services.clock.now()
    deliveries, frames = [], []
    participants = FlowRepository(session).session_participants(login_session_ids)
    for client_id, sid, subject in participants:
        stored = services.clients.find(session, client_id)
        if stored is None:
            continue
        client = stored.client
        if client.backchannel_logout_uri:
            sub = _subject_seen_by(services.settings, client, subject)
            deliveries.append(
                LogoutDelivery.owed(client_id, client.backchannel_logout_uri, sub, sid, now)
            )
        if client.frontchannel_logout_uri:
            frames.append(_frame_url(client, services.settings.issuer, sid))
    repository = LogoutDeliveryRepository(session)
    for delivery in deliveries:
        repository.add(delivery)
    if deliveries or frames:
        log.info(
            "login session ended: %d back-channel and %d front-channel logout(s) owed",
            len(deliveries),
            len(frames),
        )
    return SessionsEnded(deliveries, frames)


def _subject_seen_by(settings, client, subject: str) -> str:
    """The client's ``sub`` for the user; "" (the token then names the session only) when
    a pairwise client cannot have one, rather than reveal the real subject."""
    try:
        return client_subject(settings, client, subject)
    except InvalidRequestError:
        return ""


def _frame_url(client, issuer: str, sid: str) -> str:
    uri = client.frontchannel_logout_uri
    if not client.frontchannel_logout_session_required:
        return uri
    return add_query(uri, {"iss": issuer, "sid": sid})
