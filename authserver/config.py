"""Configuration: Hydra's keys and environment names, one typed ``Settings`` object.

Sources, lowest priority first: built-in defaults, an optional YAML file (``-c FILE``,
nested the way Hydra's config file is: ``urls: {self: {issuer: ...}}``), then environment
variables named after the key path (``urls.self.issuer`` -> ``URLS_SELF_ISSUER``).

Validation is fail-fast and exhaustive: every problem is reported on its own line, so
an operator fixes them all in one go instead of one restart per mistake.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authserver.domain.durations import DurationError, parse_duration

DEFAULT_DSN = "sqlite:///authserver.sqlite"
MIN_SECRET_LENGTH = 16
# Values published in guides and quickstarts: a server using one of them has no secret.
PUBLISHED_EXAMPLE_SECRETS = frozenset(
    {
        "this_needs_to_be_the_same_always_and_also_very_$3cuR3-._",
        "youReallyNeedToChangeThis",
        "changemechangemechangeme",
    }
)
SUPPORTED_DSN_SCHEMES = ("memory", "sqlite://", "postgres://", "postgresql://")
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


class ConfigError(Exception):
    """Raised with every configuration problem found, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


DEFAULT_CLIENT_SCOPE = ("offline_access", "offline", "openid")
# Hydra's defaults (driver/config/serve.go).
CORS_DEFAULT_METHODS = (
    "POST",
    "GET",
    "PUT",
    "PATCH",
    "DELETE",
    "CONNECT",
    "HEAD",
    "OPTIONS",
    "TRACE",
)
CORS_DEFAULT_HEADERS = (
    "Accept",
    "Content-Type",
    "Content-Length",
    "Accept-Language",
    "Content-Language",
    "Authorization",
    "DPoP",  # not in Hydra's defaults: a browser app's DPoP proofs (RFC 9449)
)
CORS_DEFAULT_EXPOSED = (
    "Cache-Control",
    "Expires",
    "Last-Modified",
    "Pragma",
    "Content-Length",
    "Content-Language",
    "Content-Type",
    "DPoP-Nonce",  # not in Hydra's defaults: RFC 9449 §8 nonces for browser apps
    "WWW-Authenticate",
)


@dataclass(frozen=True)
class CorsSettings:
    """One app's CORS policy (Hydra's ``serve.<app>.cors.*``)."""

    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    allowed_methods: tuple[str, ...] = CORS_DEFAULT_METHODS
    allowed_headers: tuple[str, ...] = CORS_DEFAULT_HEADERS
    exposed_headers: tuple[str, ...] = CORS_DEFAULT_EXPOSED
    allow_credentials: bool = True
    max_age: int = 0
    debug: bool = False


@dataclass(frozen=True)
class Settings:
    """The server's configuration, already validated. Read it through these attributes only."""

    dsn: str
    secrets_system: tuple[str, ...]
    secrets_cookie: tuple[str, ...]
    issuer: str
    public_url: str
    login_url: str | None
    consent_url: str | None
    logout_url: str | None
    error_url: str | None
    post_logout_redirect_url: str | None
    access_token_ttl: int
    refresh_token_ttl: int
    id_token_ttl: int
    auth_code_ttl: int
    login_consent_request_ttl: int
    access_token_strategy: str
    public_host: str
    public_port: int
    admin_host: str
    admin_port: int
    log_level: str
    log_format: str
    pkce_enforced: bool
    pkce_enforced_for_public_clients: bool
    tls_allow_termination_from: tuple[str, ...]
    device_verification_url: str | None = None
    device_success_url: str | None = None
    device_user_code_ttl: int = 900
    device_polling_interval: int = 5
    device_user_code_entropy_preset: str = "high"
    clients_cache_ttl: float = 5.0
    # RFC 7591/7592 dynamic registration (Hydra's oidc.dynamic_client_registration.*).
    dynamic_registration_enabled: bool = False
    dynamic_registration_default_scope: tuple[str, ...] = DEFAULT_CLIENT_SCOPE
    # Not a Hydra option: registrations per minute per source address (0: unlimited).
    dynamic_registration_rate_limit: int = 60
    # OIDC Core §8 (Hydra's oidc.subject_identifiers.*).
    subject_types_supported: tuple[str, ...] = ("public",)
    pairwise_salt: str = ""
    # RFC 7523 JWT bearer grant (Hydra's oauth2.grant.jwt.*).
    jwt_grant_jti_optional: bool = False
    jwt_grant_iat_optional: bool = False
    jwt_grant_max_ttl: int = 30 * 24 * 3600
    # RFC 9126 (not Hydra options; named as Hydra would: oauth2.pushed_authorization_requests.*,
    # ttl.pushed_authorization_request).
    par_required: bool = False
    par_ttl: int = 60
    # RFC 9449 §8: every DPoP proof must carry a fresh server nonce.
    dpop_nonce_required: bool = False
    # draft-ietf-oauth-client-id-metadata-document: URL client ids name their metadata.
    client_id_metadata_documents_enabled: bool = False
    # argon2id cost of client secrets (Hydra 1.x's oauth2.hashers.argon2.*): OWASP's
    # m=19 MiB, t=2 by default; lower only where secrets are throwaway (test suites).
    argon2_memory_kib: int = 19 * 1024
    argon2_iterations: int = 2
    # CORS (Hydra's serve.public.cors.* and serve.admin.cors.*).
    public_cors: CorsSettings = field(default_factory=lambda: CorsSettings())
    admin_cors: CorsSettings = field(default_factory=lambda: CorsSettings())
    database_connect_timeout: float = 5.0
    database_statement_timeout: float = 10.0
    database_pool_timeout: float = 5.0
    # Connections one process may hold; set by `serve` from its threads and workers
    # (None: the DSN's max_conns, else 8).
    database_pool_size: int | None = None
    # Hydra's tracing.provider: "" (off) or "otel" (OpenTelemetry, exported as the OTEL_*
    # variables say; see authserver.tracing).
    tracing_provider: str = ""
    tracing_service_name: str = "authserver"
    dev: bool = False
    # True when --dev made up a random system secret because none was configured.
    secrets_generated: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def is_memory_database(self) -> bool:
        return self.dsn == "memory"


@dataclass(frozen=True)
class _Option:
    path: str  # dotted key in the YAML file
    parse: Callable[[Any], Any]
    default: Any = None

    @property
    def env_name(self) -> str:
        return self.path.upper().replace(".", "_")


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError("expected a single value")
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        items = [str(item).strip() for item in value]
    else:
        items = [item.strip() for item in str(value).split(",")]
    return tuple(item for item in items if item)


def _seconds(value: Any) -> float:
    try:
        return parse_duration(str(value))
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _duration(value: Any) -> int:
    seconds = _seconds(value)
    if seconds < 1:
        raise ValueError(f"{value!r} is shorter than one second")
    return int(seconds)


def _duration_or_zero(value: Any) -> float:
    """A duration where ``0`` means "off" (cache lifetimes)."""
    seconds = _seconds(value)
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    return seconds


def _positive_seconds(value: Any) -> float:
    seconds = _seconds(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


def _port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not between 1 and 65535")
    return port


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).lower()
        if text not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return text

    return parse


def _tracing_provider(value: Any) -> str:
    """Hydra's providers (jaeger, zipkin, datadog, ...) all take OpenTelemetry's OTLP now,
    through a collector: only ``otel`` is offered."""
    text = _text(value).lower()
    if text not in ("", "otel"):
        raise ValueError(f"{value!r} is not supported: use otel (OpenTelemetry), or leave it empty")
    return text


def _count(value: Any) -> int:
    """A whole number >= 0 (limits, where 0 means "off", and seconds of cache age)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number


_MEMORY_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
_MEMORY = re.compile(r"([0-9]{1,12})\s*([A-Za-z]{0,3})")


def _argon2_memory(value: Any) -> int:
    """A memory size ("19MiB", "64KiB", bytes) as whole KiB, at least argon2's 8 KiB."""
    match = _MEMORY.fullmatch(str(value).strip())
    unit = _MEMORY_UNITS.get(match.group(2).lower()) if match else None
    if unit is None:
        raise ValueError(f"{value!r} is not a size such as 19MiB or 64KiB")
    kib = int(match.group(1)) * unit // 1024
    if not 8 <= kib <= 4 * 1024 * 1024:
        raise ValueError(f"{value!r} must be between 8KiB and 4GiB")
    return kib


def _iterations(value: Any) -> int:
    number = _count(value)
    if not 1 <= number <= 100:
        raise ValueError(f"{value!r} must be between 1 and 100")
    return number


def _scope_list(value: Any) -> tuple[str, ...]:
    scopes = tuple(item for entry in _string_list(value) for item in entry.split())
    for scope in scopes:
        # RFC 6749 appendix A.4: what a client could never ask for is a typo.
        if not scope.isascii() or not scope.isprintable() or '"' in scope or "\\" in scope:
            raise ValueError(f"{scope!r} is not a scope token")
    return scopes


def _upper_list(value: Any) -> tuple[str, ...]:
    return tuple(item.upper() for item in _string_list(value))


def _subject_types(value: Any) -> tuple[str, ...]:
    types = _string_list(value)
    unknown = [item for item in types if item not in ("public", "pairwise")]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: subject types are public and pairwise")
    return types or ("public",)


def _cors_origins(value: Any) -> tuple[str, ...]:
    """Origins (``https://app.example``), ``*``, or one ``*`` wildcard in the host
    (``https://*.example.com``), as Hydra's CORS matcher takes them."""
    origins = _string_list(value)
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin.replace("*", "wildcard", 1))
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path.strip("/")
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
            or origin.count("*") > 1
        ):
            raise ValueError(f"{origin!r} is not an origin (example: https://app.example)")
    return tuple(origin.rstrip("/") for origin in origins)


def _cidr_list(value: Any) -> tuple[str, ...]:
    networks = _string_list(value)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{network!r} is not an IP network (example: 10.0.0.0/8)") from None
    return networks


_OPTIONS = (
    _Option("dsn", _text, DEFAULT_DSN),
    _Option("secrets.system", _string_list, ()),
    _Option("secrets.cookie", _string_list, ()),
    _Option("urls.self.issuer", _optional_text),
    _Option("urls.self.public", _optional_text),
    _Option("urls.login", _optional_text),
    _Option("urls.consent", _optional_text),
    _Option("urls.logout", _optional_text),
    _Option("urls.error", _optional_text),
    _Option("urls.post_logout_redirect", _optional_text),
    _Option("urls.device.verification", _optional_text),
    _Option("urls.device.success", _optional_text),
    _Option("ttl.access_token", _duration, 3600),
    _Option("ttl.refresh_token", _duration, 720 * 3600),
    _Option("ttl.id_token", _duration, 3600),
    _Option("ttl.auth_code", _duration, 600),
    _Option("ttl.login_consent_request", _duration, 1800),
    _Option("ttl.device_user_code", _duration, 900),
    _Option("oauth2.device_authorization.token_polling_interval", _duration, 5),
    _Option(
        "oauth2.device_authorization.user_code.entropy_preset",
        _choice("high", "medium", "low"),
        "high",
    ),
    _Option("strategies.access_token", _choice("opaque", "jwt"), "opaque"),
    _Option("serve.public.host", _text, "127.0.0.1"),
    _Option("serve.public.port", _port, 4444),
    _Option("serve.admin.host", _text, "127.0.0.1"),
    _Option("serve.admin.port", _port, 4445),
    _Option("serve.tls.allow_termination_from", _cidr_list, ()),
    _Option("log.level", _choice(*LOG_LEVELS), "info"),
    _Option("log.format", _choice("text", "json"), "text"),
    _Option("tracing.provider", _tracing_provider, ""),
    _Option("tracing.service_name", _text, "authserver"),
    _Option("oauth2.pkce.enforced", _boolean, False),
    _Option("oauth2.pkce.enforced_for_public_clients", _boolean, True),
    _Option("oauth2.grant.jwt.jti_optional", _boolean, False),
    _Option("oauth2.grant.jwt.iat_optional", _boolean, False),
    _Option("oauth2.grant.jwt.max_ttl", _duration, 30 * 24 * 3600),
    _Option("oauth2.pushed_authorization_requests.enforced", _boolean, False),
    _Option("ttl.pushed_authorization_request", _duration, 60),
    _Option("oauth2.dpop.nonce_required", _boolean, False),
    _Option("oauth2.client_id_metadata_documents.enabled", _boolean, False),
    _Option("oauth2.hashers.argon2.memory", _argon2_memory, 19 * 1024),
    _Option("oauth2.hashers.argon2.iterations", _iterations, 2),
    _Option("oidc.dynamic_client_registration.enabled", _boolean, False),
    _Option("oidc.dynamic_client_registration.default_scope", _scope_list, DEFAULT_CLIENT_SCOPE),
    # Not a Hydra option: a flood of registrations from one address is bounded.
    _Option("oidc.dynamic_client_registration.rate_limit", _count, 60),
    _Option("oidc.subject_identifiers.supported_types", _subject_types, ("public",)),
    _Option("oidc.subject_identifiers.pairwise.salt", _text, ""),
    *(
        option
        for app in ("public", "admin")
        for option in (
            _Option(f"serve.{app}.cors.enabled", _boolean, False),
            _Option(f"serve.{app}.cors.allowed_origins", _cors_origins, ()),
            _Option(f"serve.{app}.cors.allowed_methods", _upper_list, CORS_DEFAULT_METHODS),
            _Option(f"serve.{app}.cors.allowed_headers", _string_list, CORS_DEFAULT_HEADERS),
            _Option(f"serve.{app}.cors.exposed_headers", _string_list, CORS_DEFAULT_EXPOSED),
            _Option(f"serve.{app}.cors.allow_credentials", _boolean, True),
            _Option(f"serve.{app}.cors.max_age", _count, 0),
            _Option(f"serve.{app}.cors.debug", _boolean, False),
        )
    ),
    # Not a Hydra option: how long a process may reuse a client record it read (0: never).
    _Option("clients.cache_ttl", _duration_or_zero, 5.0),
    # Not Hydra options: how long a request may wait for the database before it answers
    # 503 (a frozen database must not hang the server; see docs/scaling.md).
    _Option("database.connect_timeout", _positive_seconds, 5.0),
    _Option("database.statement_timeout", _positive_seconds, 10.0),
    _Option("database.pool_timeout", _positive_seconds, 5.0),
)
_KNOWN_PATHS = {option.path for option in _OPTIONS}
ENV_NAMES = tuple(option.env_name for option in _OPTIONS)


def load_settings(
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    dev: bool = False,
) -> Settings:
    """Read, parse and validate the configuration; raise ``ConfigError`` listing every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    file_values = _read_config_file(config_file, problems) if config_file else {}

    values: dict[str, Any] = {}
    for option in _OPTIONS:
        raw, source = _raw_value(option, env, file_values)
        try:
            values[option.path] = option.parse(raw) if raw is not None else option.default
        except ValueError as exc:
            problems.append(f"{source}: {exc}")
            values[option.path] = None

    warnings: list[str] = []
    system_secrets, generated = _validate_system_secrets(values, dev, problems, warnings)
    _validate_dsn(values["dsn"], problems)
    public_port = values["serve.public.port"] or 4444
    issuer = values["urls.self.issuer"] or f"http://127.0.0.1:{public_port}/"
    _validate_public_url("URLS_SELF_ISSUER", issuer, dev, problems)
    public_url = values["urls.self.public"] or issuer
    if values["urls.self.public"]:  # when derived from the issuer it was checked just above
        _validate_public_url("URLS_SELF_PUBLIC", public_url, dev, problems)
    for name in (
        "login",
        "consent",
        "logout",
        "error",
        "post_logout_redirect",
        "device.verification",
        "device.success",
    ):
        url = values[f"urls.{name}"]
        if url is not None:
            _validate_absolute_url(f"URLS_{name.upper().replace('.', '_')}", url, problems)

    subject_types = _validate_subject_types(values, problems)

    if problems:
        raise ConfigError(problems)

    return Settings(
        dsn=values["dsn"],
        secrets_system=system_secrets,
        secrets_cookie=values["secrets.cookie"] or system_secrets,
        issuer=issuer,
        public_url=public_url,
        login_url=values["urls.login"],
        consent_url=values["urls.consent"],
        logout_url=values["urls.logout"],
        error_url=values["urls.error"],
        post_logout_redirect_url=values["urls.post_logout_redirect"],
        device_verification_url=values["urls.device.verification"],
        device_success_url=values["urls.device.success"],
        device_user_code_ttl=values["ttl.device_user_code"],
        device_polling_interval=values["oauth2.device_authorization.token_polling_interval"],
        device_user_code_entropy_preset=values[
            "oauth2.device_authorization.user_code.entropy_preset"
        ],
        access_token_ttl=values["ttl.access_token"],
        refresh_token_ttl=values["ttl.refresh_token"],
        id_token_ttl=values["ttl.id_token"],
        auth_code_ttl=values["ttl.auth_code"],
        login_consent_request_ttl=values["ttl.login_consent_request"],
        access_token_strategy=values["strategies.access_token"],
        public_host=values["serve.public.host"],
        public_port=public_port,
        admin_host=values["serve.admin.host"],
        admin_port=values["serve.admin.port"],
        log_level=values["log.level"],
        log_format=values["log.format"],
        tracing_provider=values["tracing.provider"],
        tracing_service_name=values["tracing.service_name"] or "authserver",
        pkce_enforced=values["oauth2.pkce.enforced"],
        pkce_enforced_for_public_clients=values["oauth2.pkce.enforced_for_public_clients"],
        tls_allow_termination_from=values["serve.tls.allow_termination_from"],
        clients_cache_ttl=values["clients.cache_ttl"],
        dynamic_registration_enabled=values["oidc.dynamic_client_registration.enabled"],
        dynamic_registration_default_scope=values["oidc.dynamic_client_registration.default_scope"],
        dynamic_registration_rate_limit=values["oidc.dynamic_client_registration.rate_limit"],
        subject_types_supported=subject_types,
        pairwise_salt=values["oidc.subject_identifiers.pairwise.salt"],
        jwt_grant_jti_optional=values["oauth2.grant.jwt.jti_optional"],
        jwt_grant_iat_optional=values["oauth2.grant.jwt.iat_optional"],
        jwt_grant_max_ttl=values["oauth2.grant.jwt.max_ttl"],
        par_required=values["oauth2.pushed_authorization_requests.enforced"],
        par_ttl=values["ttl.pushed_authorization_request"],
        dpop_nonce_required=values["oauth2.dpop.nonce_required"],
        client_id_metadata_documents_enabled=values["oauth2.client_id_metadata_documents.enabled"],
        argon2_memory_kib=values["oauth2.hashers.argon2.memory"],
        argon2_iterations=values["oauth2.hashers.argon2.iterations"],
        public_cors=_cors_settings("public", values),
        admin_cors=_cors_settings("admin", values),
        database_connect_timeout=values["database.connect_timeout"],
        database_statement_timeout=values["database.statement_timeout"],
        database_pool_timeout=values["database.pool_timeout"],
        dev=dev,
        secrets_generated=generated,
        warnings=tuple(warnings),
    )


def _validate_subject_types(values: dict[str, Any], problems: list[str]) -> tuple[str, ...]:
    types = values["oidc.subject_identifiers.supported_types"] or ("public",)
    salt = values["oidc.subject_identifiers.pairwise.salt"] or ""
    if "pairwise" in types and len(salt) < 8:
        # Hydra's rule: a short salt would let anyone recompute the pairwise identifiers.
        problems.append(
            "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: pairwise subject identifiers need a salt "
            "of at least 8 characters (a random string)."
        )
    return types


def _cors_settings(app: str, values: dict[str, Any]) -> CorsSettings:
    prefix = f"serve.{app}.cors."
    return CorsSettings(
        **{
            name: values[prefix + name]
            for name in (
                "enabled",
                "allowed_origins",
                "allowed_methods",
                "allowed_headers",
                "exposed_headers",
                "allow_credentials",
                "max_age",
                "debug",
            )
        }
    )


def _raw_value(option: _Option, env: Mapping[str, str], file_values: dict[str, Any]):
    if option.env_name in env:
        return env[option.env_name], option.env_name
    if option.path in file_values:
        return file_values[option.path], f"{option.path} (config file)"
    return None, option.env_name


def _read_config_file(path: str | os.PathLike[str], problems: list[str]) -> dict[str, Any]:
    import yaml  # only for -c files: a server configured by environment never loads it

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"config file {path}: cannot be read ({exc.strerror})")
        return {}
    except yaml.YAMLError as exc:
        problems.append(f"config file {path}: not valid YAML ({exc.__class__.__name__})")
        return {}
    if document is None:
        return {}
    if not isinstance(document, dict):
        problems.append(f"config file {path}: the top level must be a mapping of keys")
        return {}
    flat: dict[str, Any] = {}
    _flatten(document, "", flat)
    for key in sorted(set(flat) - _KNOWN_PATHS):
        problems.append(f"config file {path}: unknown key {key!r}")
    return {key: value for key, value in flat.items() if key in _KNOWN_PATHS}


def _flatten(node: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in _KNOWN_PATHS:
            _flatten(value, path + ".", out)
        else:
            out[path] = value


def _validate_system_secrets(
    values: dict[str, Any], dev: bool, problems: list[str], warnings: list[str]
) -> tuple[tuple[str, ...], bool]:
    system = values["secrets.system"] or ()
    if not system:
        if dev:
            warnings.append(
                "SECRETS_SYSTEM is not set: --dev generated a random one, so tokens and keys "
                "will not survive a restart. Set SECRETS_SYSTEM to keep them."
            )
            return (secrets.token_urlsafe(32),), True
        problems.append(
            "SECRETS_SYSTEM: not set. Set it to at least one random string of "
            f"{MIN_SECRET_LENGTH}+ characters (e.g. `openssl rand -hex 32`); "
            "only --dev runs without it"
        )
        return (), False
    for position, secret in enumerate(system, start=1):
        weak = None
        if len(secret) < MIN_SECRET_LENGTH:
            weak = f"entry {position} is {len(secret)} characters, fewer than {MIN_SECRET_LENGTH}"
        elif secret in PUBLISHED_EXAMPLE_SECRETS:
            weak = f"entry {position} is an example value published in a guide"
        if weak and dev:
            warnings.append(f"SECRETS_SYSTEM: {weak} (allowed only because of --dev)")
        elif weak:
            problems.append(f"SECRETS_SYSTEM: {weak}; use a random secret")
    for position, secret in enumerate(values["secrets.cookie"] or (), start=1):
        if len(secret) < MIN_SECRET_LENGTH and not dev:
            problems.append(
                f"SECRETS_COOKIE: entry {position} is shorter than {MIN_SECRET_LENGTH} characters"
            )
    return system, False


def _validate_dsn(dsn: str | None, problems: list[str]) -> None:
    if dsn is None:
        return
    if dsn == "memory" or dsn.startswith(SUPPORTED_DSN_SCHEMES[1:]):
        return
    scheme = dsn.split("://", 1)[0] if "://" in dsn else dsn
    problems.append(
        f"DSN: unsupported scheme {scheme!r}; use memory, sqlite:///path/to/file.sqlite "
        "or postgres://user:password@host:5432/database"
    )


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _validate_absolute_url(name: str, url: str, problems: list[str]) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{name}: {url!r} is not an absolute http(s) URL")
        return False
    return True


def _validate_public_url(name: str, url: str, dev: bool, problems: list[str]) -> None:
    if not _validate_absolute_url(name, url, problems):
        return
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        problems.append(f"{name}: {url!r} must not have a query or fragment")
    if parts.scheme == "http" and not dev and not is_loopback_host(parts.hostname):
        problems.append(
            f"{name}: {url!r} uses plain http on a non-loopback host; use https, "
            "or --dev for local experiments"
        )
