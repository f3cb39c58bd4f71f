"""Removing rows nobody can use any more, in small batches so that traffic continues.

Each batch is its own short transaction deleting at most ``batch_size`` rows chosen by
primary key, so locks are held for milliseconds and a server running beside the janitor
keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, or_, select

from authserver.domain.flows import FlowState
from authserver.storage.database import Database
from authserver.storage.models import (
    AccessTokenRow,
    AuthorizationCodeRow,
    DeviceChallengeRow,
    DeviceCodeRow,
    FlowRow,
    LoginSessionRow,
    LogoutRequestRow,
    RefreshTokenRow,
)


@dataclass(frozen=True)
class Category:
    name: str
    table: type
    key: object  # the primary key column
    condition: Callable[[int], object]  # now -> SQL condition for "removable"


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


def clean(
    database: Database,
    now: int,
    categories: tuple[str, ...] = ("tokens", "requests", "sessions"),
    batch_size: int = 1000,
    limit: int | None = None,
    on_batch: Callable[[str, int], None] | None = None,
    pause: float = 0.0,
) -> dict[str, int]:
    """Delete removable rows; return how many of each kind went. ``limit`` caps each kind;
    ``pause`` seconds pass between batches (throttling for busy databases)."""
    removed: dict[str, int] = {}
    for group in categories:
        for category in CATEGORIES[group]:
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
            session.execute(delete(category.table).where(category.key.in_(ids)))
        total += len(ids)
        if on_batch:
            on_batch(category.name, len(ids))
        if len(ids) < size:
            break
        if pause:
            time.sleep(pause)
    return total
