"""Clients named by a URL: client ID metadata documents (draft-ietf-oauth-client-id-
metadata-document, the way MCP clients identify themselves).

A ``client_id`` that is an https URL names a JSON document holding the client's metadata
(RFC 7591 names). Nobody registers such a client: the server fetches the document when the
client shows up, so the URL is attacker-chosen and unauthenticated. Three layers:

* ``check_document_url``: the URL itself (https, a real path, no query, fragment,
  userinfo or dot segments, at most 255 characters: the client id column) before any
  network traffic;
* ``authserver.outbound.fetch_document``: the SSRF-safe fetch (resolved once, private and
  link-local addresses refused, loopback only with ``dev``, no redirects, 5 s, 64 KiB);
* ``parse_document``: a table of checks (``_CHECKS``) turning the JSON into normalized
  metadata for a *public* client (``none``) or a ``private_key_jwt`` one. Shared secrets
  are refused outright: a document anyone can read cannot hold one.

``ClientDocuments`` keeps fetched documents for as long as their HTTP caching headers say
(clamped, RFC 9111), and remembers a failure for ``FAILURE_TTL`` seconds so that a client
retrying against a broken URL does not make the server fetch it each time.

Every refusal is ``ClientDocumentError`` whose text is safe as an OAuth
``error_description`` (printable ASCII without quote or backslash) and never names an
address the client did not give.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from authserver.domain.client_keys import parse_public_jwks
from authserver.domain.clients import is_loopback_url
from authserver.outbound import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    FetchError,
    FetchPolicy,
    fetch_document,
)

MAX_URL_LENGTH = 255  # the client id column
MAX_LIST_ITEMS = 100
MAX_STRING_LENGTH = 2048
MAX_DEPTH = 20  # a JWK Set needs 4; anything deeper is junk that could overflow a later dump
FAILURE_TTL = 10
AUTH_METHODS = ("none", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token")
# RFC 3986's characters: no space, quote, backslash, angle brackets, braces, pipe, caret.
_URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_WEB_URI_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


class ClientDocumentError(Exception):
    """The URL or its document is not a usable client; ``description`` is fit to show."""

    def __init__(self, description: str):
        self.description = _safe(description)
        super().__init__(self.description)


def _safe(text: str) -> str:
    # error_description is %x20-21 / %x23-5B / %x5D-7E (RFC 6749 section 5.2).
    cleaned = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "?" for ch in text)
    return cleaned[:400]


def is_document_client_id(client_id: str) -> bool:
    """Whether ``client_id`` is meant as a document URL (ordinary ids never hold a "/")."""
    return client_id.startswith(("https://", "http://"))


@dataclass(frozen=True)
class ClientDocument:
    url: str
    metadata: dict[str, Any]  # shared by every caller of ``load``: read it, never change it
    fetched_at: int
    expires_at: int


# -- the URL ---------------------------------------------------------------------------------


def check_document_url(url: str, dev: bool) -> None:
    """Refuse a URL that may not name a client document, before fetching anything."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise ClientDocumentError(
            f"A client_id URL must be at most {MAX_URL_LENGTH} characters long."
        )
    if not _URI_CHARACTERS.fullmatch(url):
        raise ClientDocumentError(
            "A client_id URL must be ASCII without spaces or control characters."
        )
    parts = _split(url)
    if parts is None or not parts.hostname:
        raise ClientDocumentError("The client_id is not a valid absolute URL.")
    if not _scheme_allowed(url, parts, dev):
        raise ClientDocumentError(
            "A client_id URL must use https"
            + (" (plain http only to a loopback host)." if dev else ".")
        )
    if "@" in parts.netloc:
        raise ClientDocumentError("A client_id URL must not contain user information.")
    if "#" in url:
        raise ClientDocumentError("A client_id URL must not contain a fragment.")
    # The draft: SHOULD NOT contain a query. Refused, so that one client has one spelling.
    if "?" in url:
        raise ClientDocumentError("A client_id URL must not contain a query.")
    if parts.path in ("", "/"):
        raise ClientDocumentError("A client_id URL must have a path, not only a host.")
    if any(_dot_segment(segment) for segment in parts.path.split("/")):
        raise ClientDocumentError("A client_id URL must not contain . or .. path segments.")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ClientDocumentError("The client_id URL's port is not a number.") from None


def _split(url: str):
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _scheme_allowed(url: str, parts, dev: bool) -> bool:
    # The literal prefix, not urlsplit's lower-cased scheme: the id is compared as a string.
    if url.startswith("https://"):
        return True
    return dev and url.startswith("http://") and is_loopback_url(parts)


def _dot_segment(segment: str) -> bool:
    return segment.lower().replace("%2e", ".") in (".", "..")


# -- the document ----------------------------------------------------------------------------


@dataclass
class _Draft:
    """A document on its way through ``_CHECKS``; each check fills in ``values``."""

    url: str
    document: dict[str, Any]
    dev: bool
    values: dict[str, Any] = field(default_factory=dict)


def parse_document(url: str, raw: object, *, dev: bool = False) -> dict[str, Any]:
    """The normalized metadata of the document ``raw`` (parsed JSON) fetched from ``url``.

    ``dev``: a ``jwks_uri`` may then be plain http to a loopback host."""
    if not isinstance(raw, dict):
        raise ClientDocumentError("The client metadata document must be a JSON object.")
    if _too_deep(raw):
        raise ClientDocumentError("The client metadata document is nested too deeply.")
    draft = _Draft(url, raw, dev)
    for check in _CHECKS:
        check(draft)
    return draft.values


def _too_deep(value: object) -> bool:
    # Iterative: the point is to refuse what recursion would choke on.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _check_client_id(draft: _Draft) -> None:
    # Exactly the URL, byte for byte: no normalization that two spellings could share.
    if draft.document.get("client_id") != draft.url:
        raise ClientDocumentError(
            "The client metadata document's client_id must equal the URL it was fetched from."
        )
    draft.values["client_id"] = draft.url


def _check_no_secret(draft: _Draft) -> None:
    for name in ("client_secret", "client_secret_expires_at"):
        if name in draft.document:
            raise ClientDocumentError(
                f"A client metadata document must not contain {name} (it is public)."
            )


def _check_auth_method(draft: _Draft) -> None:
    method = draft.document.get("token_endpoint_auth_method")
    if method is None:
        method = "none"  # not RFC 7591's client_secret_basic: there is no secret
    if isinstance(method, str) and method.startswith("client_secret_"):
        raise ClientDocumentError(
            "A client metadata document cannot use a shared secret "
            "(token_endpoint_auth_method none or private_key_jwt)."
        )
    if method not in AUTH_METHODS:
        raise ClientDocumentError(
            "The client metadata document's token_endpoint_auth_method must be none or "
            "private_key_jwt."
        )
    draft.values["token_endpoint_auth_method"] = method


def _check_keys(draft: _Draft) -> None:
    """``jwks`` or ``jwks_uri``, never both (RFC 7591 section 2); private_key_jwt needs one."""
    jwks = draft.document.get("jwks")
    if jwks in ({}, {"keys": []}):
        jwks = None  # as an absent one (the admin API reads them so too)
    jwks_uri = _string(draft, "jwks_uri")
    if jwks is not None:
        try:
            parse_public_jwks(jwks, "The client metadata document's jwks")
        except ValueError as exc:
            raise ClientDocumentError(f"{exc}.") from None
        draft.values["jwks"] = jwks
    if jwks_uri:
        if not _fetchable(jwks_uri, draft.dev):
            raise ClientDocumentError(
                "The client metadata document's jwks_uri must be an absolute https URL."
            )
        draft.values["jwks_uri"] = jwks_uri
    if jwks is not None and jwks_uri:
        raise ClientDocumentError(
            "The client metadata document must not hold both jwks and jwks_uri."
        )
    if draft.values["token_endpoint_auth_method"] == "private_key_jwt" and not (
        jwks is not None or jwks_uri
    ):
        raise ClientDocumentError(
            "The client metadata document needs jwks or jwks_uri for private_key_jwt."
        )


def _check_redirect_uris(draft: _Draft) -> None:
    uris = _string_list(draft, "redirect_uris")
    if not uris:
        raise ClientDocumentError(
            "The client metadata document's redirect_uris must be a non-empty array of strings."
        )
    _check_redirect_list(draft, "redirect_uris", uris)


def _check_post_logout_redirect_uris(draft: _Draft) -> None:
    uris = _string_list(draft, "post_logout_redirect_uris")
    _check_redirect_list(draft, "post_logout_redirect_uris", uris)


def _check_redirect_list(draft: _Draft, name: str, uris: tuple[str, ...]) -> None:
    for index, uri in enumerate(uris, 1):
        if not _redirect_uri_ok(uri):
            raise ClientDocumentError(
                f"The client metadata document's {name} entry {index} must be an absolute "
                "https URL (or http to a loopback host) without fragment or user information."
            )
    draft.values[name] = uris


def _check_grant_types(draft: _Draft) -> None:
    grant_types = _string_list(draft, "grant_types") or ("authorization_code",)
    if any(grant_type not in GRANT_TYPES for grant_type in grant_types):
        raise ClientDocumentError(
            "The client metadata document's grant_types may hold only authorization_code "
            "and refresh_token."
        )
    draft.values["grant_types"] = grant_types


def _check_response_types(draft: _Draft) -> None:
    response_types = _string_list(draft, "response_types") or ("code",)
    if response_types != ("code",):
        raise ClientDocumentError("The client metadata document's response_types may only be code.")
    draft.values["response_types"] = response_types


def _check_scope(draft: _Draft) -> None:
    # Empty: the server's default scope, decided by whoever turns this into a client.
    scope = " ".join(_string(draft, "scope").split())
    if not all(_SCOPE_TOKEN.fullmatch(token) for token in scope.split()):
        raise ClientDocumentError("The client metadata document's scope is not valid.")
    draft.values["scope"] = scope


def _check_client_name(draft: _Draft) -> None:
    name = _string(draft, "client_name")
    if not name.isprintable():
        raise ClientDocumentError(
            "The client metadata document's client_name must not contain control characters."
        )
    draft.values["client_name"] = name


def _check_web_uris(draft: _Draft) -> None:
    """Pages and a logo shown to people on the consent screen: absolute http(s) only."""
    for name in _WEB_URI_FIELDS:
        value = _string(draft, name)
        if value and not _web_uri_ok(value):
            raise ClientDocumentError(
                f"The client metadata document's {name} must be an absolute http(s) URL."
            )
        draft.values[name] = value


def _check_contacts(draft: _Draft) -> None:
    draft.values["contacts"] = _string_list(draft, "contacts")


# Top to bottom; the first failing check's description is the answer.
_CHECKS: tuple[Callable[[_Draft], None], ...] = (
    _check_client_id,
    _check_no_secret,
    _check_auth_method,
    _check_keys,
    _check_redirect_uris,
    _check_post_logout_redirect_uris,
    _check_grant_types,
    _check_response_types,
    _check_scope,
    _check_client_name,
    _check_web_uris,
    _check_contacts,
)


def _string(draft: _Draft, name: str) -> str:
    value = draft.document.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ClientDocumentError(f"The client metadata document's {name} must be a string.")
    if len(value) > MAX_STRING_LENGTH:
        raise ClientDocumentError(
            f"The client metadata document's {name} is longer than {MAX_STRING_LENGTH} characters."
        )
    return value.strip()


def _string_list(draft: _Draft, name: str) -> tuple[str, ...]:
    """An optional array of non-empty strings, bounded, duplicates dropped (order kept)."""
    value = draft.document.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClientDocumentError(
            f"The client metadata document's {name} must be an array of strings."
        )
    if len(value) > MAX_LIST_ITEMS or any(len(item) > MAX_STRING_LENGTH for item in value):
        raise ClientDocumentError(
            f"The client metadata document's {name} must hold at most {MAX_LIST_ITEMS} "
            f"strings of at most {MAX_STRING_LENGTH} characters."
        )
    items = tuple(item.strip() for item in value)
    if not all(items):
        raise ClientDocumentError(
            f"The client metadata document's {name} must not contain empty strings."
        )
    return tuple(dict.fromkeys(items))


def _redirect_uri_ok(uri: str) -> bool:
    """RFC 6749 section 3.1.2 and RFC 8252: https, or http to a loopback host (native apps,
    in production too). No custom schemes: nothing vouches for who handles them."""
    parts = _split(uri) if _URI_CHARACTERS.fullmatch(uri) else None
    if parts is None or not parts.hostname or "@" in parts.netloc or "#" in uri:
        return False
    return uri.startswith("https://") or (uri.startswith("http://") and is_loopback_url(parts))


def _fetchable(url: str, dev: bool) -> bool:
    parts = _split(url) if _URI_CHARACTERS.fullmatch(url) else None
    if parts is None or not parts.hostname or "@" in parts.netloc or "#" in url:
        return False
    return _scheme_allowed(url, parts, dev)


def _web_uri_ok(uri: str) -> bool:
    parts = _split(uri) if _URI_CHARACTERS.fullmatch(uri) else None
    return (
        parts is not None
        and uri.startswith(("https://", "http://"))
        and bool(parts.hostname)
        and "@" not in parts.netloc
    )


# -- HTTP caching ----------------------------------------------------------------------------


def cache_lifetime(
    headers: dict[str, str],
    now: int,
    minimum: int = 60,
    maximum: int = 86400,
    default: int = 300,
) -> int:
    """Seconds a fetched document may be reused (RFC 9111 section 4.2.1), clamped to
    [minimum, maximum]; 0 for ``no-store``/``no-cache``. Malformed values: ``default``."""
    try:
        return _lifetime(headers, now, minimum, maximum, default)
    except (ValueError, TypeError, OverflowError, AttributeError, IndexError):
        return default


def _lifetime(headers: dict[str, str], now: int, minimum: int, maximum: int, default: int) -> int:
    directives = _cache_control(headers.get("cache-control", ""))
    if directives is None:
        return default
    if "no-store" in directives or "no-cache" in directives:
        return 0
    age = _seconds(headers.get("age", "0"))
    if age is None:
        return default
    if "max-age" in directives:  # s-maxage is for shared caches: not us
        max_age = _seconds(directives["max-age"])
        if max_age is None:
            return default
        return _clamp(max_age - age, minimum, maximum)
    if "expires" in headers:
        expires = parsedate_to_datetime(headers["expires"]).timestamp()
        date = parsedate_to_datetime(headers["date"]).timestamp() if "date" in headers else now
        return _clamp(int(expires - date) - age, minimum, maximum)
    return default


def _cache_control(value: str) -> dict[str, str] | None:
    """The directives by lower-cased name; None when the header does not parse."""
    directives = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if not re.fullmatch(r"[a-z0-9!#$%&'*+.^_`|~-]+", name):
            return None
        directives[name] = argument.strip().strip('"')
    return directives


def _seconds(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _clamp(value: int, minimum: int, maximum: int) -> int:
    return max(minimum, min(maximum, value))


# -- the cache -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    description: str
    until: int


@dataclass
class _Flight:
    """One fetch per cold URL: later callers wait for the first one, then read the cache."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class ClientDocuments:
    """A thread-safe cache of fetched documents (bounded size, LRU), keyed by URL."""

    def __init__(
        self,
        policy_for_dev: bool,
        fetch: Callable = fetch_document,
        clock: Callable[[], float] = time.time,
        max_entries: int = 1000,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self._dev = policy_for_dev
        # Loopback only with --dev: anyone can make the server fetch a client_id URL.
        self._policy = FetchPolicy(
            dev=policy_for_dev, loopback=policy_for_dev, timeout=timeout, max_bytes=max_bytes
        )
        self._fetch = fetch
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, ClientDocument | _Failure] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def load(self, url: str) -> ClientDocument:
        check_document_url(url, self._dev)
        cached = self._cached(url)
        if cached is not None:
            return cached
        flight = self._board(url)
        try:
            with flight.lock:
                # Another caller may have fetched it while this one waited.
                return self._cached(url) or self._refresh(url)
        finally:
            self._land(url, flight)

    def forget(self, url: str) -> None:
        with self._lock:
            self._entries.pop(url, None)

    def _cached(self, url: str) -> ClientDocument | None:
        """The fresh document, None when there is none; a fresh failure is raised again."""
        now = int(self._clock())
        with self._lock:
            entry = self._entries.get(url)
            if isinstance(entry, ClientDocument) and now < entry.expires_at:
                self._entries.move_to_end(url)
                return entry
            if isinstance(entry, _Failure) and now < entry.until:
                raise ClientDocumentError(entry.description)
        return None

    def _refresh(self, url: str) -> ClientDocument:
        now = int(self._clock())
        try:
            document = self._fetched(url, now)
        except ClientDocumentError as exc:
            self._store(url, _Failure(exc.description, now + FAILURE_TTL))
            raise
        if document.expires_at > now:  # no-store: not kept at all
            self._store(url, document)
        else:
            self.forget(url)
        return document

    def _fetched(self, url: str, now: int) -> ClientDocument:
        try:
            answer = self._fetch(url, self._policy)
        except FetchError as exc:
            raise ClientDocumentError(
                f"The client metadata document could not be fetched: {exc}."
            ) from None
        if answer.status != 200:
            raise ClientDocumentError(
                f"The client metadata document could not be fetched: HTTP {answer.status}."
            )
        if not _is_json(answer.headers.get("content-type", "")):
            raise ClientDocumentError(
                "The client metadata document must be served as application/json."
            )
        metadata = parse_document(url, _json(answer.body), dev=self._dev)
        return ClientDocument(url, metadata, now, now + cache_lifetime(answer.headers, now))

    def _store(self, url: str, entry: ClientDocument | _Failure) -> None:
        with self._lock:
            self._entries[url] = entry
            self._entries.move_to_end(url)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def _board(self, url: str) -> _Flight:
        with self._lock:
            flight = self._flights.setdefault(url, _Flight())
            flight.users += 1
            return flight

    def _land(self, url: str, flight: _Flight) -> None:
        with self._lock:
            flight.users -= 1
            if not flight.users:
                del self._flights[url]


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except RecursionError:
        raise ClientDocumentError("The client metadata document is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise ClientDocumentError("The client metadata document is not JSON.") from None
