"""What a client may be granted: only scopes of its ``scope`` list and audiences of its
``audience`` list (Hydra's rule), whoever asks (an authorization request, a consent app's
grant, a client credentials request). No I/O.

Each function returns the items outside the client's list, in the order given (duplicates
kept), so the caller can name them in its own error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authserver.domain.clients import Client


def scopes_not_allowed(client: Client, scopes: Iterable[str]) -> list[str]:
    """The scopes of ``scopes`` that the client may not have."""
    allowed = client.scopes
    return [scope for scope in scopes if scope not in allowed]


def audience_not_allowed(client: Client, audience: Iterable[str]) -> list[str]:
    """The audiences of ``audience`` that the client may not have."""
    allowed = client.audience
    return [item for item in audience if item not in allowed]
