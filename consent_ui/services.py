"""The collaborators the views use, created once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from consent_ui.admin_api import AdminApi
from consent_ui.throttle import LoginThrottle
from consent_ui.users import UserStore


@dataclass(frozen=True)
class Services:
    admin_api: AdminApi  # or anything with the same methods (tests use a fake)
    users: UserStore
    throttle: LoginThrottle
    # Wrong device codes per address (``views/device.py``); the server limits each challenge.
    code_throttle: LoginThrottle | None = None


def services() -> Services:
    """The current app's services (call it inside a request)."""
    return current_app.extensions["consent_ui"]
