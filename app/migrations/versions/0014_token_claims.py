"""issued_token.assertion_jti and claim_expires_at: a token's record keeps its assertion's claim

In embedded mode each token wrote two rows, its record and the claim of the assertion it was
issued for (used_assertion); the record now carries the claim. Claims of assertions that got no
token stay in used_assertion. Nullable columns: existing records carry no claim.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("assertion_jti", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_issued_token_claim_expires_at"), ["claim_expires_at"], unique=False
        )


def downgrade() -> None:
    # The claims of unexpired tokens go back to used_assertion, where the previous code reads
    # them at start-up: a downgrade must not reopen their replay window.
    op.execute(
        "INSERT INTO used_assertion (agent_id, jti, expires_at) "
        "SELECT agent_id, assertion_jti, claim_expires_at FROM issued_token "
        "WHERE assertion_jti IS NOT NULL AND claim_expires_at IS NOT NULL "
        "AND claim_expires_at > CURRENT_TIMESTAMP AND NOT EXISTS (SELECT 1 FROM used_assertion u "
        "WHERE u.agent_id = issued_token.agent_id AND u.jti = issued_token.assertion_jti)"
    )
    with op.batch_alter_table("issued_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_token_claim_expires_at"))
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("assertion_jti")
