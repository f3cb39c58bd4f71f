"""The device authorization grant (RFC 8628) as records and rules. No I/O.

A device code moves through four states, each change a compare-and-set in storage:

    PENDING ──the user approved (consent accepted)──▶ APPROVED ──the device redeemed it──▶ REDEEMED
    PENDING ──the user rejected the login or the consent──▶ DENIED

The device code itself is an opaque token (``ory_dc_``, see ``domain.tokens``); its user
code (RFC 8628 §6.1) is short, typed by a person, and stored, like every secret here, as a
digest only. A user code is accepted once: ``user_code_used`` marks it taken by a device
challenge (a browser on the verification page), so a second browser cannot claim it.

``poll`` is the token endpoint's decision table: what a poll of a device code answers,
given the code's state, its expiry and how fast the device polls (RFC 8628 §3.5).
"""

from __future__ import annotations

import enum
import hashlib
import math
import secrets
from dataclasses import dataclass, replace

from authserver.domain.sessions import GrantSession

# RFC 8628 §3.5: "slow_down ... the interval MUST be increased by 5 seconds".
SLOW_DOWN_SECONDS = 5
# A user code longer than this is not one of ours: refused before any hashing.
MAX_USER_CODE_INPUT = 64


class DeviceStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REDEEMED = "redeemed"


# -- user codes (RFC 8628 §6.1) ----------------------------------------------------------


@dataclass(frozen=True)
class UserCodePreset:
    length: int
    alphabet: str

    @property
    def entropy_bits(self) -> float:
        return self.length * math.log2(len(self.alphabet))


# Hydra's presets (driver/config/provider.go), upper-cased because input is
# case-insensitive: "high" is Hydra's unambiguous alphabet (no 0 O 1 I l B 8 S 5 Z 2)
# without its lower-case half; "medium" is RFC 8628 §6.1's consonants (no vowels, so no
# words); "low" is digits only.
USER_CODE_PRESETS = {
    "high": UserCodePreset(8, "ACDEFGHJKLMNPQRTUVWXY34679"),
    "medium": UserCodePreset(8, "BCDFGHJKLMNPQRSTVWXZ"),
    "low": UserCodePreset(9, "0123456789"),
}


def new_user_code(preset: str) -> str:
    chosen = USER_CODE_PRESETS[preset]
    return "".join(secrets.choice(chosen.alphabet) for _ in range(chosen.length))


def normalize_user_code(text: str) -> str:
    """What a person typed, as the code was issued: upper case, without the dashes and
    white space people add for readability (RFC 8628 §6.1)."""
    return "".join(ch for ch in text.upper() if ch != "-" and not ch.isspace())


def user_code_digest(text: str) -> str | None:
    """The stored form of a user code; None for input that cannot be one."""
    if not isinstance(text, str) or len(text) > MAX_USER_CODE_INPUT:
        return None
    normalized = normalize_user_code(text)
    if not normalized or not normalized.isascii() or not normalized.isalnum():
        return None
    return hashlib.sha256(normalized.encode("ascii")).hexdigest()


# -- the device code ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCodeRecord:
    signature_digest: str  # of the device code (an opaque ory_dc_ token)
    user_code_digest: str
    request_id: str  # every token issued for this device code shares it
    client_id: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    status: DeviceStatus
    requested_at: int
    expires_at: int
    interval: int  # seconds the device must wait between polls (grows on slow_down)
    last_polled_at: int | None = None
    user_code_used: bool = False
    session: GrantSession | None = None  # the granted session, once approved

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at

    def approved(self, session: GrantSession, request_id: str) -> DeviceCodeRecord:
        """Approved in the flow ``request_id``: the tokens are issued in its name, so that
        revoking the consent (or the janitor) finds them as those of any other flow."""
        return replace(self, status=DeviceStatus.APPROVED, session=session, request_id=request_id)

    def denied(self) -> DeviceCodeRecord:
        return replace(self, status=DeviceStatus.DENIED)


class PollOutcome(enum.Enum):
    """What a poll of the token endpoint answers (RFC 8628 §3.5)."""

    INVALID_GRANT = "invalid_grant"  # unknown, another client's, or already redeemed
    REPLAYED = "replayed"  # redeemed before: invalid_grant, and the grant is revoked
    EXPIRED = "expired_token"
    DENIED = "access_denied"
    SLOW_DOWN = "slow_down"
    PENDING = "authorization_pending"
    ISSUE = "issue"  # approved: redeem it (compare-and-set) and issue the tokens


# What an unexpired code of the polling client answers, by its status (the rows before
# it in ``poll``: an unknown or foreign code, a redeemed one, an expired one).
_STATUS_OUTCOMES = {
    DeviceStatus.REDEEMED: PollOutcome.REPLAYED,
    DeviceStatus.DENIED: PollOutcome.DENIED,
    DeviceStatus.APPROVED: PollOutcome.ISSUE,
    DeviceStatus.PENDING: PollOutcome.PENDING,
}


def poll(record: DeviceCodeRecord | None, client_id: str, now: int) -> PollOutcome:
    """The answer to a poll at ``now`` by ``client_id`` (before recording the poll)."""
    if record is None or record.client_id != client_id:
        return PollOutcome.INVALID_GRANT
    if record.status is DeviceStatus.REDEEMED:
        return PollOutcome.REPLAYED
    if record.is_expired(now):
        return PollOutcome.EXPIRED
    outcome = _STATUS_OUTCOMES[record.status]
    if outcome is PollOutcome.PENDING and polled_too_fast(record, now):
        return PollOutcome.SLOW_DOWN
    return outcome


def polled_too_fast(record: DeviceCodeRecord, now: int) -> bool:
    return record.last_polled_at is not None and now - record.last_polled_at < record.interval


def interval_after(record: DeviceCodeRecord, outcome: PollOutcome) -> int:
    """The interval the device must keep from now on."""
    if outcome is PollOutcome.SLOW_DOWN:
        return record.interval + SLOW_DOWN_SECONDS
    return record.interval


# -- the device challenge (a browser at the verification page) ---------------------------

# Wrong user codes one challenge may take before it is dead (the browser starts again),
# and one browser (its device CSRF cookie) within TTL_LOGIN_CONSENT_REQUEST before it may
# start no new challenge. A browser that drops its cookies is bounded by the first
# number per challenge and by the cost of a round trip per challenge; the user code's
# entropy (USER_CODE_PRESETS) against the codes alive at once does the rest.
MAX_FAILED_ATTEMPTS = 5
MAX_BROWSER_FAILURES = 20


class ChallengeState(enum.IntEnum):
    OPEN = 1  # waiting for the user code
    ACCEPTED = 2  # a user code was accepted: the verifier is out
    DONE = 3  # the verifier was redeemed: a login flow runs
    DEAD = 4  # too many wrong user codes


@dataclass(frozen=True)
class DeviceChallenge:
    id: str
    challenge_digest: str
    csrf_digest: str
    state: ChallengeState
    requested_at: int
    expires_at: int
    failed_attempts: int = 0
    verifier_digest: str | None = None
    device_signature_digest: str | None = None  # the device code whose user code it took

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at

    def failed(self) -> DeviceChallenge:
        attempts = self.failed_attempts + 1
        state = ChallengeState.DEAD if attempts >= MAX_FAILED_ATTEMPTS else self.state
        return replace(self, failed_attempts=attempts, state=state)
