"""The tokens one grant hands out: an access token, a refresh token when ``offline`` or
``offline_access`` was granted (and the client may refresh), and an ID token when
``openid`` was granted. Used by every grant that acts for a user (authorization code,
refresh token, device code) and by the test harness's minted tokens.

The ``sub`` a client sees is decided here, once (OIDC Core §8, ``domain.subjects``). A
pairwise client's ID token carries its pairwise identifier, and so does its access token
when that is a JWT (the client can read it; Hydra instead turns pairwise off with JWT
access tokens): the token's record, and hence introspection of it, holds what the JWT
says. An opaque access token's record keeps the real subject, as Hydra's: introspection
(admin port) tells resource servers who the user is; ``/userinfo`` maps it again.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from sqlalchemy.orm import Session

from authserver.domain.clients import Client
from authserver.domain.grants import RefreshTokenRecord
from authserver.domain.sessions import GrantSession
from authserver.domain.subjects import NoSector, PairwiseUnavailable, subject_for
from authserver.domain.tokens import TokenKind
from authserver.storage.grants import RefreshTokenRepository


def issue_token_set(
    services,
    session: Session,
    *,
    client: Client,
    grant: GrantSession,
    request_id: str,
    grant_type: str,
    with_nonce: bool,
    refresh_grant: GrantSession | None = None,
    access_token_ttl: int | None = None,
    dpop_jkt: str | None = None,
) -> dict[str, Any]:
    """Mint and store the tokens; return the RFC 6749 §5.1 response body.

    ``refresh_grant``: what the new refresh token carries when it differs from ``grant``
    (a refresh that narrowed the access token's scope keeps the refresh token's own scope,
    RFC 6749 §6). ``access_token_ttl``: a lifetime chosen by the caller (the test
    harness's minted tokens), over the client's and the server's. ``dpop_jkt``: the DPoP
    key the access token is bound to, and a public client's refresh token too (RFC 9449
    §5: a confidential client's refresh token is bound by its authentication already)."""
    refresh_grant = refresh_grant or grant
    lifespan = f"{grant_type}_grant"
    client_sub = client_subject(services.settings, client, grant.subject)
    issued = services.access_tokens.issue(
        session,
        client=client,
        subject=_access_token_subject(services, client, grant.subject, client_sub),
        scope=grant.scope_string,
        audience=grant.audience,
        request_id=request_id,
        ttl=access_token_ttl or client.lifespan(f"{lifespan}_access_token_lifespan"),
        extra=grant.access_token_claims,
        dpop_jkt=dpop_jkt,
    )
    response = issued.to_response()
    if refresh_grant.wants_refresh_token and "refresh_token" in client.grant_types:
        response["refresh_token"] = issue_refresh_token(
            services,
            session,
            client=client,
            grant=refresh_grant,
            request_id=request_id,
            ttl=client.lifespan(f"{lifespan}_refresh_token_lifespan"),
            dpop_jkt=dpop_jkt if client.is_public else None,
        )
    if grant.is_openid:
        response["id_token"] = services.id_tokens.issue(
            session,
            client_id=client.client_id,
            grant=grant,
            subject=client_sub,
            access_token=issued.access_token,
            with_nonce=with_nonce,
            ttl=client.lifespan(f"{lifespan}_id_token_lifespan"),
            alg=client.id_token_signed_response_alg,
        )
    return response


def client_subject(settings, client: Client, subject: str) -> str:
    """The ``sub`` the client sees; a pairwise client that cannot get its pairwise
    identifier gets no tokens (``invalid_request``, as Hydra), never the real subject."""
    try:
        return subject_for(
            client,
            subject,
            subject_types=settings.subject_types_supported,
            salt=settings.pairwise_salt,
        )
    except (NoSector, PairwiseUnavailable) as exc:
        raise InvalidRequestError(str(exc)) from None


def _access_token_subject(services, client: Client, subject: str, client_sub: str) -> str:
    return client_sub if services.access_tokens.strategy_for(client) == "jwt" else subject


def issue_refresh_token(
    services,
    session: Session,
    *,
    client: Client,
    grant: GrantSession,
    request_id: str,
    ttl: int | None,
    dpop_jkt: str | None = None,
) -> str:
    now = services.clock.now()
    minted = services.codec.mint(TokenKind.REFRESH_TOKEN)
    RefreshTokenRepository(session).add(
        RefreshTokenRecord(
            signature_digest=minted.signature_digest,
            request_id=request_id,
            client_id=client.client_id,
            session=grant,
            issued_at=now,
            expires_at=now + (ttl or services.settings.refresh_token_ttl),
            dpop_jkt=dpop_jkt,
        )
    )
    return minted.value
