"""The device grant's rules (``domain.device``): user codes (RFC 8628 §6.1) and what a
poll of the token endpoint answers (§3.5), as tables of cases."""

from __future__ import annotations

import dataclasses

import pytest

from authserver.domain.device import (
    MAX_FAILED_ATTEMPTS,
    USER_CODE_PRESETS,
    ChallengeState,
    DeviceChallenge,
    DeviceCodeRecord,
    DeviceStatus,
    PollOutcome,
    interval_after,
    new_user_code,
    normalize_user_code,
    poll,
    user_code_digest,
)
from authserver.domain.sessions import GrantSession
from authserver.domain.tokens import OpaqueTokenCodec, TokenKind

NOW = 1_900_000_000

# -- user codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "length", "alphabet"),
    [
        ("high", 8, set("ACDEFGHJKLMNPQRTUVWXY34679")),
        ("medium", 8, set("BCDFGHJKLMNPQRSTVWXZ")),
        ("low", 9, set("0123456789")),
    ],
)
def test_user_codes_follow_the_preset(preset, length, alphabet):
    codes = {new_user_code(preset) for _ in range(200)}
    assert len(codes) > 190  # random
    for code in codes:
        assert len(code) == length and set(code) <= alphabet
        assert normalize_user_code(code) == code


def test_presets_avoid_ambiguous_characters_words_and_lower_case():
    assert not set(USER_CODE_PRESETS["high"].alphabet) & set("0O1IlB8S5Z2")
    assert not set(USER_CODE_PRESETS["medium"].alphabet) & set("AEIOUY")  # RFC 8628 §6.1
    assert USER_CODE_PRESETS["high"].entropy_bits > 37
    assert all(p.alphabet == p.alphabet.upper() for p in USER_CODE_PRESETS.values())


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("WDJB-MJHT", "WDJBMJHT"),
        ("wdjb-mjht", "WDJBMJHT"),
        (" wdjb mjht ", "WDJBMJHT"),
        ("W-D-J-B\tMJHT", "WDJBMJHT"),
        ("123-456-789", "123456789"),
    ],
)
def test_user_codes_are_normalized(typed, normalized):
    assert normalize_user_code(typed) == normalized
    assert user_code_digest(typed) == user_code_digest(normalized)


@pytest.mark.parametrize("typed", ["", "---", "   ", "ÄBCDEFGH", "ABCD\x00EFGH", "A" * 65, "AB/CD"])
def test_input_that_cannot_be_a_user_code_has_no_digest(typed):
    assert user_code_digest(typed) is None


def test_the_device_code_is_an_opaque_token_of_its_own_kind():
    codec = OpaqueTokenCodec([b"k" * 32])
    minted = codec.mint(TokenKind.DEVICE_CODE)
    assert minted.value.startswith("ory_dc_")
    assert codec.verify(minted.value, TokenKind.DEVICE_CODE) == minted.signature_digest
    assert codec.verify(minted.value, TokenKind.AUTHORIZATION_CODE) is None


# -- polls ---------------------------------------------------------------------------------


def record(**fields) -> DeviceCodeRecord:
    values = {
        "signature_digest": "d" * 64,
        "user_code_digest": "u" * 64,
        "request_id": "r",
        "client_id": "device-app",
        "scope": ("openid",),
        "audience": (),
        "status": DeviceStatus.PENDING,
        "requested_at": NOW - 60,
        "expires_at": NOW + 840,
        "interval": 5,
    }
    return DeviceCodeRecord(**{**values, **fields})


GRANT = GrantSession(subject="alice", scope=("openid",), audience=())

POLLS = [
    ("unknown", None, "device-app", PollOutcome.INVALID_GRANT),
    ("other-client", record(), "other-app", PollOutcome.INVALID_GRANT),
    ("pending-first-poll", record(), "device-app", PollOutcome.PENDING),
    ("pending-slow-enough", record(last_polled_at=NOW - 5), "device-app", PollOutcome.PENDING),
    ("pending-too-fast", record(last_polled_at=NOW - 4), "device-app", PollOutcome.SLOW_DOWN),
    (
        "pending-too-fast-for-a-grown-interval",
        record(last_polled_at=NOW - 9, interval=10),
        "device-app",
        PollOutcome.SLOW_DOWN,
    ),
    ("expired", record(expires_at=NOW), "device-app", PollOutcome.EXPIRED),
    (
        "expired-beats-too-fast",
        record(expires_at=NOW, last_polled_at=NOW),
        "device-app",
        PollOutcome.EXPIRED,
    ),
    ("denied", record(status=DeviceStatus.DENIED), "device-app", PollOutcome.DENIED),
    (
        "denied-but-expired",
        record(status=DeviceStatus.DENIED, expires_at=NOW - 1),
        "device-app",
        PollOutcome.EXPIRED,
    ),
    (
        "approved",
        record(status=DeviceStatus.APPROVED, session=GRANT),
        "device-app",
        PollOutcome.ISSUE,
    ),
    (
        "approved-polled-fast-still-issues",
        record(status=DeviceStatus.APPROVED, session=GRANT, last_polled_at=NOW),
        "device-app",
        PollOutcome.ISSUE,
    ),
    (
        "redeemed",
        record(status=DeviceStatus.REDEEMED, session=GRANT),
        "device-app",
        PollOutcome.REPLAYED,
    ),
    (
        "redeemed-and-expired-is-still-a-replay",
        record(status=DeviceStatus.REDEEMED, session=GRANT, expires_at=NOW - 1),
        "device-app",
        PollOutcome.REPLAYED,
    ),
    (
        "redeemed-by-another-client",
        record(status=DeviceStatus.REDEEMED, session=GRANT),
        "other-app",
        PollOutcome.INVALID_GRANT,
    ),
]


@pytest.mark.parametrize(
    ("found", "client_id", "expected"), [p[1:] for p in POLLS], ids=[p[0] for p in POLLS]
)
def test_what_a_poll_answers(found, client_id, expected):
    assert poll(found, client_id, NOW) is expected


@pytest.mark.parametrize(
    ("outcome", "interval"),
    [(PollOutcome.SLOW_DOWN, 10), (PollOutcome.PENDING, 5), (PollOutcome.ISSUE, 5)],
)
def test_slow_down_grows_the_interval_by_five_seconds(outcome, interval):
    assert interval_after(record(), outcome) == interval


def test_a_challenge_dies_after_the_last_allowed_wrong_code():
    challenge = DeviceChallenge(
        id="c",
        challenge_digest="c" * 64,
        csrf_digest="x" * 64,
        state=ChallengeState.OPEN,
        requested_at=NOW,
        expires_at=NOW + 60,
    )
    for attempt in range(1, MAX_FAILED_ATTEMPTS + 1):
        challenge = challenge.failed()
        assert challenge.failed_attempts == attempt
        expected = ChallengeState.DEAD if attempt == MAX_FAILED_ATTEMPTS else ChallengeState.OPEN
        assert challenge.state is expected
    assert dataclasses.replace(challenge).state is ChallengeState.DEAD
