"""approver status (active | disabled | deleted): the approver lifecycle

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing approvers are active; the server default fills their rows.
    with op.batch_alter_table("approver", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="active",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("approver", schema=None) as batch_op:
        batch_op.drop_column("status")
