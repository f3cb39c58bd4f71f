"""What the harness keeps in memory besides the database: its users and their claims,
the queued decisions and the request log. One per harness, shared by its threads."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from authserver.harness.config import HarnessConfig
from authserver.harness.decisions import Decision, DecisionQueue

MAX_LOGGED_REQUESTS = 10_000  # the oldest go first: a long suite cannot fill the memory


class HarnessState:
    def __init__(self, config: HarnessConfig):
        self.config = config
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, Any]] = {}
        self._decisions = DecisionQueue()
        self._requests: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED_REQUESTS)
        self.reset()

    def reset(self) -> None:
        """Back to the configuration: its users only, no decisions, an empty log."""
        with self._lock:
            self._users = {subject: dict(claims) for subject, claims in self.config.users.items()}
            self._decisions.clear()
            self._requests.clear()

    # -- users -----------------------------------------------------------------------------

    def user(self, subject: str) -> dict[str, Any] | None:
        with self._lock:
            claims = self._users.get(subject)
            return None if claims is None else dict(claims)

    def users(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {subject: dict(claims) for subject, claims in self._users.items()}

    def set_user(self, subject: str, claims: dict[str, Any]) -> bool:
        """Create or replace a user; True if it is new."""
        with self._lock:
            new = subject not in self._users
            self._users[subject] = dict(claims)
            return new

    def delete_user(self, subject: str) -> bool:
        with self._lock:
            return self._users.pop(subject, None) is not None

    # -- decisions -------------------------------------------------------------------------

    def queue(self, decision: Decision) -> None:
        with self._lock:
            self._decisions.add(decision)

    def take_decision(self, client_id: str) -> Decision | None:
        with self._lock:
            return self._decisions.take(client_id)

    def pending_decisions(self) -> list[Decision]:
        with self._lock:
            return self._decisions.pending()

    def clear_decisions(self) -> None:
        with self._lock:
            self._decisions.clear()

    # -- the request log -------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self, client_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._requests if client_id is None or e["client_id"] == client_id]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
