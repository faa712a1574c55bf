"""admin_token.email: the address an emailed one-time portal sign-in link goes to

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing tokens carry no address: their holders sign in with the token, as before.
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_admin_token_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_token_email"))
        batch_op.drop_column("email")
