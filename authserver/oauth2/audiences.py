"""The audience a token request asks for: Hydra's ``audience`` parameter (space-separated,
repeated, or both) and RFC 8707's ``resource`` parameters, each checked against the
client's ``audience`` list. One place for the client-credentials, JWT bearer and device
authorization requests, so their errors read the same."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error

from authserver.domain.clients import Client
from authserver.domain.grants_allowed import audience_not_allowed
from authserver.domain.resources import InvalidTarget, check_allowed, narrow, parse_resources
from authserver.domain.text import safe_description


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2."""

    error = "invalid_target"


def requested_audience(payload) -> tuple[str, ...]:
    """Hydra accepts ``audience`` as a space-separated value, a repeated parameter, or both."""
    values = payload.datalist.get("audience", [])
    return tuple(dict.fromkeys(item for value in values for item in value.split()))


def requested_resources(payload) -> tuple[str, ...]:
    try:
        return parse_resources(payload.datalist.get("resource", []))
    except InvalidTarget as exc:
        raise InvalidTargetError(str(exc)) from None


def allowed_audience(client: Client, payload) -> tuple[str, ...]:
    """The requested audiences and resources, all of them the client's (else an error)."""
    audience = requested_audience(payload)
    outside = audience_not_allowed(client, audience)
    if outside:
        raise InvalidRequestError(
            safe_description(
                f"Requested audience '{' '.join(outside)}' has not been allowed for this "
                "client (see its 'audience' field)."
            )
        )
    resources = requested_resources(payload)
    try:
        check_allowed(client, resources)
    except InvalidTarget as exc:
        raise InvalidTargetError(str(exc)) from None
    return tuple(dict.fromkeys((*audience, *resources)))


def narrowed_audience(granted: tuple[str, ...], payload) -> tuple[str, ...]:
    """RFC 8707 §2.2 at the token endpoint of a grant that already has an audience (a code,
    a refresh token): no ``resource``, the whole grant; else the named part of it."""
    resources = requested_resources(payload)
    if not resources:
        return granted
    try:
        return narrow(granted, resources)
    except InvalidTarget as exc:
        raise InvalidTargetError(str(exc)) from None
