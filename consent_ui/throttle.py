"""Slow down password guessing without letting anyone lock a user out of their account.

The rules follow OWASP's Authentication and Credential Stuffing cheat sheets. Every rule
is checked before the password, so a lucky guess during a wait is worth nothing:

| who is trying                         | counted per           | after too many failures |
| ------------------------------------- | --------------------- | ----------------------- |
| a browser with a device cookie for it | that device cookie    | that device is locked   |
| anyone else                           | account + address     | that pair is locked     |
| anyone else                           | address (any account) | that address is locked  |
| anyone else                           | account (any address) | a growing wait (below)  |

The growing wait: after ``max_failures`` failures on an account, each attempt from a
source it does not trust waits 1 s, then 2 s, 4 s ... up to ``max_delay`` after the last.

So an attacker hammering ``foo@bar.com`` from one address locks out only itself, and
slows down other strangers trying that account by at most ``max_delay`` seconds; the
owner, logging in from a browser that logged in before (its device cookie, see
``devices.py``), is counted on their own and never waits for the attacker. Nothing ever
sleeps: a refused attempt is told how long to wait (``retry_after``) and the view answers
429 at once.

A success forgets the failures of that device, or of that account + address pair, and
nothing else: one valid password must not let an address keep guessing at other accounts,
nor reset the slowdown an attack on the account has built up.

The counts live in this process's memory, at most ``max_keys`` of them (the oldest are
forgotten first). That is right for one process; with several processes or machines each
would count on its own, so keep the counts in a shared store (Redis, your database) behind
the same three methods instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST_DELAY = 1.0  # seconds, doubled with every further failure on the account
CLEANUP_EVERY = 60.0  # seconds between sweeps of expired entries


@dataclass
class _Entry:
    failures: list[float] = field(default_factory=list)  # times of recent failures
    locked_until: float = 0.0
    last_attempt: float = 0.0  # the account's last attempt let through (delays count from it)


def account_key(email: str) -> str:
    """An account as counted here (and named in device cookies): the email, normalised."""
    return email.strip().casefold()


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 15 * 60,
        lockout: float = 5 * 60,
        address_max_failures: int = 20,
        max_delay: float = 60,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        # Per device and per account + address; per account, where the delays start.
        self.max_failures = max_failures
        self.window = window  # failures older than this are forgotten
        self.lockout = lockout
        self.address_max_failures = address_max_failures  # higher: many users share a NAT
        self.max_delay = max_delay
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()  # oldest failure first
        self._next_cleanup = 0.0

    def retry_after(self, email: str, address: str, device: str = "") -> float:
        """Seconds to wait before this attempt may check a password; 0 means go ahead.

        ``device`` is the id of a valid device cookie for this account, or "". An attempt let
        through on a slowed-down account takes that account's turn, so parallel requests
        cannot all slip through the same gap."""
        now = self.clock()
        with self._lock:
            counters = self._counters(email, address, device)
            waits = [self._locked_for(key, now) for key, _ in counters]
            account = None if device else self._entries.get(("account", account_key(email)))
            if account is not None:
                waits.append(self._delayed_for(account, now))
            wait = max(waits)
            if wait == 0 and account is not None:
                account.last_attempt = now
            return wait

    def record_failure(self, email: str, address: str, device: str = "") -> None:
        now = self.clock()
        with self._lock:
            self._forget_old(now)
            for key, limit in self._counters(email, address, device):
                entry = self._touch(key, now)
                if len(entry.failures) >= limit:
                    entry.locked_until = now + self.lockout
                    entry.failures = []
            if not device:
                self._touch(("account", account_key(email)), now).last_attempt = now

    def record_success(self, email: str, address: str, device: str = "") -> None:
        key = ("device", device) if device else ("pair", account_key(email), address)
        with self._lock:
            self._entries.pop(key, None)

    # -- plumbing ------------------------------------------------------------------------

    def _counters(self, email: str, address: str, device: str) -> list[tuple[tuple, int]]:
        """The lockout counters an attempt is checked against, each with its limit."""
        if device:
            return [(("device", device), self.max_failures)]
        return [
            (("pair", account_key(email), address), self.max_failures),
            (("address", address), self.address_max_failures),
        ]

    def _locked_for(self, key: tuple, now: float) -> float:
        entry = self._entries.get(key)
        return max(0.0, entry.locked_until - now) if entry else 0.0

    def _delayed_for(self, account: _Entry, now: float) -> float:
        excess = len(self._recent(account, now)) - self.max_failures
        if excess < 0:
            return 0.0
        delay = min(self.max_delay, FIRST_DELAY * 2 ** min(excess, 32))
        return max(0.0, account.last_attempt + delay - now)

    def _touch(self, key: tuple, now: float) -> _Entry:
        """The entry for ``key`` with one more failure, now the newest; evicts the oldest."""
        entry = self._entries.pop(key, None) or _Entry()
        entry.failures = self._recent(entry, now) + [now]
        self._entries[key] = entry
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return entry

    def _recent(self, entry: _Entry, now: float) -> list[float]:
        return [moment for moment in entry.failures if now - moment < self.window]

    def _forget_old(self, now: float) -> None:
        """Drop the entries that no longer slow anyone down (at most once a minute)."""
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + CLEANUP_EVERY
        stale = [
            key
            for key, entry in self._entries.items()
            if entry.locked_until <= now and not self._recent(entry, now)
        ]
        for key in stale:
            del self._entries[key]
