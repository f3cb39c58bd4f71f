"""Modern OAuth: pushed authorization requests (RFC 9126), DPoP-bound tokens (RFC 9449) and
the actor of an exchanged token (RFC 8693).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tables whose tokens can be bound to a DPoP key (the RFC 7638 thumbprint, 43 characters).
_BOUND = ("oauth2_access_tokens", "oauth2_refresh_tokens", "oauth2_authorization_codes")


def upgrade():
    op.create_table(
        "oauth2_pushed_requests",
        # SHA-256 of the request_uri's random part: the reference itself is not kept.
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        # The authorization request's parameters as pushed ({name: [values]}).
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth2_clients.id"],
            name=op.f("fk_oauth2_pushed_requests_client_id_oauth2_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_oauth2_pushed_requests")),
    )
    with op.batch_alter_table("oauth2_pushed_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth2_pushed_requests_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_oauth2_pushed_requests_expires_at"), ["expires_at"])
    for table in _BOUND:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))
    with op.batch_alter_table("oauth2_access_tokens", schema=None) as batch_op:
        # RFC 8693 §4.1: who acts for the subject of a token issued by token exchange.
        batch_op.add_column(sa.Column("act", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("oauth2_access_tokens", schema=None) as batch_op:
        batch_op.drop_column("act")
    for table in _BOUND:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("dpop_jkt")
    op.drop_table("oauth2_pushed_requests")
