"""Go-style durations ("1h", "720h", "10m", "1h30m", "500ms"), as Hydra's config uses them."""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


# Go's time.Duration is int64 nanoseconds (about 292 years): the longest Hydra accepts, and
# far from overflowing a timestamp column when added to the current time.
MAX_SECONDS = (2**63 - 1) // 10**9


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> float:
    """Return the number of seconds in a Go duration string such as ``1h30m``.

    Like Go's ``time.ParseDuration``, a bare number is only accepted for zero, and
    every number needs a unit. Negative durations are refused: no TTL can be negative.
    """
    value = text.strip()
    if value in ("0", ""):
        if value == "":
            raise DurationError("empty duration")
        return 0.0
    position = 0
    total = 0.0
    while position < len(value):
        match = _PART.match(value, position)
        if not match:
            raise DurationError(f"{text!r} is not a duration (examples: 30s, 10m, 1h, 1h30m)")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if total > MAX_SECONDS:
        raise DurationError(f"{text!r} is longer than the longest duration (about 292 years)")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds the way Go prints a duration (``1h0m0s`` style, shortened)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)
