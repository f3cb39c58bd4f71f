"""A password check behind the login throttle, shared by ``/login`` and ``/apps``.

Both pages take an email and a password, so both must be slowed down the same way: the
throttle (``throttle.py``) is asked first, and a refused attempt never reaches the password.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from flask import request

from consent_ui.services import services
from consent_ui.users import User

log = logging.getLogger(__name__)

# One message for every failure: it must not tell a wrong email from a wrong password.
WRONG_CREDENTIALS = "The email or password is incorrect."
TOO_MANY = "Too many failed attempts. Wait {} second{}, then try again."


@dataclass(frozen=True)
class Attempt:
    user: User | None = None  # who signed in, or None
    wait: float = 0.0  # > 0: refused by the throttle; the password was not checked

    @property
    def retry_after(self) -> int:
        """The wait in whole seconds, rounded up (for ``Retry-After``)."""
        return math.ceil(self.wait)

    def message(self) -> str:
        if self.wait:
            seconds = self.retry_after
            return TOO_MANY.format(seconds, "" if seconds == 1 else "s")
        return "" if self.user else WRONG_CREDENTIALS


def check_password(email: str, password: str, device: str = "") -> Attempt:
    """``device``: the id of a valid device cookie for ``email`` (``devices.py``), or ""."""
    address = request.remote_addr or "unknown"  # a proxy's? see CONSENT_UI_TRUSTED_PROXIES
    throttle = services().throttle
    wait = throttle.retry_after(email, address, device)
    if wait:
        log.warning("sign-in refused without checking: too many recent failures")
        return Attempt(wait=wait)
    user = services().users.authenticate(email, password)
    if user is None:
        throttle.record_failure(email, address, device)
        log.info("sign-in failed: wrong email or password")
        return Attempt()
    throttle.record_success(email, address, device)
    return Attempt(user=user)
