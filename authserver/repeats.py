"""Logging a recurring event once per interval, with a count, instead of once per request."""

from __future__ import annotations

import logging
import threading
import time


class RepeatedLog:
    """Log a recurring message once per ``interval`` seconds, with how often it recurred
    meanwhile: a database outage must not write one line (or traceback) per request."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0, clock=time.monotonic):
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (last written, suppressed)

    def log(self, level: int, key: str, message: str, *args, exc_info=None) -> None:
        now = self._clock()
        with self._lock:
            last, suppressed = self._seen.get(key, (None, 0))
            if last is not None and now - last < self._interval:
                self._seen[key] = (last, suppressed + 1)
                return
            self._seen[key] = (now, 0)
            if len(self._seen) > 1000:  # keys are code locations, but stay bounded anyway
                self._seen = {key: (now, 0)}
        if suppressed:
            message += " (and %d more time(s) in the last %.0f s)"
            args = (*args, suppressed, now - last)
        self._logger.log(level, message, *args, exc_info=exc_info)
