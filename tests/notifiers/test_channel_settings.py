"""Each channel declares its own policy settings (a pydantic model in notifiers/); the registry
validates, stores and shows them, so a new channel with a setting is one module plus its tests."""

import uuid
from typing import ClassVar

import pytest
from alembic import command
from pydantic import Field
from sqlalchemy import text

from app.authz import policies
from app.core.db import make_engine, session_scope
from app.core.errors import RuleViolation
from app.core.migrate import alembic_config
from notifiers import registry
from notifiers.base import ChannelSettings
from tests.factories import set_policy


class PagerSettings(ChannelSettings):
    slug: ClassVar[str] = "pager"
    pager_team: str | None = Field(default=None, max_length=20)

    def checked(self) -> "PagerSettings":
        if self.pager_team is not None and not self.pager_team.isalnum():
            raise RuleViolation("pager_team: letters and digits only")
        return self


@pytest.fixture
def pager():
    previous = registry.register("pager", lambda: registry.get_notifier("log"), PagerSettings)
    yield
    registry.restore("pager", previous)


def _create(org, **body):
    permission = f"doc.p{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        policy = policies.create(
            session,
            org_id=org.org_id,
            body={"permission": permission, "mode": "standing", **body},
            actor="test",
        )
        return policies.public(policy), dict(policy.channel_settings)


def test_a_new_channel_setting_is_stored_under_its_channel_and_shown_flat(client, org, pager):
    shown, stored = _create(org, channels=["pager"], pager_team="ops")
    assert stored == {"pager": {"pager_team": "ops"}}
    assert shown["pager_team"] == "ops"
    assert shown["slack_channel"] is None and shown["webhook_url"] is None


def test_a_new_channel_setting_is_refused_by_its_own_rule(client, org, pager):
    with pytest.raises(RuleViolation, match="pager_team: letters and digits only"):
        _create(org, channels=["pager"], pager_team="ops team")


def test_a_new_channel_setting_is_refused_by_its_type(client, org, pager):
    with pytest.raises(RuleViolation, match="pager_team"):
        _create(org, channels=["pager"], pager_team="x" * 21)


def test_a_setting_name_another_channel_owns_is_refused_at_registration():
    class Clash(ChannelSettings):
        slug: ClassVar[str] = "clash"
        webhook_url: str | None = None

    with pytest.raises(ValueError, match="webhook_url"):
        registry.register("clash", lambda: registry.get_notifier("log"), Clash)
    assert "clash" not in registry.channels()


def test_the_policy_api_stores_slack_and_webhook_settings_per_channel(client, org):
    policy = set_policy(
        client,
        org,
        "document.read",
        "standing",
        channels=["slack", "webhook"],
        slack_channel="C0OPS",
        webhook_url="https://hooks.example/x",
    )
    assert policy["slack_channel"] == "C0OPS"
    assert policy["webhook_url"] == "https://hooks.example/x"
    with session_scope() as session:
        row = policies.get(session, org_id=org.org_id, policy_id=policy["policy_id"])
        assert row.channel_settings == {
            "slack": {"slack_channel": "C0OPS"},
            "webhook": {"webhook_url": "https://hooks.example/x"},
        }


def test_a_webhook_url_the_service_must_not_call_is_still_a_422(client, org):
    resp = client.post(
        f"{org.api}/policies",
        json={"permission": "document.read", "mode": "standing", "webhook_url": "ftp://x/y"},
        headers=org.admin,
    )
    assert resp.status_code == 422
    assert resp.json()["error"] == "invalid_request"
    assert "webhook_url" in resp.json()["error_description"]


def test_migration_0013_copies_the_legacy_columns_into_channel_settings(tmp_path):
    # Given a database at 0012 with a policy that names a Slack channel and a webhook URL
    url = f"sqlite:///{tmp_path}/legacy.db"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0012")
        conn.execute(
            text(
                "INSERT INTO org (id, name, created_at, audit_seq, audit_head) "
                "VALUES ('org_l', 'L', '2026-01-01', 0, '0')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO policy (id, org_id, permission, mode, approvers, groups, "
                "approvals_required, max_token_ttl, pending_timeout, channels, slack_channel, "
                "webhook_url, allow_self_approval, auto_approve, created_at, updated_at) VALUES "
                "('pol_l', 'org_l', 'a.b', 'jit', '[]', '[]', 1, 600, 900, '[\"slack\"]', 'C0L', "
                "'https://hooks.example/l', 0, 0, '2026-01-01', '2026-01-01')"
            )
        )
    # When it is upgraded to 0013
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0013")
        stored = conn.execute(text("SELECT channel_settings FROM policy")).scalar_one()
    engine.dispose()
    # Then the settings are stored per channel
    assert stored.replace(" ", "") == (
        '{"slack":{"slack_channel":"C0L"},"webhook":{"webhook_url":"https://hooks.example/l"}}'
    )
