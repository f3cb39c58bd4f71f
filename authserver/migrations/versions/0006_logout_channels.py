"""Logout channels: back-channel logout deliveries still to be made (OpenID Connect
Back-Channel Logout 1.0), kept in the database so that a crash or restart loses none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth2_logout_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        # The client's backchannel_logout_uri when the session ended.
        sa.Column("uri", sa.Text(), nullable=False),
        # What the logout token will name: the sub as this client knows it, the sid.
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        # A sender owns the delivery until then (a process that dies while sending lets
        # go of it when the lease ends; another process then sends it).
        sa.Column("lease_until", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("give_up_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_logout_deliveries_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth2_logout_deliveries")),
    )
    with op.batch_alter_table("oauth2_logout_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth2_logout_deliveries_next_attempt_at"), ["next_attempt_at"]
        )
        batch_op.create_index(batch_op.f("ix_oauth2_logout_deliveries_client_id"), ["client_id"])


def downgrade():
    op.drop_table("oauth2_logout_deliveries")
