"""DPoP and resource indicators in the flow (RFC 9449, RFC 8707): the attempt the server
refused asking for a nonce, and what the token answer says about the binding and the
token's audience. No I/O."""

from __future__ import annotations

from demo_client.inspector.assertion import jwt_parts
from demo_client.inspector.model import Step, http_step, response_params
from demo_client.inspector.redaction import show
from demo_client.transport import Exchange


def dpop_nonce_step(exchange: Exchange) -> Step:
    """The attempt the server refused with use_dpop_nonce; the next step is the retry."""
    return http_step(
        "dpop-nonce",
        "DPoP nonce asked",
        exchange,
        "The server wants its own nonce in every proof: it refused this attempt and sent "
        "one in the DPoP-Nonce header. The client retries once, with a new proof carrying it.",
        "RFC 9449 §8, §9",
        response=response_params(exchange, ("error", "error_description")),
        notes=[f"DPoP-Nonce: {exchange.dpop_nonce}"],
        ok=True,  # an expected answer, not a failure of the flow
    )


def binding_notes(
    tokens: dict, introspection: dict | None, thumbprint: str | None, resource: str
) -> list[str]:
    """Notes for the token answer: DPoP binding (RFC 9449 §5, §6) and the token's
    audience for a resource (RFC 8707 §2.2)."""
    notes = []
    if thumbprint is not None:
        notes.append(_binding_note(tokens, introspection, thumbprint))
    if resource:
        notes.append(_audience_note(resource, introspection, tokens.get("access_token", "")))
    return notes


def _binding_note(tokens: dict, introspection: dict | None, thumbprint: str) -> str:
    token_type = str(tokens.get("token_type", ""))
    if token_type.lower() != "dpop":
        return f"✗ token_type: {token_type or '(none)'}: the server did not bind the tokens."
    note = f"✓ token_type: DPoP: the tokens are bound to the key thumbprint {thumbprint}"
    cnf = (introspection or {}).get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if jkt is None:
        return note + "; a thief without the private key cannot use them (RFC 9449 §5)."
    same = "equals" if jkt == thumbprint else "does NOT equal"
    return note + f"; introspection's cnf.jkt {jkt} {same} it (RFC 9449 §6)."


def _audience_note(resource: str, introspection: dict | None, access_token: str) -> str:
    if introspection is not None:
        return f"Asked for resource {resource}: introspection says aud = {_aud(introspection)}."
    payload = _jwt_payload(access_token)
    if payload is not None:
        return f"Asked for resource {resource}: the JWT access token says aud = {_aud(payload)}."
    return (
        f"Asked for resource {resource}: the access token is opaque and no admin URL is "
        "configured for introspection, so its aud cannot be seen here."
    )


def _aud(claims: dict) -> str:
    return show("aud", claims.get("aud", "(none)"))


def _jwt_payload(token: str) -> dict | None:
    """A JWT access token's claims (read, not verified: for display); None if opaque."""
    try:
        return jwt_parts(token)[1]
    except ValueError:
        return None
