"""A request's database session, handed from the way in (a view, a hot path) to the
services and grants that use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from authserver.storage.database import Database
    from authserver.storage.driver import DriverConnection


class SessionHandle:
    """Opened on first ``get()``: a request refused before it needs the database (a bad
    client secret, a malformed token) costs no connection and, on SQLite, no write slot.
    Whoever made the handle closes it; whoever receives it only calls ``get()``."""

    __slots__ = ("_autocommit", "_database", "_session", "_write")

    def __init__(self, database: Database, *, write: bool, autocommit: bool = False):
        self._database = database
        self._write = write
        self._autocommit = autocommit
        self._session: Session | DriverConnection | None = None

    def get(self) -> Session | DriverConnection:
        """The session (``autocommit``: a plain connection whose statements each commit)."""
        if self._session is None:
            self._session = self._database.open_session(
                write=self._write, autocommit=self._autocommit, driver=True
            )
        return self._session

    @property
    def opened(self) -> Session | DriverConnection | None:
        """The session if ``get()`` opened one, else None."""
        return self._session

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            self._database.close_session(session)
