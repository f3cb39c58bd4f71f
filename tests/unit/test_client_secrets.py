"""Client secret hashing (argon2id) and the in-process verification cache."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from authserver.domain.client_secrets import ClientSecretHasher

SECRET = "correct-horse-battery-staple"


class CountingHasher(PasswordHasher):
    """A fast argon2 hasher that counts how often the expensive ``verify`` runs."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verify_calls = 0

    def verify(self, hash, password):
        self.verify_calls += 1
        return super().verify(hash, password)


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def argon() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher(argon, clock) -> ClientSecretHasher:
    return ClientSecretHasher(argon, cache_size=16, cache_ttl=60.0, clock=clock)


def test_hash_is_argon2_and_not_the_secret(hasher):
    stored = hasher.hash(SECRET)
    assert stored.startswith("$argon2")
    assert SECRET not in stored
    assert hasher.hash(SECRET) != stored  # salted


def test_correct_secret_verifies(hasher):
    assert hasher.verify(hasher.hash(SECRET), SECRET) is True


@pytest.mark.parametrize(
    "wrong", ["wrong", SECRET + "x", SECRET[:-1], SECRET.upper(), " " + SECRET]
)
def test_wrong_secret_fails(hasher, wrong):
    assert hasher.verify(hasher.hash(SECRET), wrong) is False


def test_second_verification_is_served_from_cache(hasher, argon):
    stored = hasher.hash(SECRET)
    assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 1
    for _ in range(5):
        assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 1


def test_failures_are_never_cached(hasher, argon):
    stored = hasher.hash(SECRET)
    for attempt in range(1, 4):
        assert hasher.verify(stored, "guess") is False
        assert argon.verify_calls == attempt


def test_cached_success_does_not_accept_a_wrong_secret(hasher, argon):
    stored = hasher.hash(SECRET)
    assert hasher.verify(stored, SECRET) is True
    assert hasher.verify(stored, "guess") is False
    assert argon.verify_calls == 2


def test_rotated_secret_does_not_hit_old_cache_entry(hasher, argon):
    old_hash = hasher.hash(SECRET)
    assert hasher.verify(old_hash, SECRET) is True
    new_hash = hasher.hash("the-new-client-secret")
    # The old secret against the new hash must go to argon2 and fail.
    assert hasher.verify(new_hash, SECRET) is False
    assert argon.verify_calls == 2
    assert hasher.verify(new_hash, "the-new-client-secret") is True
    assert argon.verify_calls == 3


def test_same_secret_rehashed_is_a_new_cache_entry(hasher, argon):
    first = hasher.hash(SECRET)
    second = hasher.hash(SECRET)
    assert hasher.verify(first, SECRET) is True
    assert hasher.verify(second, SECRET) is True
    assert argon.verify_calls == 2


def test_entries_expire_after_ttl(hasher, argon, clock):
    stored = hasher.hash(SECRET)
    assert hasher.verify(stored, SECRET) is True
    clock.now += 59.0
    assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 1
    clock.now += 1.5  # past the 60 s lifetime of the first verification
    assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 2
    clock.now += 30.0  # the fresh entry is cached again
    assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 2


def test_hits_do_not_extend_lifetime(hasher, argon, clock):
    stored = hasher.hash(SECRET)
    hasher.verify(stored, SECRET)
    for _ in range(5):
        clock.now += 10.0
        assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 1
    clock.now += 20.0  # 70 s after the argon2 check, 20 s after the last hit
    assert hasher.verify(stored, SECRET) is True
    assert argon.verify_calls == 2


def test_lru_bound(argon, clock):
    hasher = ClientSecretHasher(argon, cache_size=2, cache_ttl=600.0, clock=clock)
    pairs = [(hasher.hash(f"secret-{n}"), f"secret-{n}") for n in range(3)]
    for stored, secret in pairs:
        assert hasher.verify(stored, secret) is True
    assert argon.verify_calls == 3
    # The two most recent are cached; the first was evicted.
    assert hasher.verify(*pairs[2]) is True
    assert hasher.verify(*pairs[1]) is True
    assert argon.verify_calls == 3
    assert hasher.verify(*pairs[0]) is True
    assert argon.verify_calls == 4


def test_lru_keeps_recently_used_entries(argon, clock):
    hasher = ClientSecretHasher(argon, cache_size=2, cache_ttl=600.0, clock=clock)
    a, b, c = [(hasher.hash(f"secret-{n}"), f"secret-{n}") for n in range(3)]
    hasher.verify(*a)
    hasher.verify(*b)
    hasher.verify(*a)  # cache hit: a becomes the most recently used
    assert argon.verify_calls == 2
    hasher.verify(*c)  # evicts b, the least recently used
    assert argon.verify_calls == 3
    hasher.verify(*a)
    assert argon.verify_calls == 3
    hasher.verify(*b)
    assert argon.verify_calls == 4


@pytest.mark.parametrize(
    ("stored", "presented"),
    [
        (None, SECRET),
        ("", SECRET),
        ("HASH", None),
        ("HASH", ""),
        (None, None),
        ("", ""),
    ],
)
def test_empty_inputs_return_false(hasher, argon, stored, presented):
    if stored == "HASH":
        stored = hasher.hash(SECRET)
    assert hasher.verify(stored, presented) is False
    assert argon.verify_calls == 0


@pytest.mark.parametrize(
    "stored",
    [
        "not-a-hash",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$garbage",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$",
        "$2b$12$abcdefghijklmnopqrstuuYzbb5Q5Wqz6f5Yb1ybyZ7b5N5xXq1Ou",
        "plain-text-secret",
    ],
)
def test_invalid_stored_hash_returns_false(hasher, stored):
    assert hasher.verify(stored, SECRET) is False
    assert hasher.verify(stored, stored) is False


@pytest.mark.parametrize(
    ("stored", "presented"),
    [("é" * 20, SECRET), (None, "\ud800"), ("$argon2id$\ud800", SECRET)],
)
def test_unreadable_text_returns_false_not_an_exception(hasher, stored, presented):
    stored = stored if stored is not None else hasher.hash(SECRET)
    assert hasher.verify(stored, presented) is False


def test_truncated_hash_returns_false(hasher):
    stored = hasher.hash(SECRET)
    assert hasher.verify(stored[:-4], SECRET) is False


def test_non_ascii_secret(hasher):
    secret = "pässwörd-秘密-🔑"
    stored = hasher.hash(secret)
    assert hasher.verify(stored, secret) is True
    assert hasher.verify(stored, secret) is True
    assert hasher.verify(stored, "passwort-秘密-🔑") is False


def test_default_hasher():
    hasher = ClientSecretHasher()
    stored = hasher.hash(SECRET)
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored  # OWASP parameters
    assert hasher.verify(stored, SECRET) is True
    assert hasher.verify(stored, "wrong-secret") is False


def test_the_configured_cost_is_used_and_other_costs_still_verify():
    from authserver.domain.client_secrets import DEFAULT_HASHER, argon2_hasher

    assert argon2_hasher(19 * 1024, 2) is DEFAULT_HASHER
    cheap = ClientSecretHasher(argon2_hasher(64, 1))
    stored = cheap.hash("s3cret-value")
    assert "m=64,t=1,p=1" in stored
    # A hash made under the default cost verifies with a cheaper configured cost.
    assert cheap.verify(ClientSecretHasher().hash("other-secret"), "other-secret")
