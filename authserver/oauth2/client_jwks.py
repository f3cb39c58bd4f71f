"""A client's public keys for ``private_key_jwt``: its inline ``jwks``, or the document
at its ``jwks_uri`` (fetched through ``authserver.outbound``: SSRF rules, a timeout and a
size limit), kept for a while so that a token request rarely waits on the client's web
server. A ``kid`` the cached document lacks triggers one early refetch (the client
rotated its keys), at most once per ``refetch_after`` seconds per URL, so that a stream of
assertions with unknown key ids cannot turn the server into a fetching machine."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from authserver.domain.client_keys import parse_public_jwks
from authserver.domain.clients import Client
from authserver.oauth2.assertions import AssertionRefused
from authserver.outbound import FetchError, FetchPolicy, fetch_json


@dataclass(frozen=True)
class _Entry:
    fetched_at: float
    keys: tuple
    forced_at: float | None = None  # the last refetch for a key id it lacked


class ClientKeys:
    def __init__(
        self,
        policy: FetchPolicy,
        ttl: float = 300.0,
        refetch_after: float = 30.0,
        size: int = 1024,
        fetch: Callable = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._policy = policy
        self._ttl = ttl
        self._refetch_after = refetch_after
        self._size = size
        self._fetch = fetch
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def keys(self, client: Client, kid: str | None = None) -> list:
        if client.jwks:
            return self._parsed(client.jwks, "the client's jwks")
        if not client.jwks_uri:
            raise AssertionRefused("The client has no registered keys (jwks or jwks_uri).")
        return list(self._from_uri(client.jwks_uri, kid))

    def _from_uri(self, url: str, kid: str | None) -> tuple:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(url)
        forced = None
        if entry is not None and now - entry.fetched_at < self._ttl:
            if kid is None or any(key.kid == kid for key in entry.keys):
                return entry.keys
            if entry.forced_at is not None and now - entry.forced_at < self._refetch_after:
                return entry.keys  # looked again a moment ago: the kid is just unknown
            forced = now
        try:
            document = self._fetch(url, self._policy)
        except FetchError as exc:
            raise AssertionRefused(f"The client's jwks_uri could not be fetched: {exc}.") from None
        keys = tuple(self._parsed(document, "the jwks_uri document"))
        with self._lock:
            self._entries[url] = _Entry(now, keys, forced)
            self._entries.move_to_end(url)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return keys

    @staticmethod
    def _parsed(document, where: str) -> list:
        try:
            return list(parse_public_jwks(document, where).keys)
        except ValueError as exc:
            raise AssertionRefused(f"{exc}.") from None

    def forget(self, url: str) -> None:
        with self._lock:
            self._entries.pop(url, None)
