"""Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8).

When a login session ends, every client that received tokens in it and registered a
``backchannel_logout_uri`` is owed a logout token. The debt is written in the same
transaction that ends the session, so a crash loses none; a sender then owns it for a
short lease, posts the token, and deletes it on a 200 (§2.8) or reschedules it: backoff
from 1 s doubling to 30 s, for ``RETRY_FOR`` seconds after the session ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

FIRST_DELAY = 1
MAX_DELAY = 30
RETRY_FOR = 15 * 60  # at least ten minutes of retries, then the client is given up on
# A sender owns a delivery this long: its POST is bounded at 5 s, and the lease must not
# end while it is still waiting (another process would send it a second time).
LEASE_SECONDS = 15
SEND_TIMEOUT = 5.0


@dataclass(frozen=True)
class LogoutDelivery:
    id: str
    client_id: str
    uri: str
    subject: str  # the sub this client knows (pairwise for a pairwise client); may be ""
    sid: str
    created_at: int
    next_attempt_at: int
    give_up_at: int
    attempts: int = 0
    lease_until: int = 0
    last_error: str | None = None

    @classmethod
    def owed(cls, client_id: str, uri: str, subject: str, sid: str, now: int) -> LogoutDelivery:
        """A new delivery, leased to the process that ends the session (it sends at once)."""
        return cls(
            id=uuid.uuid4().hex,
            client_id=client_id,
            uri=uri,
            subject=subject,
            sid=sid,
            created_at=now,
            next_attempt_at=now,
            give_up_at=now + RETRY_FOR,
            lease_until=now + LEASE_SECONDS,
        )

    def after_failure(self, error: str, now: int) -> LogoutDelivery | None:
        """The delivery rescheduled after a failed attempt, or None once retrying would go
        past ``give_up_at``."""
        attempts = self.attempts + 1
        next_at = now + backoff(attempts)
        if next_at > self.give_up_at:
            return None
        return replace(
            self,
            attempts=attempts,
            next_attempt_at=next_at,
            lease_until=0,
            last_error=error[:255],
        )


def backoff(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: 1, 2, 4, 8, 16, 30…"""
    return min(MAX_DELAY, FIRST_DELAY << min(attempts - 1, 8))
