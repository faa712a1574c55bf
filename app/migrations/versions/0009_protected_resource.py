"""protected_resource: the registry of API and MCP servers tokens may be bound to (RFC 8707)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protected_resource",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("resource_uri", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column(
            "default_permission", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "resource_uri"),
    )
    op.create_index(
        op.f("ix_protected_resource_org_id"), "protected_resource", ["org_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_protected_resource_org_id"), table_name="protected_resource")
    op.drop_table("protected_resource")
