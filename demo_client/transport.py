"""Back-channel HTTP, recorded: every request this server sends to the authorization server
becomes an ``Exchange`` (what was sent, what came back, how long it took) for the flow
inspector. The values are kept whole here, in server memory; the inspector shortens them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests


@dataclass
class Exchange:
    """One HTTP request from this server and its response, as it really happened."""

    method: str
    url: str
    started_at: float
    params: list[tuple[str, str]] = field(default_factory=list)  # form body or query
    authorization: str = ""  # the Authorization header as sent
    status: int | None = None
    body: Any = None  # the JSON response (or the text when it was not JSON)
    duration_ms: float = 0.0
    error: str = ""  # why there was no response (connection refused, timeout)
    dpop_proof: str = ""  # the DPoP header as sent (public-key signed, single-use)
    dpop_nonce: str = ""  # the DPoP-Nonce response header (RFC 9449 §8)
    www_authenticate: str = ""  # the response's challenges, joined
    previous: Exchange | None = None  # the attempt refused with use_dpop_nonce, retried


class Unreachable(Exception):
    """The authorization server did not answer at ``url``."""

    def __init__(self, url: str, reason: str, exchange: Exchange):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.exchange = exchange


class ResponseCapture:
    """A requests ``response`` hook that keeps the responses of a session (Authlib's
    ``OAuth2Session`` sends its own requests; the hook lets us see them)."""

    def __init__(self) -> None:
        self.responses: list[requests.Response] = []

    def __call__(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.responses.append(response)
        return response

    @property
    def last(self) -> requests.Response | None:
        return self.responses[-1] if self.responses else None


def exchange_from_response(response: requests.Response, started_at: float) -> Exchange:
    prepared = response.request
    body = prepared.body or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    params = parse_qsl(body, keep_blank_values=True) if body else []
    if not params and prepared.method == "GET":
        params = parse_qsl(urlsplit(prepared.url).query, keep_blank_values=True)
    try:
        payload: Any = without_surrogates(response.json())
    except ValueError:
        payload = without_surrogates(response.text[:2000])
    return Exchange(
        method=prepared.method or "",
        url=(prepared.url or "").split("?")[0],
        started_at=started_at,
        params=params,
        authorization=prepared.headers.get("Authorization", ""),
        status=response.status_code,
        body=payload,
        duration_ms=response.elapsed.total_seconds() * 1000,
        dpop_proof=prepared.headers.get("DPoP", ""),
        dpop_nonce=response.headers.get("DPoP-Nonce", ""),
        www_authenticate=response.headers.get("WWW-Authenticate", ""),
    )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """Parsed JSON with lone surrogates (JSON may spell ``"\\ud800"``, and no page can
    encode one as UTF-8) replaced by U+FFFD, in every string, key and nested value."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    return value


def failed_exchange(method: str, url: str, started_at: float, exc: Exception) -> Exchange:
    return Exchange(
        method=method,
        url=url,
        started_at=started_at,
        duration_ms=(time.time() - started_at) * 1000,
        error=describe_failure(exc),
    )


def describe_failure(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "the request timed out"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed (is the server running, and is the URL right?)"
    return exc.__class__.__name__


def send(http: requests.Session, method: str, url: str, timeout: float, **kwargs):
    """Send one request through ``http``; return (response, Exchange).

    Raises Unreachable (carrying the failed Exchange) when nothing came back.
    """
    started = time.time()
    try:
        response = http.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        failed = failed_exchange(method, url, started, exc)
        raise Unreachable(url, failed.error, failed) from None
    return response, exchange_from_response(response, started)
