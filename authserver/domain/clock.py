"""The server's idea of "now" for every expiry check and every timestamp it signs.

A real server reads the system clock. The test harness (``authserver harness``) moves its
own ``Clock`` forward or freezes it, so that a test sees a code, token or device code
expire without sleeping; nothing outside harness mode ever moves one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self, source: Callable[[], float] = time.time):
        self._source = source
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def time(self) -> float:
        frozen = self._frozen_at
        return frozen if frozen is not None else self._source() + self._offset

    def now(self) -> int:
        """Whole seconds since the epoch: what tokens and records carry."""
        return int(self.time())

    # -- moved by the test harness only ---------------------------------------------------

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source() + self._offset

    def unfreeze(self) -> None:
        """Run again from the frozen instant (time does not jump to catch up)."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset(self) -> float:
        """How far this clock is ahead of the system clock, in seconds."""
        return self.time() - self._source()
