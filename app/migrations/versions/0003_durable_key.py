"""durable keys (the embedded key-value store's security state survives a restart)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "durable_key",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("durable_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_durable_key_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("durable_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_durable_key_expires_at"))
    op.drop_table("durable_key")
