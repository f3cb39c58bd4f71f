"""Trust relationships of the JWT bearer grant (RFC 7523 §2.1), as Hydra's
``trustOAuth2JwtGrantIssuer``: an issuer whose JWTs, signed with one key, about one
subject (or any), may be exchanged for access tokens with at most these scopes, until a
time.

``validate_trust_request`` reads the admin API's untrusted JSON through a table of small
checks (the first failure's message is the answer) into a ``TrustedIssuer``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from authserver.domain.client_keys import parse_public_jwks
from authserver.domain.text import text_problem

MAX_SCOPES = 100
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_KNOWN_FIELDS = ("issuer", "subject", "allow_any_subject", "scope", "jwk", "expires_at")


class InvalidTrustRequest(ValueError):
    """The message names the field."""


@dataclass(frozen=True)
class TrustedIssuer:
    id: str
    issuer: str
    subject: str  # "" when allow_any_subject
    allow_any_subject: bool
    scope: tuple[str, ...]
    key_set: str  # Hydra's name for the group of keys: the issuer
    key_id: str
    public_key: dict[str, Any]
    expires_at: datetime
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Hydra's ``trustedOAuth2JwtGrantIssuer``."""
        return {
            "id": self.id,
            "issuer": self.issuer,
            "subject": self.subject,
            "allow_any_subject": self.allow_any_subject,
            "scope": list(self.scope),
            "public_key": {"set": self.key_set, "kid": self.key_id},
            "expires_at": _rfc3339(self.expires_at),
            "created_at": _rfc3339(self.created_at),
        }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class _Draft:
    document: dict[str, Any]
    now: datetime
    values: dict[str, Any] = field(default_factory=dict)


def _string(draft: _Draft, name: str, required: bool) -> str:
    value = draft.document.get(name)
    if value is None or value == "":
        if required:
            raise InvalidTrustRequest(f"Field {name} is required.")
        return ""
    if not isinstance(value, str):
        raise InvalidTrustRequest(f"Field {name} must be a string.")
    if len(value) > 255 or text_problem(value) or not value.isprintable():
        raise InvalidTrustRequest(f"Field {name} must be at most 255 printable characters.")
    return value


def _check_fields(draft: _Draft) -> None:
    unknown = sorted(set(draft.document) - set(_KNOWN_FIELDS))
    if unknown:
        raise InvalidTrustRequest(f"Unknown field(s): {', '.join(unknown[:10])}.")


def _check_issuer(draft: _Draft) -> None:
    draft.values["issuer"] = _string(draft, "issuer", required=True)


def _check_subject(draft: _Draft) -> None:
    subject = _string(draft, "subject", required=False)
    any_subject = draft.document.get("allow_any_subject", False)
    if not isinstance(any_subject, bool):
        raise InvalidTrustRequest("Field allow_any_subject must be true or false.")
    if bool(subject) == any_subject:
        # Hydra's rule: exactly one of them says whose JWTs are trusted.
        raise InvalidTrustRequest("Set either subject or allow_any_subject (exactly one of them).")
    draft.values["subject"] = subject
    draft.values["allow_any_subject"] = any_subject


def _check_scope(draft: _Draft) -> None:
    scope = draft.document.get("scope")
    if not isinstance(scope, list) or not all(isinstance(item, str) for item in scope):
        raise InvalidTrustRequest("Field scope must be an array of strings.")
    if len(scope) > MAX_SCOPES:
        raise InvalidTrustRequest(f"Field scope holds more than {MAX_SCOPES} values.")
    for item in scope:
        if not _SCOPE_TOKEN.fullmatch(item):
            raise InvalidTrustRequest(f"Field scope: {item[:40]!r} is not a scope token.")
    draft.values["scope"] = tuple(dict.fromkeys(scope))


def _check_jwk(draft: _Draft) -> None:
    jwk = draft.document.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidTrustRequest("Field jwk must be a JSON Web Key (an object).")
    try:
        (key,) = parse_public_jwks({"keys": [jwk]}, "Field jwk").keys
    except ValueError as exc:
        raise InvalidTrustRequest(f"{exc}.") from None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 255:
        # Hydra stores the key under the issuer's set by its kid.
        raise InvalidTrustRequest("Field jwk must have a kid (at most 255 characters).")
    draft.values["key_id"] = kid
    draft.values["public_key"] = key.as_dict(private=False) | {"kid": kid}


def _check_expires_at(draft: _Draft) -> None:
    raw = draft.document.get("expires_at")
    if not isinstance(raw, str):
        raise InvalidTrustRequest("Field expires_at must be an RFC 3339 date-time string.")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidTrustRequest("Field expires_at is not an RFC 3339 date-time.") from None
    if moment.tzinfo is None:
        raise InvalidTrustRequest("Field expires_at must carry a time zone (e.g. Z).")
    moment = moment.astimezone(UTC).replace(microsecond=0)
    if moment <= draft.now:
        raise InvalidTrustRequest("Field expires_at must be in the future.")
    draft.values["expires_at"] = moment


_CHECKS: tuple[Callable[[_Draft], None], ...] = (
    _check_fields,
    _check_issuer,
    _check_subject,
    _check_scope,
    _check_jwk,
    _check_expires_at,
)


def validate_trust_request(document: Any, now: datetime) -> TrustedIssuer:
    if not isinstance(document, dict):
        raise InvalidTrustRequest("The request body must be a JSON object.")
    draft = _Draft(document, now.astimezone(UTC).replace(microsecond=0))
    for check in _CHECKS:
        check(draft)
    return TrustedIssuer(
        id=str(uuid.uuid4()),
        key_set=draft.values["issuer"],
        created_at=draft.now,
        **draft.values,
    )
