"""Token exchange (RFC 8693): who may exchange what, and what the new token carries.

The policy, in the order ``check_exchange`` applies it:

1. The client is confidential and holds the grant type
   ``urn:ietf:params:oauth:grant-type:token-exchange`` (checked by the grant).
2. The subject token is one of ours (an active access token, or an unexpired ID token or
   JWT access token signed here) or a JWT from an issuer trusted through the JWT bearer
   trust API (``/admin/trust/grants/jwt-bearer/issuers``) whose ``aud`` names this server.
3. A token of ours may be exchanged only by the client it was issued to or by a client it
   names in its audience (a resource server passing the user's token on): nobody else's
   token can be turned into one's own.
4. An actor token (delegation, §1.1) must likewise be issued to the requesting client (a
   client acts only as itself); the new token's ``act`` names the actor, with the subject
   token's own ``act`` nested inside (§4.1).
5. The scope can only narrow: within the subject token's scope (a trusted JWT: the trust
   relationship's) and the client's. The audience (``audience``/``resource``) must be
   among the client's allowed ``audience`` entries (Hydra's model), as for every grant.
6. The new token never outlives the subject token.

Refusals of the presented tokens are ``invalid_request`` (§2.2.2: invalid or unacceptable
subject or actor tokens), scope refusals ``invalid_scope``, audience ones
``invalid_target`` / ``invalid_request``. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
SUBJECT_TOKEN_TYPES = (ACCESS_TOKEN_TYPE, JWT_TYPE, ID_TOKEN_TYPE)
# What can be asked for: an access token (opaque or JWT as the client's strategy says),
# or explicitly a JWT access token.
REQUESTED_TOKEN_TYPES = (ACCESS_TOKEN_TYPE, JWT_TYPE)
MAX_ACT_DEPTH = 5  # nested actors kept (a longer chain is cut, never an unbounded claim)


class ExchangeRefused(Exception):
    """``error`` is the RFC 6749/8693 error code; the message is its description."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


@dataclass(frozen=True)
class PresentedToken:
    """A subject or actor token once verified, whatever its kind."""

    subject: str
    expires_at: int
    issuer: str
    ours: bool  # issued by this server (else by a trusted issuer)
    client_id: str | None = None  # the client it was issued to (ours)
    audiences: tuple[str, ...] = ()
    # The most the new token may have: an access token's scope, a trust relationship's
    # (a trusted issuer's JWT), nothing for an ID token.
    scope: tuple[str, ...] = ()
    act: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None  # the consent's access-token claims (ours)

    def issued_to(self, client_id: str) -> bool:
        return client_id == self.client_id or client_id in self.audiences


def check_token_types(subject_type: str, actor_token: str, actor_type: str, requested: str):
    if subject_type not in SUBJECT_TOKEN_TYPES:
        raise ExchangeRefused(
            "invalid_request",
            "The subject_token_type is not supported; use one of "
            + ", ".join(SUBJECT_TOKEN_TYPES)
            + ".",
        )
    if bool(actor_token) != bool(actor_type):
        raise ExchangeRefused(
            "invalid_request", "actor_token and actor_token_type must be sent together."
        )
    if actor_type and actor_type not in SUBJECT_TOKEN_TYPES:
        raise ExchangeRefused("invalid_request", "The actor_token_type is not supported.")
    if requested and requested not in REQUESTED_TOKEN_TYPES:
        raise ExchangeRefused(
            "invalid_request",
            "The requested_token_type is not supported; use "
            + " or ".join(REQUESTED_TOKEN_TYPES)
            + ".",
        )


def check_exchange(client_id: str, subject: PresentedToken, actor: PresentedToken | None):
    """Rules 3 and 4."""
    if subject.ours and not subject.issued_to(client_id):
        raise ExchangeRefused(
            "invalid_request",
            "The subject_token was issued neither to this client nor for it (its audience).",
        )
    if actor is not None and actor.ours and not actor.issued_to(client_id):
        raise ExchangeRefused("invalid_request", "The actor_token was not issued to this client.")


def granted_scope(
    requested: Iterable[str], ceiling: Iterable[str], client_scopes: Iterable[str]
) -> tuple[str, ...]:
    """Rule 5: what was asked (else all of the ceiling the client may have), all of it
    within both."""
    allowed = set(client_scopes) & set(ceiling)
    asked = list(dict.fromkeys(requested))
    if not asked:
        return tuple(scope for scope in ceiling if scope in allowed)
    outside = [scope for scope in asked if scope not in allowed]
    if outside:
        raise ExchangeRefused(
            "invalid_scope",
            f"The scope '{' '.join(outside)}' is beyond the subject token's or the client's.",
        )
    return tuple(asked)


def act_claim(subject: PresentedToken, actor: PresentedToken | None) -> dict[str, Any] | None:
    """Rule 4's ``act``: the actor, the earlier actors nested (at most ``MAX_ACT_DEPTH``)."""
    if actor is None:
        return subject.act
    act: dict[str, Any] = {"sub": actor.subject}
    if not actor.ours:
        act["iss"] = actor.issuer
    if actor.client_id:
        act["client_id"] = actor.client_id
    if subject.act:
        act["act"] = _cut(subject.act, MAX_ACT_DEPTH - 1)
    return act


def _cut(act: dict[str, Any], depth: int) -> dict[str, Any]:
    inner = act.get("act")
    kept = {key: value for key, value in act.items() if key != "act"}
    if isinstance(inner, dict) and depth > 1:
        kept["act"] = _cut(inner, depth - 1)
    return kept


def lifetime(default_ttl: int, subject: PresentedToken, now: int) -> int:
    """Rule 6."""
    remaining = subject.expires_at - now
    if remaining <= 0:
        raise ExchangeRefused("invalid_request", "The subject_token has expired.")
    return min(default_ttl, remaining)
