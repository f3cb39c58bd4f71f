"""Clients beyond client secrets: key-based authentication, rotated secrets, dynamic
registration, single-use assertion ids and the JWT bearer grant's trusted issuers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("oauth2_clients", schema=None) as batch_op:
        # client_secret_jwt needs the secret itself: Fernet under the system secret.
        batch_op.add_column(sa.Column("secret_encrypted", sa.Text(), nullable=True))
        # Secrets replaced by a rotation that stay valid until dropped (newest first).
        batch_op.add_column(sa.Column("rotated_secrets", sa.JSON(), nullable=True))
        # RFC 7592: SHA-256 of the registration access token of a registered client.
        batch_op.add_column(
            sa.Column("registration_token_digest", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("registered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        # When the client first obtained a token (the janitor removes registered clients
        # that never did).
        batch_op.add_column(sa.Column("first_used_at", sa.BigInteger(), nullable=True))

    op.create_table(
        "oauth2_jti",
        # SHA-256 of (purpose, issuer or client, jti): a replayed assertion collides.
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_oauth2_jti")),
    )
    with op.batch_alter_table("oauth2_jti", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth2_jti_expires_at"), ["expires_at"])

    op.create_table(
        "trust_jwt_grant_issuers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("allow_any_subject", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("key_set", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("public_key", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_jwt_grant_issuers")),
        sa.UniqueConstraint(
            "issuer",
            "subject",
            "key_id",
            name=op.f("uq_trust_jwt_grant_issuers_issuer_subject_key_id"),
        ),
    )
    with op.batch_alter_table("trust_jwt_grant_issuers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_jwt_grant_issuers_expires_at"), ["expires_at"])


def downgrade():
    op.drop_table("trust_jwt_grant_issuers")
    op.drop_table("oauth2_jti")
    with op.batch_alter_table("oauth2_clients", schema=None) as batch_op:
        batch_op.drop_column("first_used_at")
        batch_op.drop_column("registered")
        batch_op.drop_column("registration_token_digest")
        batch_op.drop_column("rotated_secrets")
        batch_op.drop_column("secret_encrypted")
