"""RequestView builders for notifier tests: plain data, no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from notifiers.base import ApproverView, DecisionView, RequestView

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE = ApproverView(
    approver_id="apr_alice", email="alice@example.com", name="Alice", slack_user_id="U0ALICE"
)
BOB = ApproverView(approver_id="apr_bob", email="bob@example.com", name="Bob", slack_user_id=None)


def request_view(**overrides: Any) -> RequestView:
    view = RequestView(
        request_id="jit_0123456789abcdef01234567",
        org_id="org_acme",
        agent_id="agt_0123",
        agent_name="billing-bot",
        agent_owner="owner@example.com",
        permission="payments.authorize",
        justification="Refund order 1234 as the customer asked",
        operation={"amount": 4200, "currency": "EUR", "order": "1234"},
        requested_ttl=600,
        granted_ttl=600,
        status="pending",
        created_at=NOW,
        pending_deadline=NOW + timedelta(minutes=15),
        approvals_required=1,
        approvers=(ALICE, BOB),
    )
    return replace(view, **overrides)


def decided(view: RequestView, status: str, *decisions: tuple[ApproverView, str]) -> RequestView:
    """The same request after it ended, with the given (approver, approve|deny) decisions."""
    made = tuple(
        DecisionView(
            approver_id=a.approver_id,
            approver_label=a.name or a.email,
            decision=d,
            comment=None,
            channel="slack",
            at=NOW + timedelta(minutes=1),
        )
        for a, d in decisions
    )
    return replace(view, status=status, decisions=made)
