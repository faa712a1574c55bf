"""per-org signing keys (signing_key.org_id; null marks the former shared key)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep org_id null: that is the shared key, published for one token lifetime
    # after the upgraded service starts (app/security/keys.py retire_shared_keys).
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_signing_key_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_key_org_id"))
        batch_op.drop_column("org_id")
