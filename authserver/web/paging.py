"""Keyset paging of the admin API's lists, as Hydra's: ``page_size`` (default 100, at
most 500) and an opaque ``page_token`` naming the last id of the previous page; the
answer's ``Link`` header has the ``first`` and ``next`` pages (RFC 8288)."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlencode

from flask import request

from authserver.domain.text import text_problem
from authserver.web.errors import ApiError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


def page_size() -> int:
    raw = request.args.get("page_size", "")
    if not raw:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ApiError("invalid_request", "page_size must be a whole number.", 400) from None
    if size < 1:
        raise ApiError("invalid_request", "page_size must be at least 1.", 400)
    return min(size, MAX_PAGE_SIZE)


def encode_page_token(after_id: str) -> str:
    raw = json.dumps({"after": after_id}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def page_after() -> str | None:
    """The id the requested page starts after (None: the first page)."""
    token = request.args.get("page_token", "")
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        after = None
    if not isinstance(after, str) or text_problem(after):
        raise ApiError("invalid_request", "The page_token is not valid.", 400)
    return after


def link_header(size: int, last_id: str | None, filters: dict[str, str]) -> str:
    """``first``, and ``next`` when ``last_id`` (the last id shown) has more after it."""
    links = [_link(size, "", filters, "first")]
    if last_id is not None:
        links.append(_link(size, encode_page_token(last_id), filters, "next"))
    return ",".join(links)


def _link(size: int, token: str, filters: dict, rel: str) -> str:
    query = {"page_size": size, **filters}
    if token:
        query["page_token"] = token
    return f'<{request.path}?{urlencode(query)}>; rel="{rel}"'
