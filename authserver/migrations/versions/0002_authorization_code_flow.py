"""Authorization code flow: login/consent flows (consent sessions), login sessions,
authorization codes, refresh tokens and logout requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth2_login_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cookie_digest", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("authenticated_at", sa.BigInteger(), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("identity_provider_session_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth2_login_sessions")),
        sa.UniqueConstraint("cookie_digest", name=op.f("uq_oauth2_login_sessions_cookie_digest")),
    )
    with op.batch_alter_table("oauth2_login_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_login_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_login_sessions_subject"), ["subject"], unique=False
        )

    op.create_table(
        "oauth2_logout_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("post_logout_redirect_uri", sa.Text(), nullable=False),
        sa.Column("rp_initiated", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth2_logout_requests")),
        sa.UniqueConstraint("challenge", name=op.f("uq_oauth2_logout_requests_challenge")),
        sa.UniqueConstraint("verifier", name=op.f("uq_oauth2_logout_requests_verifier")),
    )
    with op.batch_alter_table("oauth2_logout_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_logout_requests_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "oauth2_authorization_codes",
        sa.Column("signature_digest", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=16), nullable=True),
        sa.Column("session", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_authorization_codes_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signature_digest", name=op.f("pk_oauth2_authorization_codes")),
    )
    with op.batch_alter_table("oauth2_authorization_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_authorization_codes_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_authorization_codes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_authorization_codes_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "oauth2_flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("login_challenge", sa.String(length=64), nullable=False),
        sa.Column("login_verifier", sa.String(length=64), nullable=True),
        sa.Column("login_csrf", sa.String(length=64), nullable=False),
        sa.Column("login_skip", sa.Boolean(), nullable=False),
        sa.Column("login", sa.JSON(), nullable=True),
        sa.Column("login_error", sa.JSON(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("login_session_id", sa.String(length=64), nullable=True),
        sa.Column("authenticated_at", sa.BigInteger(), nullable=True),
        sa.Column("consent_challenge", sa.String(length=64), nullable=True),
        sa.Column("consent_verifier", sa.String(length=64), nullable=True),
        sa.Column("consent_csrf", sa.String(length=64), nullable=True),
        sa.Column("consent_skip", sa.Boolean(), nullable=False),
        sa.Column("consent", sa.JSON(), nullable=True),
        sa.Column("consent_error", sa.JSON(), nullable=True),
        sa.Column("consent_remember", sa.Boolean(), nullable=False),
        sa.Column("consent_remember_until", sa.BigInteger(), nullable=True),
        sa.Column("consent_handled_at", sa.BigInteger(), nullable=True),
        sa.Column("consent_revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_flows_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth2_flows")),
        sa.UniqueConstraint("consent_challenge", name=op.f("uq_oauth2_flows_consent_challenge")),
        sa.UniqueConstraint("consent_verifier", name=op.f("uq_oauth2_flows_consent_verifier")),
        sa.UniqueConstraint("login_challenge", name=op.f("uq_oauth2_flows_login_challenge")),
        sa.UniqueConstraint("login_verifier", name=op.f("uq_oauth2_flows_login_verifier")),
    )
    with op.batch_alter_table("oauth2_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth2_flows_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth2_flows_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_oauth2_flows_login_session_id", ["login_session_id"], unique=False
        )
        batch_op.create_index(
            "ix_oauth2_flows_subject_client_id", ["subject", "client_id"], unique=False
        )

    op.create_table(
        "oauth2_refresh_tokens",
        sa.Column("signature_digest", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("session", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_refresh_tokens_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signature_digest", name=op.f("pk_oauth2_refresh_tokens")),
    )
    with op.batch_alter_table("oauth2_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_refresh_tokens_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_refresh_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_refresh_tokens_request_id"), ["request_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("oauth2_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_refresh_tokens_request_id"))
        batch_op.drop_index(batch_op.f("ix_oauth2_refresh_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth2_refresh_tokens_client_id"))

    op.drop_table("oauth2_refresh_tokens")
    with op.batch_alter_table("oauth2_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth2_flows_subject_client_id")
        batch_op.drop_index("ix_oauth2_flows_login_session_id")
        batch_op.drop_index(batch_op.f("ix_oauth2_flows_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth2_flows_client_id"))

    op.drop_table("oauth2_flows")
    with op.batch_alter_table("oauth2_authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_authorization_codes_request_id"))
        batch_op.drop_index(batch_op.f("ix_oauth2_authorization_codes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth2_authorization_codes_client_id"))

    op.drop_table("oauth2_authorization_codes")
    with op.batch_alter_table("oauth2_logout_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_logout_requests_expires_at"))

    op.drop_table("oauth2_logout_requests")
    with op.batch_alter_table("oauth2_login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_login_sessions_subject"))
        batch_op.drop_index(batch_op.f("ix_oauth2_login_sessions_expires_at"))

    op.drop_table("oauth2_login_sessions")
