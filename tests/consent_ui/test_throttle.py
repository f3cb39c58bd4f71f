"""throttle.LoginThrottle with a fake clock: window, lockout, expiry, reset on success."""

from __future__ import annotations

from consent_ui.throttle import LoginThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **settings) -> LoginThrottle:
    return LoginThrottle(
        **{"max_failures": 3, "window": 60, "lockout": 30, **settings}, clock=clock
    )


def fail(limiter: LoginThrottle, times: int, email="a@x.y", address="1.1.1.1") -> None:
    for _ in range(times):
        limiter.record_failure(email, address)


def test_locks_after_max_failures_and_unlocks_after_the_lockout():
    clock = Clock()
    limiter = throttle(clock)

    fail(limiter, 2)
    assert not limiter.is_locked("a@x.y", "9.9.9.9")
    fail(limiter, 1)
    assert limiter.is_locked("a@x.y", "9.9.9.9")  # the account, from anywhere
    assert limiter.is_locked("b@x.y", "1.1.1.1")  # the address, for any account

    clock.now += 29
    assert limiter.is_locked("a@x.y", "9.9.9.9")
    clock.now += 2
    assert not limiter.is_locked("a@x.y", "9.9.9.9")
    assert not limiter.is_locked("b@x.y", "1.1.1.1")


def test_failures_older_than_the_window_do_not_count():
    clock = Clock()
    limiter = throttle(clock)

    fail(limiter, 2)
    clock.now += 61
    fail(limiter, 2)

    assert not limiter.is_locked("a@x.y", "1.1.1.1")


def test_emails_are_counted_case_insensitively():
    limiter = throttle(Clock())

    for email in ("A@x.y", "a@X.y", " a@x.y "):
        limiter.record_failure(email, "10.0.0." + str(len(email)))

    assert limiter.is_locked("a@x.y", "8.8.8.8")


def test_success_resets_the_account_but_not_the_address():
    limiter = throttle(Clock())

    fail(limiter, 2)
    limiter.record_success("a@x.y")
    fail(limiter, 1, address="2.2.2.2")
    assert not limiter.is_locked("a@x.y", "3.3.3.3")

    fail(limiter, 1, email="c@x.y")  # the address's third failure
    assert limiter.is_locked("d@x.y", "1.1.1.1")


def test_old_entries_are_forgotten():
    clock = Clock()
    limiter = throttle(clock)
    for number in range(50):
        limiter.record_failure(f"user{number}@x.y", f"10.0.{number}.1")

    clock.now += 3600
    limiter.record_failure("last@x.y", "10.9.9.9")

    assert len(limiter._failures) == 2
