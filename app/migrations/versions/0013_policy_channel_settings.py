"""policy.channel_settings: each channel's own policy settings, stored per channel slug

The registry of channels validates and shows them (notifiers/registry.py), so a new channel's
setting needs no column of its own. slack_channel and webhook_url are copied in; their columns
stay (no destructive migration) but are no longer read or written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LEGACY = (("slack", "slack_channel"), ("webhook", "webhook_url"))


def upgrade() -> None:
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel_settings", sa.JSON(), nullable=False, server_default="{}")
        )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, slack_channel, webhook_url FROM policy "
            "WHERE slack_channel IS NOT NULL OR webhook_url IS NOT NULL"
        )
    ).all()
    policy = sa.table("policy", sa.column("id"), sa.column("channel_settings", sa.JSON()))
    for row in rows:
        values = dict(zip(("slack_channel", "webhook_url"), row[1:], strict=True))
        settings = {slug: {name: values[name]} for slug, name in LEGACY if values[name]}
        conn.execute(policy.update().where(policy.c.id == row[0]).values(channel_settings=settings))


def downgrade() -> None:
    # Policies written since the upgrade have their settings in channel_settings only: put them
    # back where the previous code reads them before the column goes.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, channel_settings FROM policy")).all()
    policy = sa.table(
        "policy", sa.column("id"), sa.column("slack_channel"), sa.column("webhook_url")
    )
    for policy_id, stored in rows:
        settings = json.loads(stored) if isinstance(stored, str) else (stored or {})
        values = {name: (settings.get(slug) or {}).get(name) for slug, name in LEGACY}
        conn.execute(policy.update().where(policy.c.id == policy_id).values(**values))
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.drop_column("channel_settings")
