"""Initial schema: OAuth2 clients, access tokens (by signature digest) and signing keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth2_clients",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("client_name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_oauth2_clients"),
    )
    op.create_index("ix_oauth2_clients_owner", "oauth2_clients", ["owner"])

    op.create_table(
        "oauth2_access_tokens",
        sa.Column("signature_digest", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name="fk_oauth2_access_tokens_client_id_oauth2_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signature_digest", name="pk_oauth2_access_tokens"),
    )
    op.create_index("ix_oauth2_access_tokens_request_id", "oauth2_access_tokens", ["request_id"])
    op.create_index("ix_oauth2_access_tokens_client_id", "oauth2_access_tokens", ["client_id"])
    op.create_index("ix_oauth2_access_tokens_expires_at", "oauth2_access_tokens", ["expires_at"])

    op.create_table(
        "jwks",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("set_id", sa.String(255), nullable=False),
        sa.Column("kid", sa.String(255), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("use", sa.String(8), nullable=False),
        sa.Column("public_key", sa.JSON(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_jwks"),
        sa.UniqueConstraint("set_id", "kid", name="uq_jwks_set_id_kid"),
    )
    op.create_index("ix_jwks_set_id_created_at", "jwks", ["set_id", "created_at"])


def downgrade():
    op.drop_table("jwks")
    op.drop_table("oauth2_access_tokens")
    op.drop_table("oauth2_clients")
