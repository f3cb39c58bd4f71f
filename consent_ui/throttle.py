"""Slow down password guessing: lock an account, and a client address, after repeated failures.

After ``max_failures`` failed logins within ``window`` seconds, the account (by the email
typed) or the address is locked for ``lockout`` seconds. While locked, the login view does
not even check the password, so a lucky guess during a lockout is worth nothing. A success
clears the account's count (not the address's: one valid account must not let an address
keep guessing at others).

The counts live in this process's memory. That is right for one process; with several
processes or machines each would count on its own, so keep the counts in a shared store
(Redis, your database) with the same three methods instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 15 * 60,
        lockout: float = 5 * 60,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}  # key -> times of recent failures
        self._locked_until: dict[str, float] = {}
        self._next_cleanup = 0.0

    def is_locked(self, email: str, address: str) -> bool:
        now = self.clock()
        with self._lock:
            keys = _keys(email, address)
            return any(self._locked_until.get(key, 0) > now for key in keys)

    def record_failure(self, email: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            self._forget_old(now)
            for key in _keys(email, address):
                recent = _recent(self._failures.get(key, []), now, self.window)
                recent.append(now)
                if len(recent) >= self.max_failures:
                    self._locked_until[key] = now + self.lockout
                    recent = []
                self._failures[key] = recent

    def record_success(self, email: str) -> None:
        with self._lock:
            self._failures.pop(_account(email), None)

    def _forget_old(self, now: float) -> None:
        """Drop entries nobody needs any more (once a minute), so memory stays bounded."""
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + 60
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]
        stale = [k for k, times in self._failures.items() if not _recent(times, now, self.window)]
        for key in stale:
            del self._failures[key]


def _account(email: str) -> str:
    return "account:" + email.strip().casefold()


def _keys(email: str, address: str) -> tuple[str, str]:
    return _account(email), "address:" + address


def _recent(times: list[float], now: float, window: float) -> list[float]:
    return [t for t in times if now - t < window]
