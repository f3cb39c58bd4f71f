"""The retry schedule of back-channel logout deliveries: from 1 s, doubling, capped at
30 s, for at least ten minutes after the session ended."""

from __future__ import annotations

import pytest

from authserver.domain.logout_deliveries import (
    LEASE_SECONDS,
    MAX_DELAY,
    RETRY_FOR,
    SEND_TIMEOUT,
    LogoutDelivery,
    backoff,
)

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (7, 30), (50, 30), (10_000, 30)],
)
def test_backoff(attempts, delay):
    assert backoff(attempts) == delay


def test_a_new_delivery_is_leased_to_its_sender_and_due_now():
    delivery = LogoutDelivery.owed("client", "https://rp.example/bc", "sub", "sid", NOW)
    assert delivery.next_attempt_at == NOW
    assert delivery.lease_until == NOW + LEASE_SECONDS > NOW + SEND_TIMEOUT
    assert delivery.give_up_at - NOW >= 10 * 60
    assert delivery.attempts == 0 and delivery.last_error is None


def test_failures_are_retried_for_at_least_ten_minutes_then_given_up():
    delivery = LogoutDelivery.owed("client", "https://rp.example/bc", "sub", "sid", NOW)
    now, gaps = NOW, []
    while True:
        later = delivery.after_failure("the client answered HTTP 500", now)
        if later is None:
            break
        assert later.lease_until == 0  # free for any process's poller
        assert later.attempts == delivery.attempts + 1
        gaps.append(later.next_attempt_at - now)
        delivery, now = later, later.next_attempt_at
    assert gaps[:6] == [1, 2, 4, 8, 16, 30]
    assert max(gaps) == MAX_DELAY
    assert now - NOW >= 10 * 60  # the last attempt came after ten minutes
    assert now <= NOW + RETRY_FOR


def test_the_last_error_is_kept_short():
    delivery = LogoutDelivery.owed("client", "https://rp.example/bc", "sub", "sid", NOW)
    assert len(delivery.after_failure("x" * 1000, NOW).last_error) == 255
