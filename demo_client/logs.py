"""Logging: one line per message, whatever a request carried.

A client controls much of what this app may log (``?error=`` on the callback, the path, a
Host header): CR and LF in it would forge whole log lines. ``printable`` writes backslash
and control characters as Python escapes (``\\r\\n``); the filter that ``configure_logging``
installs does the same to any message that did not go through it.
"""

from __future__ import annotations

import logging
import re
import sys

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, lone surrogates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")  # and backslash


def printable(value: object) -> str:
    """``value`` for a log line, on one line and with no escape we did not write."""
    return _UNSAFE.sub(_escape, str(value))


def _escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class EscapeControlCharacters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg, record.args = _CONTROL.sub(_escape, message), None
        return True


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    """``time LEVEL logger message`` on stderr (used by the CLI)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(EscapeControlCharacters())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
