"""Rules for text that crosses the server's edges, shared by every layer."""

from __future__ import annotations

import re

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_FORBIDDEN_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
# NUL: PostgreSQL refuses it in text. A lone surrogate cannot be encoded as UTF-8 at all.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def safe_description(text: str, limit: int = 500) -> str:
    """Make text that may contain user input fit RFC 6749's error_description alphabet."""
    cleaned = _FORBIDDEN_IN_DESCRIPTION.sub("?", text.replace('"', "'").replace("\\", "/"))
    return cleaned[:limit]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if _UNSTORABLE.search(text):
        return "A string contains a NUL character or a lone UTF-16 surrogate."
    return None


# The one JSON style of every answer (as Hydra's): no spaces, no trailing newline.
COMPACT_SEPARATORS = (",", ":")
