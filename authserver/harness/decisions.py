"""What the harness's login app does with the next login: a decision queued by a test.

A decision either accepts the login as a user (with that login's claims, granted scopes
and ``remember``) or fails it with an OAuth2 error; either may be limited to one client.
Decisions are taken first in, first out, each by one login. No Flask here."""

from __future__ import annotations

import re
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from authserver.domain.flows import RESERVED_ID_TOKEN_CLAIMS
from authserver.domain.text import text_problem

# Claims the server sets itself, in ID tokens and JWT access tokens: a test cannot set them.
RESERVED_CLAIMS = RESERVED_ID_TOKEN_CLAIMS | {"client_id", "scope", "scp", "ext", "cnf", "typ"}
# RFC 6749 §5.2: an error code is NQCHAR (%x20-21 / %x23-5B / %x5D-7E), here without spaces.
_ERROR_CODE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")
MAX_QUEUED = 1000


class DecisionError(ValueError):
    """A decision, user or claims document that cannot be used (a 400)."""

    error = "invalid_request"


def check_subject(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DecisionError("a subject must be a non-empty string")
    if len(value) > 255 or text_problem(value) or any(ord(c) < 0x20 for c in value):
        raise DecisionError("a subject must be at most 255 printable characters")
    return value


def check_claims(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecisionError("claims must be a JSON object")
    for name in value:
        if not isinstance(name, str) or not name:
            raise DecisionError("claim names must be non-empty strings")
    reserved = sorted(set(value) & RESERVED_CLAIMS)
    if reserved:
        raise DecisionError(
            f"claims may not set what the server sets itself: {', '.join(reserved)}"
        )
    return dict(value)


def check_scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(
        isinstance(scope, str) and _SCOPE_TOKEN.fullmatch(scope) for scope in value
    ):
        raise DecisionError("grant_scope must be a list of scope tokens (or one string)")
    return tuple(value)


@dataclass(frozen=True)
class Decision:
    id: str
    subject: str | None = None
    claims: dict[str, Any] | None = None  # None: the user's configured claims
    grant_scope: tuple[str, ...] | None = None  # None: every scope requested
    remember: bool = False
    client_id: str | None = None  # None: the next login of any client
    error: str | None = None
    error_description: str = ""

    @property
    def denies(self) -> bool:
        return self.error is not None

    def to_json(self) -> dict[str, Any]:
        if self.denies:
            answer = {"error": self.error, "error_description": self.error_description}
        else:
            answer = {
                "subject": self.subject,
                "claims": self.claims,
                "grant_scope": None if self.grant_scope is None else list(self.grant_scope),
                "remember": self.remember,
            }
        return {"id": self.id, **answer, "client_id": self.client_id}


def _optional_text(document: dict, name: str, limit: int = 500) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or text_problem(value):
        raise DecisionError(f"{name} must be a string of at most {limit} characters")
    return value


_ACCEPT_FIELDS = {"subject", "claims", "grant_scope", "remember", "client_id"}
_DENY_FIELDS = {"error", "error_description", "client_id"}


def parse_decision(document: dict[str, Any]) -> Decision:
    """A decision from ``POST /admin/harness/decisions``; the caller checks the subject and
    client exist and that the client may have the scopes."""
    denies = "error" in document
    unknown = set(document) - (_DENY_FIELDS if denies else _ACCEPT_FIELDS)
    if unknown:
        what = "a denial" if denies else "an acceptance"
        raise DecisionError(f"unknown field(s) for {what}: {', '.join(sorted(unknown))}")
    client_id = _optional_text(document, "client_id", 255)
    if denies:
        error = document["error"]
        if not isinstance(error, str) or not _ERROR_CODE.fullmatch(error):
            raise DecisionError("error must be an OAuth2 error code such as access_denied")
        description = _optional_text(document, "error_description") or ""
        return Decision(
            id=_new_id(), client_id=client_id, error=error, error_description=description
        )
    remember = document.get("remember", False)
    if not isinstance(remember, bool):
        raise DecisionError("remember must be true or false")
    claims = document.get("claims")
    scopes = document.get("grant_scope")
    return Decision(
        id=_new_id(),
        subject=check_subject(document.get("subject")),
        claims=None if claims is None else check_claims(claims),
        grant_scope=None if scopes is None else check_scopes(scopes),
        remember=remember,
        client_id=client_id,
    )


def _new_id() -> str:
    return uuid.uuid4().hex


class DecisionQueue:
    """First in, first out; a decision for one client waits for that client's login while
    later decisions for any client serve others. Not thread-safe: ``HarnessState`` locks."""

    def __init__(self):
        self._queue: deque[Decision] = deque()

    def add(self, decision: Decision) -> None:
        if len(self._queue) >= MAX_QUEUED:
            raise DecisionError(f"at most {MAX_QUEUED} decisions can wait; clear some first")
        self._queue.append(decision)

    def take(self, client_id: str) -> Decision | None:
        for decision in self._queue:
            if decision.client_id in (None, client_id):
                self._queue.remove(decision)
                return decision
        return None

    def pending(self) -> list[Decision]:
        return list(self._queue)

    def clear(self) -> None:
        self._queue.clear()
