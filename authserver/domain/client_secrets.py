"""Client secrets: argon2id at rest, and a verification cache so the hash stays off the hot path.

The problem (Hydra issues #168, #1477, #1478): a slow password hash on every token request
caps client-credentials throughput at a few hundred requests per second per core. Dropping
the hash is no answer either: a leaked database would then hand out every client secret.

The design:

* At rest, a secret is an argon2id hash (RFC 9106; OWASP's parameters m=19 MiB, t=2, p=1,
  about 20-30 ms here). A copy of the database reveals no usable secret.
* After a presented secret verified against a stored hash once, the pair is remembered for
  ``ttl`` seconds in a small in-process LRU. Its key is HMAC-SHA256 under a random key made
  at process start, over (stored hash, presented secret): the cache never holds a secret,
  and its entries are useless outside this process.
* The stored hash is part of the key, so changing or rotating a client's secret (a new
  hash) or deleting the client makes old entries unreachable at once, on every process.
* Only successes are cached. A wrong secret always pays the full argon2 cost, so guessing
  stays as slow as argon2 makes it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEFAULT_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


def argon2_hasher(memory_kib: int, iterations: int) -> PasswordHasher:
    """argon2id with the configured cost (``OAUTH2_HASHERS_ARGON2_*``). A stored hash keeps
    its own parameters, so hashes made under another cost still verify."""
    if (memory_kib, iterations) == (19 * 1024, 2):
        return DEFAULT_HASHER
    return PasswordHasher(time_cost=iterations, memory_cost=memory_kib, parallelism=1, type=Type.ID)


class ClientSecretHasher:
    def __init__(
        self,
        hasher: PasswordHasher = DEFAULT_HASHER,
        cache_size: int = 4096,
        cache_ttl: float = 600.0,
        clock=time.monotonic,
    ):
        self._hasher = hasher
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._clock = clock
        self._cache_key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        # Each argon2 computation holds 19 MiB: a burst of requests with unknown (or
        # wrong) secrets on every thread at once would otherwise multiply that by the
        # thread count. One per core keeps the cores busy and the memory bounded.
        self._hashing = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

    def hash(self, secret: str) -> str:
        with self._hashing:
            return self._hasher.hash(secret)

    def verify(self, stored_hash: str | None, presented: str) -> bool:
        """True if ``presented`` is the secret behind ``stored_hash``."""
        if not stored_hash or not presented:
            return False
        key = hmac.new(
            self._cache_key,
            stored_hash.encode("utf-8", "surrogatepass")
            + b"\x00"
            + presented.encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        ).digest()
        now = self._clock()
        with self._lock:
            expiry = self._verified.get(key)
            if expiry is not None:
                if expiry > now:
                    self._verified.move_to_end(key)
                    return True
                del self._verified[key]
        try:
            with self._hashing:
                self._hasher.verify(stored_hash, presented)
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeError, ValueError):
            # ValueError/UnicodeError: a stored hash or secret that is not even text argon2
            # can read (e.g. a lone surrogate) is simply not a match.
            return False
        with self._lock:
            self._verified[key] = now + self._cache_ttl
            self._verified.move_to_end(key)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return True
