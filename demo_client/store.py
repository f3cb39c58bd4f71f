"""Per-browser state, kept in this process's memory.

The browser holds only a random id, inside this app's signed session cookie
(``demo_client_session_<port>``); the pending authorization requests, the tokens and the flow
inspector's steps stay on the server. This is a demo: one process, and a restart forgets
everyone (a real client would keep this in a database or an encrypted cookie).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from demo_client.id_token import IdTokenResult
from demo_client.inspector import Step
from demo_client.oauth import LoginOptions, PendingAuthorization, PendingDevice

MAX_BROWSERS = 1000
IDLE_SECONDS = 8 * 3600
MAX_PENDING = 5  # open login attempts per browser (several tabs)
PENDING_SECONDS = 30 * 60
MAX_STEPS = 200


@dataclass
class BrowserState:
    id: str
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    pending_logout: dict[str, float] = field(default_factory=dict)
    device: PendingDevice | None = None  # a device login in progress (RFC 8628)
    device_error: Exception | None = None  # how the last one ended, for a JS poller
    tokens: dict | None = None
    options: LoginOptions | None = None  # how the tokens' login was made (PAR, DPoP, resource)
    id_token: IdTokenResult | None = None
    first_claims: dict | None = None  # the first ID token's claims (refresh checks, §12.2)
    userinfo: dict | None = None
    userinfo_error: str = ""
    introspection: list[tuple[str, dict | None]] = field(default_factory=list)
    rotation: dict | None = None
    api_answer: dict | None = None  # the last call of /api/profile: status, challenges, body
    exchange: dict | None = None  # the last token exchange (RFC 8693), for display only
    revoked: str = ""
    message: str = ""
    ended: Step | None = None  # the back- or front-channel logout that ended this session
    steps: list[Step] = field(default_factory=list)
    last_seen: float = field(default_factory=time.time)

    def add_pending(self, pending: PendingAuthorization) -> None:
        now = time.time()
        for state in [s for s, p in self.pending.items() if now - p.created_at > PENDING_SECONDS]:
            del self.pending[state]
        while len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]
        self.pending[pending.state] = pending

    def take_pending(self, state: str) -> PendingAuthorization | None:
        """The request this state belongs to, once (a state is single-use)."""
        pending = self.pending.pop(state, None) if state else None
        if pending and time.time() - pending.created_at > PENDING_SECONDS:
            return None
        return pending

    def record(self, *steps: Step) -> None:
        self.steps.extend(steps)
        del self.steps[:-MAX_STEPS]

    def end_session(self, step: Step) -> None:
        """The authorization server ended this login (back- or front-channel logout): the
        tokens go as on a local logout; ``step`` says how, for the inspector and the next
        page. A logout this app started stays pending, so that its return still checks."""
        self.forget_tokens()
        self.record(step)
        self.ended = step
        self.message = ""

    def forget_tokens(self) -> None:
        self.tokens = None
        self.options = None
        self.id_token = None
        self.first_claims = None
        self.userinfo = None
        self.userinfo_error = ""
        self.introspection = []
        self.rotation = None
        self.api_answer = None
        self.exchange = None
        self.revoked = ""


class SessionStore:
    """Thread-safe map of browser id → BrowserState, bounded and expiring."""

    def __init__(self, max_browsers: int = MAX_BROWSERS, idle_seconds: float = IDLE_SECONDS):
        self._states: OrderedDict[str, BrowserState] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_browsers
        self._idle = idle_seconds

    def create(self) -> BrowserState:
        state = BrowserState(secrets.token_urlsafe(24))
        with self._lock:
            self._expire()
            self._states[state.id] = state
            while len(self._states) > self._max:
                self._states.popitem(last=False)
        return state

    def get(self, browser_id: str | None) -> BrowserState | None:
        if not browser_id:
            return None
        with self._lock:
            self._expire()
            state = self._states.get(browser_id)
            if state is not None:
                state.last_seen = time.time()
                self._states.move_to_end(browser_id)
            return state

    def states(self) -> list[BrowserState]:
        """A snapshot of every browser's state (the caller locks each one it changes)."""
        with self._lock:
            self._expire()
            return list(self._states.values())

    def drop(self, browser_id: str) -> None:
        with self._lock:
            self._states.pop(browser_id, None)

    def __len__(self) -> int:
        return len(self._states)

    def _expire(self) -> None:
        cutoff = time.time() - self._idle
        while self._states:
            oldest = next(iter(self._states.values()))
            if oldest.last_seen >= cutoff:
                break
            self._states.popitem(last=False)
