"""throttle.LoginThrottle with a fake clock: who is locked, who only waits, and for how long."""

from __future__ import annotations

import threading

import pytest

from consent_ui.throttle import LoginThrottle
from tests.consent_ui.conftest import Clock

ACCOUNT = "a@x.y"
ATTACKER = "203.0.113.7"
OWNER = "198.51.100.1"


def throttle(clock: Clock, **settings) -> LoginThrottle:
    defaults = {"max_failures": 3, "window": 60, "lockout": 30, "address_max_failures": 5}
    return LoginThrottle(**{**defaults, **settings}, clock=clock)


def fail(limiter: LoginThrottle, times: int, email=ACCOUNT, address=ATTACKER, device="") -> None:
    for _ in range(times):
        assert limiter.retry_after(email, address, device) == 0
        limiter.record_failure(email, address, device)


def test_the_pair_is_locked_for_the_lockout_and_only_the_pair():
    clock = Clock()
    limiter = throttle(clock)

    fail(limiter, 3)

    assert limiter.retry_after(ACCOUNT, ATTACKER) == 30
    assert limiter.retry_after("b@x.y", ATTACKER) == 0  # the address tried 3 of its 5
    clock.now += 29
    assert limiter.retry_after(ACCOUNT, ATTACKER) == 1
    clock.now += 1
    assert limiter.retry_after(ACCOUNT, ATTACKER) == 0


def test_the_account_is_never_locked_only_slowed_down_for_other_sources():
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, 3)

    assert limiter.retry_after(ACCOUNT, OWNER) == 1  # not 30: a delay, not a lockout
    assert limiter.retry_after(ACCOUNT, OWNER, device="owner-device") == 0
    clock.now += 1
    assert limiter.retry_after(ACCOUNT, OWNER) == 0


@pytest.mark.parametrize(
    ("failures", "delay"), [(2, 0), (3, 1), (4, 2), (5, 4), (6, 8), (8, 32), (9, 60), (40, 60)]
)
def test_delays_double_with_each_failure_up_to_the_cap(failures, delay):
    clock = Clock()
    limiter = throttle(clock, max_delay=60, window=10**6)
    for number in range(failures):  # spraying: each from its own address
        address = f"10.0.{number // 250}.{number % 250}"
        clock.now += 100  # more than any delay: every attempt is let through
        fail(limiter, 1, address=address)

    assert limiter.retry_after(ACCOUNT, OWNER) == delay


def test_an_attempt_let_through_takes_the_accounts_turn():
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, 3)
    clock.now += 1

    assert limiter.retry_after(ACCOUNT, "10.0.0.1") == 0  # its turn: checking the password
    assert limiter.retry_after(ACCOUNT, "10.0.0.2") == 1  # a parallel attempt waits


def test_a_refused_attempt_does_not_make_the_wait_longer():
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, 3)

    for _ in range(9):
        assert limiter.retry_after(ACCOUNT, "10.0.0.9") > 0
        clock.now += 0.1
    clock.now = 1001  # one second after the last failure, as if nobody had asked since
    assert limiter.retry_after(ACCOUNT, OWNER) == 0


def test_the_address_is_locked_after_failures_on_many_accounts():
    limiter = throttle(Clock())
    for number in range(5):
        fail(limiter, 1, email=f"user{number}@x.y")

    assert limiter.retry_after("anyone@x.y", ATTACKER) == 30
    assert limiter.retry_after("anyone@x.y", OWNER) == 0


def test_a_device_is_counted_on_its_own():
    limiter = throttle(Clock())
    fail(limiter, 3, device="d1")

    assert limiter.retry_after(ACCOUNT, OWNER, device="d1") == 30  # that device is locked
    assert limiter.retry_after(ACCOUNT, OWNER, device="d2") == 0
    assert limiter.retry_after(ACCOUNT, OWNER) == 0  # neither the account nor the address


def test_failures_older_than_the_window_do_not_count():
    clock = Clock()
    limiter = throttle(clock)

    fail(limiter, 2)
    clock.now += 61
    fail(limiter, 2)

    assert limiter.retry_after(ACCOUNT, ATTACKER) == 0
    assert limiter.retry_after(ACCOUNT, OWNER) == 0


def test_emails_are_counted_case_insensitively():
    limiter = throttle(Clock())

    for email in ("A@x.y", "a@X.y", " a@x.y "):
        limiter.record_failure(email, ATTACKER)

    assert limiter.retry_after("a@x.y", ATTACKER) == 30


def test_success_forgets_that_pair_or_device_only():
    clock = Clock()
    limiter = throttle(clock, max_delay=1)
    fail(limiter, 2)
    fail(limiter, 2, device="d1")

    limiter.record_success(ACCOUNT, ATTACKER)
    limiter.record_success(ACCOUNT, OWNER, device="d1")

    for device in ("d1", "d1", "", ""):  # two more each: three would have locked them
        clock.now += 1
        fail(limiter, 1, device=device)
    assert limiter.retry_after(ACCOUNT, "10.1.1.1") > 0  # the account keeps its count
    fail(limiter, 1, email="c@x.y")  # the address's fifth failure, on another account
    assert limiter.retry_after("d@x.y", ATTACKER) == 30


def test_memory_is_bounded_by_evicting_the_oldest():
    limiter = throttle(Clock(), max_keys=100)
    for number in range(1000):
        limiter.record_failure(f"user{number}@x.y", f"10.0.{number // 250}.{number % 250}")

    assert len(limiter._entries) == 100
    assert ("account", "user999@x.y") in limiter._entries
    assert ("account", "user0@x.y") not in limiter._entries


def test_old_entries_are_forgotten():
    clock = Clock()
    limiter = throttle(clock)
    for number in range(50):
        limiter.record_failure(f"user{number}@x.y", f"10.0.{number}.1")

    clock.now += 3600
    limiter.record_failure("last@x.y", "10.9.9.9")

    assert len(limiter._entries) == 3  # the last failure's pair, address and account


def test_parallel_failures_are_all_counted():
    limiter = throttle(Clock(), max_failures=10**6, address_max_failures=10**6)

    def hammer():
        for _ in range(200):
            limiter.record_failure(ACCOUNT, ATTACKER)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(limiter._entries[("pair", ACCOUNT, ATTACKER)].failures) == 1600
