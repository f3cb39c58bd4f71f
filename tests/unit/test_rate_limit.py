"""``web/rate_limit``: the token bucket per key, its memory bound, and the source address
it is keyed by (behind trusted proxies only)."""

from __future__ import annotations

import threading

import pytest

from authserver.config import load_settings
from authserver.web.rate_limit import RateLimiter, retry_after
from authserver.web.transport import TransportPolicy


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_then_a_wait():
    clock = Clock()
    limiter = RateLimiter(3, period=60, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(20)  # one request earned back every 60/3 s
    assert retry_after(wait) == "20"
    assert limiter.acquire("b") == 0  # other keys are not affected
    clock.now += 10
    assert limiter.acquire("a") == pytest.approx(10)  # a refused request costs nothing
    clock.now += 10
    assert limiter.acquire("a") == 0
    assert limiter.acquire("a") > 0


def test_the_bucket_refills_to_the_limit_and_no_further():
    clock = Clock()
    limiter = RateLimiter(2, period=10, clock=clock)
    limiter.acquire("a")
    limiter.acquire("a")
    clock.now += 3600
    assert [limiter.acquire("a") for _ in range(3)][:2] == [0, 0]
    assert limiter.acquire("a") > 0


def test_retry_after_is_a_whole_number_of_seconds():
    assert retry_after(0.01) == "1"
    assert retry_after(19.2) == "20"


def test_memory_is_bounded_least_recently_used_first():
    clock = Clock()
    limiter = RateLimiter(1, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    assert limiter.acquire("a") > 0  # "a" is now the most recently used
    limiter.acquire("d")  # pushes out "b"
    assert len(limiter) == 3
    assert limiter.acquire("b") == 0  # forgotten: a full bucket again
    assert limiter.acquire("a") > 0


def test_threads_cannot_overspend():
    limiter = RateLimiter(50, period=3600)
    passed = []

    def worker():
        for _ in range(20):
            if limiter.acquire("k") == 0:
                passed.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 50


def test_bad_parameters_are_refused():
    for kwargs in ({"limit": 0}, {"limit": 1, "period": 0}, {"limit": 1, "max_keys": 0}):
        with pytest.raises(ValueError):
            RateLimiter(**kwargs)


PROXY = ["10.0.0.0/8"]


def source_address(environ, trusted) -> str:
    settings = load_settings(
        {"SECRETS_SYSTEM": "x" * 32, "SERVE_TLS_ALLOW_TERMINATION_FROM": ",".join(trusted)}
    )
    return TransportPolicy(settings).source_address(environ)


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "key"),
    [
        ("192.0.2.7", "", PROXY, "192.0.2.7"),
        ("192.0.2.7", "203.0.113.9", PROXY, "192.0.2.7"),  # not a proxy: header ignored
        ("10.0.0.2", "203.0.113.9", PROXY, "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9", [], "10.0.0.2"),  # no proxies trusted
        (
            "10.0.0.2",
            "1.2.3.4, 203.0.113.9, 10.0.0.5",
            PROXY,
            "203.0.113.9",
        ),  # client wrote 1.2.3.4
        ("10.0.0.2", "10.0.0.9", PROXY, "10.0.0.9"),  # all ours: the furthest
        ("10.0.0.2", "", PROXY, "10.0.0.2"),
        ("::ffff:192.0.2.7", "", PROXY, "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "", PROXY, "2001:db8:1:2::/64"),  # one site, one key
        ("2001:db8:1:2::99", "", PROXY, "2001:db8:1:2::/64"),
        ("10.0.0.2", "not-an-address", PROXY, "not-an-address"),
        ("", "", PROXY, ""),
    ],
)
def test_source_address(remote, forwarded, trusted, key):
    environ = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert source_address(environ, trusted) == key


def test_a_garbage_hop_is_bounded():
    environ = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "x" * 1000}
    assert len(source_address(environ, PROXY)) == 64
