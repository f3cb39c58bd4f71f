"""SQLAlchemy models. The schema itself is created and changed only by the Alembic
migrations in ``authserver/migrations``; these classes describe it for queries.

Times of tokens are integer UNIX seconds: cheap to compare for expiry and for the
janitor, and free of time-zone handling differences between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ClientRow(Base):
    """An OAuth2 client. The columns queried on their own are columns; the rest of Hydra's
    client metadata, validated by ``authserver.domain.clients``, is one JSON document."""

    __tablename__ = "oauth2_clients"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    client_name: Mapped[str] = mapped_column(String(255), default="")
    owner: Mapped[str] = mapped_column(String(255), default="", index=True)
    # argon2id hash of the client secret (None for public clients).
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    # client_secret_jwt only: the secret itself, Fernet-encrypted with the system secret.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # Secrets a rotation replaced, still valid until dropped: [{"hash", "encrypted",
    # "rotated_at"}], newest first, at most five.
    rotated_secrets: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # RFC 7592: SHA-256 (hex) of a dynamically registered client's registration token.
    registration_token_digest: Mapped[str | None] = mapped_column(String(64))
    registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_used_at: Mapped[int | None] = mapped_column(BigInteger)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessTokenRow(Base):
    """An issued access token, keyed by SHA-256 of its signature (never the token itself)."""

    __tablename__ = "oauth2_access_tokens"

    signature_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # One authorization grant (a code redemption, a client-credentials call) is one request
    # id; revoking a grant revokes every token that shares it.
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Extra claims for introspection's "ext" (the consent session's access_token claims).
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # "opaque" or "jwt": how the token was minted, so introspection verifies it the same way.
    format: Mapped[str] = mapped_column(String(16), default="opaque")
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # RFC 9449: the thumbprint of the DPoP key the token is bound to (None: a Bearer token).
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    # RFC 8693 §4.1: the actor of a delegated token (from token exchange), nested actors inside.
    act: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JtiRow(Base):
    """A JWT id seen in a client assertion or a JWT bearer grant, kept until the JWT
    expires so a replay collides with it (RFC 7523 §3 item 7)."""

    __tablename__ = "oauth2_jti"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class PushedRequestRow(Base):
    """A pushed authorization request (RFC 9126), by SHA-256 of its request_uri's random
    part; ``used`` flips once, so of concurrent uses exactly one wins."""

    __tablename__ = "oauth2_pushed_requests"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LogoutDeliveryRow(Base):
    """A back-channel logout still to be delivered to a client (sent, retried with backoff,
    deleted once the client answered 200 or the retries ran out)."""

    __tablename__ = "oauth2_logout_deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    uri: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(255))
    sid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    give_up_at: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(255))


class TrustedJwtIssuerRow(Base):
    """Hydra's ``trustOAuth2JwtGrantIssuer``: an issuer whose JWTs (signed with this key,
    about this subject or any) may be exchanged for access tokens with up to this scope."""

    __tablename__ = "trust_jwt_grant_issuers"
    __table_args__ = (UniqueConstraint("issuer", "subject", "key_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255), default="")
    allow_any_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_set: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JsonWebKeyRow(Base):
    """A signing key. The private half is encrypted with the system secret (Fernet)."""

    __tablename__ = "jwks"
    __table_args__ = (UniqueConstraint("set_id", "kid"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(String(255))
    kid: Mapped[str] = mapped_column(String(255))
    alg: Mapped[str] = mapped_column(String(16))
    use: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index("ix_jwks_set_id_created_at", JsonWebKeyRow.set_id, JsonWebKeyRow.created_at)


class FlowRow(Base):
    """One authorization request on its way through login and consent (Hydra's "flow").

    Challenges, verifiers and CSRF values are stored as SHA-256 digests only. After the
    code is issued the row lives on as the *consent session* that Hydra's admin API lists
    and revokes (its id is the request id of every token issued from it).
    """

    __tablename__ = "oauth2_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    request_url: Mapped[str] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    login_challenge: Mapped[str] = mapped_column(String(64), unique=True)
    login_verifier: Mapped[str | None] = mapped_column(String(64), unique=True)
    login_csrf: Mapped[str] = mapped_column(String(64))
    login_skip: Mapped[bool] = mapped_column(Boolean, default=False)
    login: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the accepted login
    login_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    subject: Mapped[str | None] = mapped_column(String(255))
    login_session_id: Mapped[str | None] = mapped_column(String(64))
    authenticated_at: Mapped[int | None] = mapped_column(BigInteger)
    consent_challenge: Mapped[str | None] = mapped_column(String(64), unique=True)
    consent_verifier: Mapped[str | None] = mapped_column(String(64), unique=True)
    consent_csrf: Mapped[str | None] = mapped_column(String(64))
    consent_skip: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the accepted consent
    consent_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    consent_remember: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_remember_until: Mapped[int | None] = mapped_column(BigInteger)  # None: forever
    consent_handled_at: Mapped[int | None] = mapped_column(BigInteger)
    consent_revoked: Mapped[bool] = mapped_column(Boolean, default=False)


Index("ix_oauth2_flows_subject_client_id", FlowRow.subject, FlowRow.client_id)
Index("ix_oauth2_flows_login_session_id", FlowRow.login_session_id)


class LoginSessionRow(Base):
    """A remembered authentication in one browser. The cookie carries a random value whose
    digest is ``cookie_digest``; ``id`` is the public session id (the ID token's ``sid``)."""

    __tablename__ = "oauth2_login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cookie_digest: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    authenticated_at: Mapped[int] = mapped_column(BigInteger)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, index=True)
    identity_provider_session_id: Mapped[str] = mapped_column(String(255), default="")


class AuthorizationCodeRow(Base):
    """An authorization code, by signature digest. Kept after use (``used``) so that a second
    redemption is recognised and revokes what the first one issued."""

    __tablename__ = "oauth2_authorization_codes"

    signature_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    session: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 9449 §10: the DPoP key named by dpop_jkt at the authorization request.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class RefreshTokenRow(Base):
    """A refresh token, by signature digest. Rotation deactivates the old one; presenting an
    inactive one again is reuse and revokes its whole grant (``request_id``)."""

    __tablename__ = "oauth2_refresh_tokens"

    signature_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    session: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class LogoutRequestRow(Base):
    """An RP-initiated logout on its way through the logout app (challenge and verifier as
    digests)."""

    __tablename__ = "oauth2_logout_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge: Mapped[str] = mapped_column(String(64), unique=True)
    verifier: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(255), default="")
    session_id: Mapped[str] = mapped_column(String(64), default="")
    client_id: Mapped[str | None] = mapped_column(String(255))
    request_url: Mapped[str] = mapped_column(Text)
    # Where to send the browser afterwards, with the RP's state already appended.
    post_logout_redirect_uri: Mapped[str] = mapped_column(Text, default="")
    rp_initiated: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class DeviceCodeRow(Base):
    """A device authorization (RFC 8628): the device code's signature digest, the user
    code's digest, and once the user approved, the granted session. Kept after redemption
    (``redeemed``) so that a second redemption is recognised and revokes the first's tokens."""

    __tablename__ = "oauth2_device_codes"

    signature_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[int | None] = mapped_column(BigInteger)
    user_code_used: Mapped[bool] = mapped_column(Boolean, default=False)
    session: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DeviceChallengeRow(Base):
    """A browser at the device verification page (challenge, CSRF and verifier as digests)."""

    __tablename__ = "oauth2_device_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge_digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_digest: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    verifier_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    device_signature_digest: Mapped[str | None] = mapped_column(String(64))
