"""A per-process rate limit by key (a source address): a token bucket per key.

Each key may spend ``limit`` requests at once and earns them back at ``limit`` per
``period`` seconds, so a steady rate of ``limit`` per period passes and a flood is cut to
it. Memory is bounded: at most ``max_keys`` buckets are kept, the least recently used
one going first (a key forgotten so starts again with a full bucket, which is what an
idle key would have had anyway unless a flood of other keys pushed it out).

The count is per process: with ``--workers N`` a source may get up to N times the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if limit < 1 or period <= 0 or max_keys < 1:
            raise ValueError("limit, period and max_keys must be positive")
        self._limit = limit
        self._rate = limit / period  # requests earned back per second
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        """Spend one request of ``key``'s: 0 when it may go ahead, else the seconds until
        it may (nothing is spent then)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self._limit), now))
            tokens = min(float(self._limit), tokens + (now - at) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait


def retry_after(wait: float) -> str:
    """``Retry-After`` in whole seconds (RFC 9110 §10.2.3), rounded up."""
    return str(max(1, math.ceil(wait)))
