"""The harness's YAML file (see docs/testing.md): users with their claims, clients with
fixed ids and secrets, the default user, the token strategy and lifetimes.

Checked as a whole, every problem listed at once, as ``authserver serve`` does with its
configuration: a test suite should fail at start with a readable reason, not later with
a puzzling login."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from authserver.domain.clients import InvalidClientMetadata, validate_client_document
from authserver.domain.durations import DurationError, parse_duration
from authserver.harness.decisions import DecisionError, check_claims, check_subject

# Harness lifetimes and the server settings (environment names) they set.
LIFETIMES = {
    "access_token": "TTL_ACCESS_TOKEN",
    "refresh_token": "TTL_REFRESH_TOKEN",
    "id_token": "TTL_ID_TOKEN",
    "auth_code": "TTL_AUTH_CODE",
    "login_consent_request": "TTL_LOGIN_CONSENT_REQUEST",
    "device_user_code": "TTL_DEVICE_USER_CODE",
    "device_polling_interval": "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL",
}
TOKEN_STRATEGIES = ("opaque", "jwt")


class HarnessConfigError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid harness configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class HarnessConfig:
    token_strategy: str = "opaque"
    default_user: str | None = None
    interactive: bool = False
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    clients: tuple[dict[str, Any], ...] = ()
    lifetimes: Mapping[str, int] = field(default_factory=dict)  # seconds, keys of LIFETIMES

    def settings_env(self) -> dict[str, str]:
        """The server settings this file sets, as environment names."""
        env = {"STRATEGIES_ACCESS_TOKEN": self.token_strategy}
        for name, seconds in self.lifetimes.items():
            env[LIFETIMES[name]] = f"{seconds}s"
        return env


def load_config(path: str | Path | None) -> HarnessConfig:
    if path is None:
        return HarnessConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessConfigError([f"{path}: cannot read the file: {exc}"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HarnessConfigError([f"{path}: not valid YAML: {exc}"]) from None
    return parse_config({} if document is None else document, source=str(path))


def parse_config(document: Any, source: str = "harness config") -> HarnessConfig:
    if not isinstance(document, dict):
        raise HarnessConfigError([f"{source}: must be a mapping of settings"])
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in document:
        if key not in _FIELDS:
            known = ", ".join(_FIELDS)
            problems.append(f"{source}: unknown setting {key!r} (known: {known})")
    for key, parse in _FIELDS.items():
        if key in document:
            try:
                values[key] = parse(document[key])
            except ValueError as exc:
                problems.append(f"{source}: {key}: {exc}")
    config = HarnessConfig(**values)
    users_parsed = "users" in values or "users" not in document
    if users_parsed and config.default_user is not None and config.default_user not in config.users:
        problems.append(f"{source}: default_user {config.default_user!r} is not one of the users")
    if problems:
        raise HarnessConfigError(problems)
    return config


def _strategy(value: Any) -> str:
    if value not in TOKEN_STRATEGIES:
        raise ValueError(f"must be one of {', '.join(TOKEN_STRATEGIES)}")
    return value


def _subject(value: Any) -> str:
    try:
        return check_subject(value)
    except DecisionError as exc:
        raise ValueError(str(exc)) from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _users(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of subject to claims")
    users = {}
    for subject, claims in value.items():
        subject = _subject(subject if isinstance(subject, str) else str(subject))
        try:
            users[subject] = check_claims({} if claims is None else claims)
        except DecisionError as exc:
            raise ValueError(f"{subject}: {exc}") from None
    return users


def _clients(value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list of client documents (Hydra's client JSON)")
    seen = set()
    for index, document in enumerate(value):
        if not isinstance(document, dict) or not document.get("client_id"):
            raise ValueError(f"[{index}]: a client needs a fixed client_id")
        try:
            # The harness tests apps on the developer's machine or compose network.
            validate_client_document(document, private_hosts=True)
        except InvalidClientMetadata as exc:
            raise ValueError(f"[{index}] {document['client_id']}: {exc}") from None
        if document["client_id"] in seen:
            raise ValueError(f"[{index}]: client_id {document['client_id']!r} appears twice")
        seen.add(document["client_id"])
    return tuple(dict(document) for document in value)


def _lifetimes(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping with keys among {', '.join(LIFETIMES)}")
    lifetimes = {}
    for name, raw in value.items():
        if name not in LIFETIMES:
            raise ValueError(f"unknown lifetime {name!r} (known: {', '.join(LIFETIMES)})")
        lifetimes[name] = seconds_of(raw)
        if lifetimes[name] < 1:
            raise ValueError(f"{name}: must be at least one second")
    return lifetimes


def seconds_of(value: Any) -> int:
    """Seconds from a number or a duration string ("90s", "15m", "1h30m")."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds or a duration such as 15m")
    if isinstance(value, int | float):
        if value < 0 or value != value:
            raise ValueError("must not be negative")
        return int(value)
    if isinstance(value, str):
        try:
            return int(parse_duration(value))
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError("must be a number of seconds or a duration such as 15m")


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "token_strategy": _strategy,
    "default_user": _subject,
    "interactive": _boolean,
    "users": _users,
    "clients": _clients,
    "lifetimes": _lifetimes,
}
