"""Device authorization grant (RFC 8628): device codes and device challenges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth2_device_codes",
        sa.Column("signature_digest", sa.String(length=64), nullable=False),
        sa.Column("user_code_digest", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", sa.BigInteger(), nullable=True),
        sa.Column("user_code_used", sa.Boolean(), nullable=False),
        sa.Column("session", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_device_codes_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signature_digest", name=op.f("pk_oauth2_device_codes")),
        sa.UniqueConstraint(
            "user_code_digest", name=op.f("uq_oauth2_device_codes_user_code_digest")
        ),
    )
    with op.batch_alter_table("oauth2_device_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_device_codes_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_device_codes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_device_codes_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "oauth2_device_challenges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("challenge_digest", sa.String(length=64), nullable=False),
        sa.Column("csrf_digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("verifier_digest", sa.String(length=64), nullable=True),
        sa.Column("device_signature_digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth2_device_challenges")),
        sa.UniqueConstraint(
            "challenge_digest", name=op.f("uq_oauth2_device_challenges_challenge_digest")
        ),
        sa.UniqueConstraint(
            "verifier_digest", name=op.f("uq_oauth2_device_challenges_verifier_digest")
        ),
    )
    with op.batch_alter_table("oauth2_device_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_device_challenges_csrf_digest"), ["csrf_digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth2_device_challenges_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("oauth2_device_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_device_challenges_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth2_device_challenges_csrf_digest"))

    op.drop_table("oauth2_device_challenges")
    with op.batch_alter_table("oauth2_device_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_device_codes_request_id"))
        batch_op.drop_index(batch_op.f("ix_oauth2_device_codes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth2_device_codes_client_id"))

    op.drop_table("oauth2_device_codes")
