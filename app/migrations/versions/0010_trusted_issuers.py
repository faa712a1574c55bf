"""trusted issuers and workload federation rules (RFC 8693 token exchange)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_issuer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("subject_claim", sa.String(length=16), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("jwks_uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "issuer", "kind"),
    )
    op.create_index("ix_trusted_issuer_org_id", "trusted_issuer", ["org_id"])
    op.create_table(
        "federation_rule",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["trusted_issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_federation_rule_org_id", "federation_rule", ["org_id"])
    op.create_index("ix_federation_rule_agent_id", "federation_rule", ["agent_id"])
    op.create_index("ix_federation_rule_issuer_id", "federation_rule", ["issuer_id"])


def downgrade() -> None:
    op.drop_table("federation_rule")
    op.drop_table("trusted_issuer")
