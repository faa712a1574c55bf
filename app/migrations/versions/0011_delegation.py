"""delegation (RFC 8693 chain of agency): a policy's delegation rule, each delegated token's
user and parent token, and the chain a JIT request was opened under

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delegation", sa.String(length=16), nullable=False, server_default="allowed")
        )
    with op.batch_alter_table("issued_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("parent_jti", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_issued_token_parent_jti", ["parent_jti"])
    with op.batch_alter_table("jit_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delegation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jit_request", schema=None) as batch_op:
        batch_op.drop_column("delegation")
    with op.batch_alter_table("issued_token", schema=None) as batch_op:
        batch_op.drop_index("ix_issued_token_parent_jti")
        batch_op.drop_column("parent_jti")
        batch_op.drop_column("subject")
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.drop_column("delegation")
