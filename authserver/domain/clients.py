"""OAuth2 client metadata: Hydra's JSON model (RFC 7591 names) and its validation rules.

``validate_client_document`` turns an untrusted JSON object (from the admin API or the
CLI) into a ``Client`` or raises ``InvalidClientMetadata`` with a message that names the
field. It runs the checks of ``_CHECKS``, a table that reads top to bottom: each small
``_check_*`` function reads one field (or a few alike) of the document and fills in the
``Client``'s value; the first failing check's message is the answer. Nothing here touches
HTTP or the database.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from authserver.domain.client_keys import (
    ASYMMETRIC_ALGORITHMS,
    SYMMETRIC_ALGORITHMS,
    parse_public_jwks,
)
from authserver.domain.durations import DurationError, parse_duration

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693
SUPPORTED_GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT,
    JWT_BEARER_GRANT,
    TOKEN_EXCHANGE_GRANT,
)
# Grant types Hydra knows that we deliberately do not offer; named in the error message.
UNSUPPORTED_GRANT_TYPES = {
    "implicit": "the implicit grant is not offered (OAuth 2.0 Security BCP); use "
    "authorization_code with PKCE",
    "password": "the resource owner password grant is not offered (OAuth 2.0 Security BCP)",
}
# Response types may be registered as the 2019 guide does ("token,code,id_token"); the
# authorization endpoint itself only answers "code".
RESPONSE_TYPE_PARTS = ("code", "token", "id_token", "none")
TOKEN_ENDPOINT_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
# Methods whose client proves itself with the secret (the others have none stored).
SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
SUBJECT_TYPES = ("public", "pairwise")
ACCESS_TOKEN_STRATEGIES = ("opaque", "jwt")
DEFAULT_SCOPE = "offline_access offline openid"
MIN_SECRET_LENGTH = 6
MIN_JWT_SECRET_LENGTH = 32  # an HS256 key has at least 256 bits (RFC 7518 §3.2)
MAX_ID_LENGTH = 255
LIFESPAN_FIELDS = (
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
)
# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_CLIENT_ID = re.compile(r"^[\x21-\x2e\x30-\x7e]+$")  # visible ASCII except "/"


class InvalidClientMetadata(ValueError):
    """RFC 7591 ``invalid_client_metadata``: the message names the offending field."""

    error = "invalid_client_metadata"


class InvalidRedirectUri(InvalidClientMetadata):
    """RFC 7591 ``invalid_redirect_uri``."""

    error = "invalid_redirect_uri"


@dataclass(frozen=True)
class Client:
    """An OAuth2 client as Hydra's admin API shows it (without its secret)."""

    client_id: str
    client_name: str = ""
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] = ("code",)
    scope: str = DEFAULT_SCOPE
    redirect_uris: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    token_endpoint_auth_method: str = "client_secret_basic"
    skip_consent: bool = False
    skip_logout_consent: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    owner: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    client_uri: str = ""
    logo_uri: str = ""
    contacts: tuple[str, ...] = ()
    allowed_cors_origins: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    subject_type: str = "public"
    access_token_strategy: str = ""
    frontchannel_logout_uri: str = ""
    frontchannel_logout_session_required: bool = False
    backchannel_logout_uri: str = ""
    backchannel_logout_session_required: bool = False
    client_secret_expires_at: int = 0
    # The client's public keys for private_key_jwt: inline, or where to fetch them.
    jwks: dict[str, Any] = field(default_factory=dict)
    jwks_uri: str = ""
    # OIDC Core §8.1: the host whose redirect URIs share one pairwise subject.
    sector_identifier_uri: str = ""
    # The algorithm of client assertions (private_key_jwt, client_secret_jwt); empty:
    # any that fits the key.
    token_endpoint_auth_signing_alg: str = ""
    # Stored because Hydra's CLI and SDKs send it; inert here (no request objects).
    request_object_signing_alg: str = ""
    userinfo_signed_response_alg: str = "none"
    # OIDC Registration §2: the algorithm of this client's ID tokens (and logout tokens);
    # empty: RS256, the registration default.
    id_token_signed_response_alg: str = ""
    # RFC 9126 §6: this client's authorization requests must be pushed (/oauth2/par) first.
    require_pushed_authorization_requests: bool = False
    # RFC 9449 §5.2: this client's access tokens must be DPoP-bound.
    dpop_bound_access_tokens: bool = False
    lifespans: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def has_secret(self) -> bool:
        return self.token_endpoint_auth_method in SECRET_METHODS

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    def lifespan(self, name: str) -> int | None:
        """A per-client token lifetime in seconds (Hydra's ``*_lifespan`` fields), if set."""
        value = self.lifespans.get(name)
        return int(parse_duration(value)) if value else None

    def to_document(self) -> dict[str, Any]:
        """The stored form: every field except the id and the timestamps."""
        data = asdict(self)
        for key in ("client_id", "created_at", "updated_at"):
            data.pop(key)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_document(cls, client_id: str, document: dict[str, Any], **times) -> Client:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in document.items() if key in known}
        for key, value in values.items():
            if isinstance(value, list):
                values[key] = tuple(value)
        return cls(client_id=client_id, **values, **times)

    def to_json(self) -> dict[str, Any]:
        """Hydra's ``oAuth2Client`` JSON, without ``client_secret``."""
        data = self.to_document()
        lifespans = data.pop("lifespans")
        for name in LIFESPAN_FIELDS:
            data[name] = lifespans.get(name)
        data["client_id"] = self.client_id
        data["created_at"] = _rfc3339(self.created_at)
        data["updated_at"] = _rfc3339(self.updated_at)
        data["request_uris"] = []
        if not data["id_token_signed_response_alg"]:
            del data["id_token_signed_response_alg"]  # not chosen: RS256
        return data


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def new_client_id() -> str:
    return str(uuid.uuid4())


def new_client_secret() -> str:
    """A 32-character URL-safe secret carrying 192 bits from the OS CSPRNG."""
    return secrets.token_urlsafe(24)


# Fields Hydra's model has that we accept on input but do not act upon; they are
# accepted only when empty so nobody believes a feature is on when it is not.
# A tuple, not a set: the first one present is named, whatever the hash seed.
_ACCEPTED_IF_EMPTY = ("request_uris",)
# Server-managed fields that clients may send back unchanged (a GET body PUT back as is).
_IGNORED_ON_INPUT = {
    "created_at",
    "updated_at",
    "registration_access_token",
    "registration_client_uri",
}
_JWS_ALGORITHMS = ASYMMETRIC_ALGORITHMS
# The algorithms the server's own keys sign with (oauth2.keys makes keys of these).
SERVER_SIGNING_ALGORITHMS = ("RS256", "RS512", "PS256", "ES256", "ES512", "EdDSA")


@dataclass(frozen=True)
class ValidatedClient:
    client: Client
    secret: str | None  # the plain secret given or generated, to hash and show once


_KNOWN_INPUT_FIELDS = (
    {f.name for f in fields(Client)} - {"lifespans"}
    | set(LIFESPAN_FIELDS)
    | {"client_secret"}
    | set(_ACCEPTED_IF_EMPTY)
    | _IGNORED_ON_INPUT
)


@dataclass
class _Draft:
    """A document on its way through ``_CHECKS``: each check reads its field(s) through
    ``read`` and puts what the ``Client`` gets into ``values``."""

    document: dict[str, Any]
    read: _Reader
    client_id: str | None
    secret_required: bool
    allow_client_id: bool
    subject_types: tuple[str, ...] = SUBJECT_TYPES
    private_hosts: bool = False  # --dev: logout URIs may name any host, over plain http
    values: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None


def _check_client_id(draft: _Draft) -> None:
    body_id = draft.read.string("client_id")
    if draft.client_id is not None:
        if body_id and body_id != draft.client_id:
            raise InvalidClientMetadata("Field client_id cannot be changed.")
        body_id = draft.client_id
    elif body_id and not draft.allow_client_id:
        raise InvalidClientMetadata("Field client_id cannot be set.")
    resolved_id = body_id or new_client_id()
    if (
        len(resolved_id) > MAX_ID_LENGTH
        or not _CLIENT_ID.fullmatch(resolved_id)
        or resolved_id in (".", "..")  # they would be path segments in /admin/clients/{id}
    ):
        raise InvalidClientMetadata(
            "Field client_id must be 1 to 255 visible ASCII characters without spaces or '/'."
        )
    draft.values["client_id"] = resolved_id


def _check_auth_method(draft: _Draft) -> None:
    auth_method = draft.read.string("token_endpoint_auth_method") or "client_secret_basic"
    if auth_method not in TOKEN_ENDPOINT_AUTH_METHODS:
        raise InvalidClientMetadata(
            f"Field token_endpoint_auth_method must be one of "
            f"{', '.join(TOKEN_ENDPOINT_AUTH_METHODS)}; got {auth_method!r}."
        )
    draft.values["token_endpoint_auth_method"] = auth_method


def _check_grant_types(draft: _Draft) -> None:
    grant_types = draft.read.string_list("grant_types") or ["authorization_code"]
    for grant_type in grant_types:
        if grant_type in UNSUPPORTED_GRANT_TYPES:
            raise InvalidClientMetadata(
                f"Field grant_types: {UNSUPPORTED_GRANT_TYPES[grant_type]}."
            )
        if grant_type not in SUPPORTED_GRANT_TYPES:
            raise InvalidClientMetadata(
                f"Field grant_types: unknown grant type {grant_type!r}; supported: "
                f"{', '.join(SUPPORTED_GRANT_TYPES)}."
            )
    draft.values["grant_types"] = tuple(grant_types)


def _check_response_types(draft: _Draft) -> None:
    response_types = draft.read.string_list("response_types") or ["code"]
    for response_type in response_types:
        parts = response_type.split()
        if not parts or any(part not in RESPONSE_TYPE_PARTS for part in parts):
            raise InvalidClientMetadata(
                f"Field response_types: unknown response type {response_type!r}."
            )
    draft.values["response_types"] = tuple(response_types)


def _check_scope(draft: _Draft) -> None:
    # As Hydra: an empty scope means the default scope.
    scope = " ".join((draft.read.string("scope") or "").split()) or DEFAULT_SCOPE
    for token in scope.split():
        if not _SCOPE_TOKEN.fullmatch(token):
            raise InvalidClientMetadata(f"Field scope: {token!r} is not a valid scope token.")
    draft.values["scope"] = scope


def _check_redirect_uris(draft: _Draft) -> None:
    redirect_uris = draft.read.string_list("redirect_uris")
    for uri in redirect_uris:
        _validate_redirect_uri("redirect_uris", uri)
    draft.values["redirect_uris"] = tuple(redirect_uris)


def _check_post_logout_redirect_uris(draft: _Draft) -> None:
    post_logout = draft.read.string_list("post_logout_redirect_uris")
    origins = {_origin(uri) for uri in draft.values["redirect_uris"]}
    for uri in post_logout:
        _validate_redirect_uri("post_logout_redirect_uris", uri)
        if _origin(uri) not in origins:
            raise InvalidRedirectUri(
                f"Field post_logout_redirect_uris: {uri!r} must have the scheme, host and port "
                "of one of the registered redirect_uris."
            )
    draft.values["post_logout_redirect_uris"] = tuple(post_logout)


def _check_client_secret(draft: _Draft) -> None:
    """A confidential client keeps the secret given, or gets a new one on creation (on
    update an absent secret keeps the stored one); a public client has none."""
    secret = draft.read.string("client_secret")
    method = draft.values["token_endpoint_auth_method"]
    if method == "none":
        _check_public_client(draft, secret)
    elif method == "private_key_jwt":
        if secret:
            raise InvalidClientMetadata(
                "Field client_secret must be empty when token_endpoint_auth_method is "
                "'private_key_jwt' (the client proves itself with its keys)."
            )
    elif secret:
        minimum = MIN_JWT_SECRET_LENGTH if method == "client_secret_jwt" else MIN_SECRET_LENGTH
        if len(secret) < minimum:
            raise InvalidClientMetadata(
                f"Field client_secret must be at least {minimum} characters long"
                + (
                    " for client_secret_jwt (HMAC keys, RFC 7518 section 3.2)."
                    if minimum > MIN_SECRET_LENGTH
                    else "."
                )
            )
        draft.secret = secret
    elif draft.secret_required:
        draft.secret = new_client_secret()


def _check_public_client(draft: _Draft, secret: str | None) -> None:
    if secret:
        raise InvalidClientMetadata(
            "Field client_secret must be empty when token_endpoint_auth_method is "
            "'none' (a public client has no secret)."
        )
    if "client_credentials" in draft.values["grant_types"]:
        raise InvalidClientMetadata(
            "Field grant_types: a public client (token_endpoint_auth_method 'none') "
            "cannot use client_credentials."
        )


def _check_audience(draft: _Draft) -> None:
    audience = draft.read.string_list("audience")
    for item in audience:
        if any(character.isspace() for character in item):
            # Requested audiences are split on spaces: such an entry could never match.
            raise InvalidClientMetadata(f"Field audience: {item!r} contains whitespace.")
    draft.values["audience"] = tuple(audience)


def _check_contacts(draft: _Draft) -> None:
    draft.values["contacts"] = tuple(draft.read.string_list("contacts"))


def _check_cors_origins(draft: _Draft) -> None:
    cors = []
    for origin in draft.read.string_list("allowed_cors_origins"):
        parts = _split_url(origin)
        if (
            not parts
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.path.strip("/")
            or parts.query
            or parts.fragment
        ):
            raise InvalidClientMetadata(
                f"Field allowed_cors_origins: {origin!r} is not an origin like https://app.example."
            )
        cors.append(f"{parts.scheme}://{parts.netloc}")
    draft.values["allowed_cors_origins"] = tuple(cors)


def _check_web_uri(name: str, draft: _Draft) -> None:
    """A page shown to people (policy, terms, home page, logo): absolute http(s)."""
    value = draft.read.string(name)
    if value:
        parts = _split_url(value)
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidClientMetadata(f"Field {name} must be an absolute http(s) URL.")
    draft.values[name] = value


def _check_logout_uri(name: str, draft: _Draft) -> None:
    """OIDC Front- and Back-Channel Logout: an absolute http(s) URL without a fragment.
    Plain http only to a loopback host, and no private, link-local or reserved address
    written as such, unless ``private_hosts`` (--dev): the server itself POSTs to a
    back-channel URI (names are checked again when it does), and a browser loads a
    front-channel one in a frame of a page the server serves."""
    value = draft.read.string(name)
    if value:
        try:
            _validate_redirect_uri(name, value)
        except InvalidRedirectUri as exc:  # not a redirect URI: RFC 7591's other error
            raise InvalidClientMetadata(str(exc)) from None
        problem = _logout_uri_problem(urlsplit(value), draft.private_hosts)
        if problem:
            raise InvalidClientMetadata(f"Field {name}: {value!r} {problem}.")
    draft.values[name] = value


def _logout_uri_problem(parts, private_hosts: bool) -> str | None:
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http(s) URL"
    if private_hosts or is_loopback_url(parts):
        return None
    if parts.scheme == "http":
        return "must use https (plain http only to a loopback host such as 127.0.0.1)"
    try:
        address = ipaddress.ip_address((parts.hostname or "").strip("[]"))
    except ValueError:
        return None  # a name: resolved, and its addresses checked, when it is used
    if not address.is_global:
        return "points at a private, link-local or reserved address"
    return None


def _check_subject_type(draft: _Draft) -> None:
    # Absent: the server's first type (public, unless it offers pairwise only).
    subject_type = draft.read.string("subject_type") or draft.subject_types[0]
    if subject_type not in draft.subject_types:
        raise InvalidClientMetadata(
            f"Field subject_type must be {' or '.join(map(repr, draft.subject_types))}; "
            f"{subject_type!r} is not supported."
        )
    draft.values["subject_type"] = subject_type


def _check_sector_identifier_uri(draft: _Draft) -> None:
    """OIDC Core §8.1: an https URL (http on loopback, for local development) of a JSON
    array holding the client's redirect URIs; fetched and compared by the caller."""
    value = draft.read.string("sector_identifier_uri")
    if value:
        _validate_fetch_url("sector_identifier_uri", value)
    draft.values["sector_identifier_uri"] = value


def _check_keys(draft: _Draft) -> None:
    """``jwks`` or ``jwks_uri`` (never both, RFC 7591 §2); private_key_jwt needs one."""
    jwks = draft.document.get("jwks")
    if jwks in (None, {}, {"keys": []}):
        jwks = {}
    else:
        try:
            parse_public_jwks(jwks, "Field jwks")
        except ValueError as exc:
            raise InvalidClientMetadata(f"{exc}.") from None
    jwks_uri = draft.read.string("jwks_uri")
    if jwks_uri:
        _validate_fetch_url("jwks_uri", jwks_uri)
    if jwks and jwks_uri:
        raise InvalidClientMetadata(
            "Fields jwks and jwks_uri must not both be set (RFC 7591 section 2)."
        )
    if draft.values["token_endpoint_auth_method"] == "private_key_jwt" and not (jwks or jwks_uri):
        raise InvalidClientMetadata(
            "Field jwks or jwks_uri is required when token_endpoint_auth_method is "
            "'private_key_jwt'."
        )
    draft.values["jwks"] = jwks
    draft.values["jwks_uri"] = jwks_uri


def _check_auth_signing_alg(draft: _Draft) -> None:
    value = draft.read.string("token_endpoint_auth_signing_alg")
    method = draft.values["token_endpoint_auth_method"]
    allowed = {
        "private_key_jwt": ASYMMETRIC_ALGORITHMS,
        "client_secret_jwt": SYMMETRIC_ALGORITHMS,
    }.get(method, ASYMMETRIC_ALGORITHMS + SYMMETRIC_ALGORITHMS)
    if value and value not in allowed:
        raise InvalidClientMetadata(
            f"Field token_endpoint_auth_signing_alg: {value!r} cannot be used"
            + (f" with {method}" if method in ("private_key_jwt", "client_secret_jwt") else "")
            + f"; use one of {', '.join(allowed)}."
        )
    draft.values["token_endpoint_auth_signing_alg"] = value


def _check_access_token_strategy(draft: _Draft) -> None:
    strategy = draft.read.string("access_token_strategy")
    if strategy and strategy not in ACCESS_TOKEN_STRATEGIES:
        raise InvalidClientMetadata("Field access_token_strategy must be 'opaque' or 'jwt'.")
    draft.values["access_token_strategy"] = strategy


def _check_metadata(draft: _Draft) -> None:
    metadata = draft.document.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InvalidClientMetadata("Field metadata must be a JSON object.")
    draft.values["metadata"] = metadata


def _check_lifespans(draft: _Draft) -> None:
    lifespans = {}
    for name in LIFESPAN_FIELDS:
        value = draft.read.string(name)
        if value:
            _check_lifespan(name, value)
            lifespans[name] = value
    draft.values["lifespans"] = lifespans


def _check_lifespan(name: str, value: str) -> None:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise InvalidClientMetadata(f"Field {name}: {exc}.") from None
    if seconds < 1:
        raise InvalidClientMetadata(f"Field {name} must be at least one second.")


def _check_secret_expiry(draft: _Draft) -> None:
    expires_at = draft.document.get("client_secret_expires_at", 0) or 0
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at < 0:
        raise InvalidClientMetadata("Field client_secret_expires_at must be a number >= 0.")
    # Hydra's rule: secrets do not expire, the field is always 0.
    draft.values["client_secret_expires_at"] = 0


def _check_unsupported_fields(draft: _Draft) -> None:
    for name in _ACCEPTED_IF_EMPTY:
        if draft.document.get(name) not in (None, "", [], {}, {"keys": []}):
            raise InvalidClientMetadata(f"Field {name} is not supported by this server.")


def _check_signing_alg(name: str, draft: _Draft) -> None:
    value = draft.read.string(name)
    if value and value not in _JWS_ALGORITHMS:
        raise InvalidClientMetadata(f"Field {name}: unknown algorithm {value!r}.")
    draft.values[name] = value


def _check_id_token_alg(draft: _Draft) -> None:
    value = draft.read.string("id_token_signed_response_alg")
    if value and value not in SERVER_SIGNING_ALGORITHMS:
        raise InvalidClientMetadata(
            f"Field id_token_signed_response_alg: {value!r} is not one of "
            f"{', '.join(SERVER_SIGNING_ALGORITHMS)}."
        )
    draft.values["id_token_signed_response_alg"] = value


def _check_userinfo_alg(draft: _Draft) -> None:
    userinfo_alg = draft.read.string("userinfo_signed_response_alg") or "none"
    if userinfo_alg != "none":
        raise InvalidClientMetadata(
            "Field userinfo_signed_response_alg must be 'none': signed userinfo is not supported."
        )
    draft.values["userinfo_signed_response_alg"] = userinfo_alg


def _check_name(name: str, draft: _Draft) -> None:
    draft.values[name] = draft.read.string(name, max_length=MAX_ID_LENGTH)


def _check_flag(name: str, draft: _Draft) -> None:
    draft.values[name] = draft.read.boolean(name)


def _check_unknown_fields(draft: _Draft) -> None:
    unknown = set(draft.document) - _KNOWN_INPUT_FIELDS
    if unknown:
        raise InvalidClientMetadata(
            f"Unknown field(s): {', '.join(sorted(unknown))}. See the oAuth2Client model."
        )


# The checks in the order they run: the first failing one's message is the answer, so
# this order is part of the API (tests/unit/test_client_document_table.py pins it).
_CHECKS: tuple[Callable[[_Draft], None], ...] = (
    _check_client_id,
    _check_auth_method,
    _check_grant_types,
    _check_response_types,
    _check_scope,
    _check_redirect_uris,
    _check_post_logout_redirect_uris,  # needs redirect_uris
    _check_client_secret,  # needs token_endpoint_auth_method and grant_types
    _check_audience,
    _check_contacts,
    _check_cors_origins,
    partial(_check_web_uri, "policy_uri"),
    partial(_check_web_uri, "tos_uri"),
    partial(_check_web_uri, "client_uri"),
    partial(_check_web_uri, "logo_uri"),
    partial(_check_logout_uri, "frontchannel_logout_uri"),
    partial(_check_logout_uri, "backchannel_logout_uri"),
    _check_subject_type,
    _check_sector_identifier_uri,
    _check_keys,  # needs token_endpoint_auth_method
    _check_auth_signing_alg,
    _check_access_token_strategy,
    _check_metadata,
    _check_lifespans,
    _check_secret_expiry,
    _check_unsupported_fields,
    partial(_check_signing_alg, "request_object_signing_alg"),
    _check_userinfo_alg,
    _check_id_token_alg,
    partial(_check_name, "client_name"),
    partial(_check_flag, "skip_consent"),
    partial(_check_flag, "skip_logout_consent"),
    partial(_check_name, "owner"),
    partial(_check_flag, "frontchannel_logout_session_required"),
    partial(_check_flag, "backchannel_logout_session_required"),
    partial(_check_flag, "require_pushed_authorization_requests"),
    partial(_check_flag, "dpop_bound_access_tokens"),
    _check_unknown_fields,
)


def validate_client_document(
    document: Any,
    *,
    client_id: str | None = None,
    secret_required: bool = True,
    allow_client_id: bool = True,
    subject_types: tuple[str, ...] = SUBJECT_TYPES,
    private_hosts: bool = False,
) -> ValidatedClient:
    """Validate Hydra ``oAuth2Client`` JSON and fill in Hydra's defaults.

    ``client_id``: the id of an existing client (PUT/PATCH); a different id in the body is
    refused. ``secret_required``: generate a secret when none is given (creation); on
    update an absent secret keeps the stored one. ``subject_types``: the ones the server
    offers (``OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES``). ``private_hosts`` (``--dev``):
    logout URIs may use plain http and private addresses.
    """
    if not isinstance(document, dict):
        raise InvalidClientMetadata("The request body must be a JSON object.")
    draft = _Draft(
        document,
        _Reader(document),
        client_id,
        secret_required,
        allow_client_id,
        subject_types,
        private_hosts,
    )
    for check in _CHECKS:
        check(draft)
    return ValidatedClient(client=Client(**draft.values), secret=draft.secret)


def _split_url(value: str):
    try:
        return urlsplit(value)
    except ValueError:
        return None


def _origin(uri: str) -> tuple[str, str, int | None] | None:
    parts = _split_url(uri)
    if parts is None:
        return None
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.scheme, parts.hostname or "", port)


# Schemes that run or read something in the browser instead of reaching an app.
_DANGEROUS_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})


def _validate_redirect_uri(name: str, uri: str) -> None:
    """RFC 6749 §3.1.2: absolute, no fragment. Custom schemes are fine (native apps), not
    the ones a browser would execute or read locally. ASCII only (RFC 3986; an IRI must
    be percent-encoded): the URI becomes a Location header as it is."""
    parts = _split_url(uri)
    if parts is None or not parts.scheme:
        raise InvalidRedirectUri(f"Field {name}: {uri!r} is not an absolute URI.")
    if parts.scheme.lower() in _DANGEROUS_SCHEMES:
        raise InvalidRedirectUri(f"Field {name}: the {parts.scheme}: scheme is not allowed.")
    if not uri.isascii() or not uri.isprintable():
        raise InvalidRedirectUri(
            f"Field {name}: {uri!r} must be ASCII without control characters "
            "(percent-encode anything else)."
        )
    if parts.fragment or "#" in uri:
        raise InvalidRedirectUri(f"Field {name}: {uri!r} must not contain a fragment (#...).")
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise InvalidRedirectUri(f"Field {name}: {uri!r} has no host.")
    if "@" in parts.netloc:
        # https://trusted.example@evil.example/ reads as one host and goes to another.
        raise InvalidRedirectUri(f"Field {name}: {uri!r} must not contain user information (@).")
    if any(ch.isspace() for ch in uri):
        raise InvalidRedirectUri(f"Field {name}: {uri!r} contains whitespace.")


def is_loopback_url(parts) -> bool:
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761 §6.3
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: 127.evil.example is not loopback


def _validate_fetch_url(name: str, value: str) -> None:
    """A URL the server itself fetches: https, or plain http to a loopback host."""
    parts = _split_url(value)
    if (
        parts is None
        or not parts.hostname
        or parts.fragment
        or "@" in parts.netloc
        or not value.isascii()
        or not value.isprintable()
        or any(ch.isspace() for ch in value)
    ):
        raise InvalidClientMetadata(f"Field {name} must be an absolute https URL.")
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_url(parts)):
        raise InvalidClientMetadata(
            f"Field {name} must use https (plain http only to a loopback host)."
        )


class _Reader:
    """Typed access to an untrusted JSON object, raising ``InvalidClientMetadata``."""

    def __init__(self, document: dict[str, Any]):
        self._document = document

    def string(
        self, name: str, default: str | None = "", max_length: int | None = None
    ) -> str | None:
        value = self._document.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InvalidClientMetadata(f"Field {name} must be a string.")
        if max_length is not None and len(value.strip()) > max_length:
            # Stored in a column of this size (and searched by it).
            raise InvalidClientMetadata(f"Field {name} is longer than {max_length} characters.")
        return value.strip()

    def string_list(self, name: str) -> list[str]:
        value = self._document.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidClientMetadata(f"Field {name} must be an array of strings.")
        items = [item.strip() for item in value]
        if any(not item for item in items):
            raise InvalidClientMetadata(f"Field {name} must not contain empty strings.")
        return list(dict.fromkeys(items))

    def boolean(self, name: str) -> bool:
        value = self._document.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise InvalidClientMetadata(f"Field {name} must be true or false.")
        return value
