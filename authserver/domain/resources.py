"""Resource indicators (RFC 8707): which protected resources a token is meant for.

A client names each resource with a ``resource`` parameter (repeated for several) at the
authorization, pushed-authorization, device and token endpoints. Hydra's model already
has the idea: a client's ``audience`` list says which audiences it may ask for, and the
access token's ``aud`` says whom it is for. So a resource is one more way to ask for an
audience: it must be one of the client's ``audience`` entries, and it ends up in ``aud``
(and, on the way, in the consent request's ``requested_access_token_audience``, so
login/consent apps work unchanged). The errors are RFC 8707's ``invalid_target``.

At the token endpoint a ``resource`` narrows: the access token is for the named subset of
what the grant allows (§2.2); the refresh token keeps the whole grant. No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from authserver.domain.text import safe_description

if TYPE_CHECKING:
    from authserver.domain.clients import Client

INVALID_TARGET = "invalid_target"
MAX_RESOURCES = 20
MAX_RESOURCE_LENGTH = 2048
# RFC 3986 §4.3 absolute-URI: a scheme, then anything visible (no spaces, no controls).
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[\x21-\x7e]+")


class InvalidTarget(ValueError):
    """RFC 8707 §2: the resource is invalid, unknown, or not allowed for the client."""

    error = INVALID_TARGET


def parse_resources(values: Sequence[str]) -> tuple[str, ...]:
    """The ``resource`` parameters, checked (§2: absolute URIs without a fragment), in the
    order given without duplicates."""
    if len(values) > MAX_RESOURCES:
        raise InvalidTarget(f"At most {MAX_RESOURCES} resource parameters are accepted.")
    for value in values:
        _check_resource(value)
    return tuple(dict.fromkeys(values))


def _check_resource(value: str) -> None:
    if len(value) > MAX_RESOURCE_LENGTH or not _ABSOLUTE_URI.fullmatch(value):
        raise InvalidTarget("Each resource must be an absolute URI (RFC 8707 section 2).")
    if "#" in value:
        raise InvalidTarget("A resource must not contain a fragment (RFC 8707 section 2).")


def check_allowed(client: Client, resources: Iterable[str]) -> None:
    """Every resource must be one of the client's ``audience`` entries."""
    outside = [item for item in resources if item not in client.audience]
    if outside:
        raise InvalidTarget(
            safe_description(
                f"The resource '{' '.join(outside)}' is not allowed for this client "
                "(see its 'audience' field)."
            )
        )


def narrow(granted: Sequence[str], resources: Sequence[str]) -> tuple[str, ...]:
    """The audience of an access token asked for ``resources`` out of a grant's
    ``granted`` audience (§2.2): only ones the grant has."""
    outside = [item for item in resources if item not in granted]
    if outside:
        raise InvalidTarget(
            safe_description(
                f"The resource '{' '.join(outside)}' was not granted (RFC 8707 section 2.2)."
            )
        )
    return tuple(resources)
