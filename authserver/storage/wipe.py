"""Emptying the database between tests (the harness's reset): every grant, token, flow,
session and device code goes; signing keys stay (a client may have cached the JWKS), and
so do the clients named by the caller, which it then restores."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete

from authserver.storage.executor import Executor
from authserver.storage.models import Base, ClientRow, JsonWebKeyRow

_KEPT = {ClientRow.__tablename__, JsonWebKeyRow.__tablename__}


def delete_grants(session: Executor) -> None:
    # Children before parents: sorted_tables lists parents first.
    for table in reversed(Base.metadata.sorted_tables):
        if table.name not in _KEPT:
            session.execute(delete(table))


def delete_clients_except(session: Executor, client_ids: Iterable[str]) -> list[str]:
    """Delete every client not in ``client_ids``; return the ids deleted."""
    kept = list(client_ids)
    result = session.execute(
        delete(ClientRow).where(ClientRow.id.not_in(kept)).returning(ClientRow.id)
    )
    return [row[0] for row in result]
