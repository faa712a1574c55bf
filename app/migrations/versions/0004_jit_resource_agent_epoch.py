"""a JIT request's RFC 8707 resource; an agent's status epoch (tokens from before a suspension)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 23:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jit_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resource", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True)
        )
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status_epoch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("status_epoch")
    with op.batch_alter_table("jit_request", schema=None) as batch_op:
        batch_op.drop_column("resource")
