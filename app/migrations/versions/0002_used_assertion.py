"""used assertion jtis (the embedded replay store survives a restart)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:45:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_assertion",
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("jti", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "jti"),
    )
    with op.batch_alter_table("used_assertion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_used_assertion_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("used_assertion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_assertion_expires_at"))
    op.drop_table("used_assertion")
