"""Removing rows nobody can use any more, in small batches so that traffic continues.

Each batch is its own short transaction deleting at most ``batch_size`` rows chosen by
primary key, so locks are held for milliseconds and a server running beside the janitor
keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, exists, or_, select

from authserver.domain.flows import FlowState
from authserver.storage.database import Database
from authserver.storage.models import (
    AccessTokenRow,
    AuthorizationCodeRow,
    ClientRow,
    DeviceChallengeRow,
    DeviceCodeRow,
    FlowRow,
    JtiRow,
    LoginSessionRow,
    LogoutRequestRow,
    PushedRequestRow,
    RefreshTokenRow,
)


@dataclass(frozen=True)
class Category:
    name: str
    table: type
    key: object  # the primary key column
    condition: Callable[[int], object]  # now -> SQL condition for "removable"
    # Ask the condition again when deleting: a row may stop being removable between the
    # select and the delete (a registered client that has just obtained its first token).
    recheck: bool = False


def _flow_removable(now: int):
    """Unfinished flows whose challenges expired, and finished ones no token, unredeemed
    code or remembered consent depends on any more (a revoked consent is kept only while
    its tokens live). A code issued but not yet exchanged needs its flow: the tokens it
    will yield read their consent claims there, and consent revocation finds them by it."""
    live_tokens = or_(
        exists().where(RefreshTokenRow.request_id == FlowRow.id, RefreshTokenRow.expires_at > now),
        exists().where(AccessTokenRow.request_id == FlowRow.id, AccessTokenRow.expires_at > now),
        exists().where(
            AuthorizationCodeRow.request_id == FlowRow.id,
            AuthorizationCodeRow.used.is_(False),
            AuthorizationCodeRow.expires_at > now,
        ),
    )
    remembered = and_(
        FlowRow.consent_remember.is_(True),
        FlowRow.consent_revoked.is_(False),
        or_(FlowRow.consent_remember_until.is_(None), FlowRow.consent_remember_until > now),
    )
    return or_(
        and_(FlowRow.state != int(FlowState.DONE), FlowRow.expires_at < now),
        and_(FlowRow.state == int(FlowState.DONE), ~remembered, ~live_tokens),
    )


CATEGORIES = {
    "tokens": (
        Category(
            "access tokens",
            AccessTokenRow,
            AccessTokenRow.signature_digest,
            lambda now: AccessTokenRow.expires_at < now,
        ),
        Category(
            "refresh tokens",
            RefreshTokenRow,
            RefreshTokenRow.signature_digest,
            lambda now: RefreshTokenRow.expires_at < now,
        ),
        Category(
            "authorization codes",
            AuthorizationCodeRow,
            AuthorizationCodeRow.signature_digest,
            lambda now: AuthorizationCodeRow.expires_at < now,
        ),
        Category(
            "device codes",
            DeviceCodeRow,
            DeviceCodeRow.signature_digest,
            lambda now: DeviceCodeRow.expires_at < now,
        ),
        # A JWT id is remembered until its JWT expires: past that, a replay fails on exp.
        Category("used assertion ids", JtiRow, JtiRow.digest, lambda now: JtiRow.expires_at < now),
    ),
    "requests": (
        Category("login/consent flows", FlowRow, FlowRow.id, _flow_removable),
        Category(
            "logout requests",
            LogoutRequestRow,
            LogoutRequestRow.id,
            lambda now: LogoutRequestRow.expires_at < now,
        ),
        Category(
            "device challenges",
            DeviceChallengeRow,
            DeviceChallengeRow.id,
            lambda now: DeviceChallengeRow.expires_at < now,
        ),
        # RFC 9126: a pushed request's reference lives a minute; used ones go at expiry too.
        Category(
            "pushed authorization requests",
            PushedRequestRow,
            PushedRequestRow.digest,
            lambda now: PushedRequestRow.expires_at < now,
        ),
    ),
    "sessions": (
        Category(
            "login sessions",
            LoginSessionRow,
            LoginSessionRow.id,
            lambda now: LoginSessionRow.expires_at < now,
        ),
    ),
}


# Not a Hydra category, and never cleaned unless asked for: how long a dynamically
# registered client may wait for its first token before it goes.
REGISTERED_CLIENT_AGE = 24 * 3600


def unused_registered_clients(min_age: int) -> Category:
    """Clients made by dynamic registration (RFC 7591) more than ``min_age`` seconds ago
    that never obtained a token: abandoned, or registered in bulk by someone to fill the
    table. Clients made by the admin API are never touched."""

    def removable(now: int):
        created_before = datetime.fromtimestamp(now - min_age, UTC)
        return and_(
            ClientRow.registered.is_(True),
            ClientRow.first_used_at.is_(None),
            ClientRow.created_at < created_before,
        )

    return Category("unused registered clients", ClientRow, ClientRow.id, removable, True)


def clean(
    database: Database,
    now: int,
    categories: tuple[str, ...] = ("tokens", "requests", "sessions"),
    batch_size: int = 1000,
    limit: int | None = None,
    on_batch: Callable[[str, int], None] | None = None,
    pause: float = 0.0,
    registered_client_age: int = REGISTERED_CLIENT_AGE,
) -> dict[str, int]:
    """Delete removable rows; return how many of each kind went. ``limit`` caps each kind;
    ``pause`` seconds pass between batches (throttling for busy databases). The group
    ``registered_clients`` removes unused registered clients older than
    ``registered_client_age`` seconds."""
    groups = {
        **CATEGORIES,
        "registered_clients": (unused_registered_clients(registered_client_age),),
    }
    removed: dict[str, int] = {}
    for group in categories:
        for category in groups[group]:
            removed[category.name] = _clean_one(
                database, category, now, batch_size, limit, on_batch, pause
            )
    return removed


def _clean_one(database, category: Category, now, batch_size, limit, on_batch, pause) -> int:
    total = 0
    while limit is None or total < limit:
        size = batch_size if limit is None else min(batch_size, limit - total)
        with database.transaction() as session:
            keys = select(category.key).where(category.condition(now)).limit(size)
            ids = list(session.scalars(keys))
            if not ids:
                break
            chosen = category.key.in_(ids)
            if category.recheck:
                chosen = and_(chosen, category.condition(now))
            result = session.execute(delete(category.table).where(chosen))
        removed = result.rowcount if category.recheck else len(ids)
        total += removed
        if on_batch:
            on_batch(category.name, removed)
        if len(ids) < size:
            break
        if pause:
            time.sleep(pause)
    return total
