"""Fixtures for the framework adapter tests, which run in one virtual environment per framework.

scripts/test_adapters.py starts a real jitgate server and passes it in through
JITGATE_TEST_URL, JITGATE_TEST_ORG and JITGATE_TEST_ADMIN_TOKEN. Without those (a plain
`pytest tests/`) these files are not collected: the frameworks are not installed there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

if not os.environ.get("JITGATE_TEST_URL"):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def admin() -> Any:
    from jitgate.demo import Admin

    return Admin(
        os.environ["JITGATE_TEST_URL"],
        os.environ["JITGATE_TEST_ORG"],
        os.environ["JITGATE_TEST_ADMIN_TOKEN"],
    )


@pytest.fixture
def agent(admin: Any) -> Any:
    from jitgate.demo import setup_agent

    demo = setup_agent(admin)
    if demo.approver_token is None:
        pytest.fail("the server has no approvers API: adapter tests need JIT approvals")
    return demo


@pytest.fixture
def auth(admin: Any, agent: Any) -> Any:
    from jitgate import SyncAgentAuth

    return SyncAgentAuth(
        os.environ["JITGATE_TEST_URL"],
        os.environ["JITGATE_TEST_ORG"],
        agent.agent_id,
        agent.private_key_pem,
    )


@pytest.fixture
def async_auth(auth: Any) -> Any:
    from jitgate import AgentAuth

    return AgentAuth.from_credentials(auth.credentials)


@pytest.fixture
def human(admin: Any, agent: Any) -> Callable[..., Callable[[Any], None]]:
    """An on_pending hook: the demo approver approves (or denies) shortly after the request."""

    def make(deny: bool = False, seen: list[str] | None = None) -> Callable[[Any], None]:
        def decide(approval: Any) -> None:
            if seen is not None:
                seen.append(approval.request_id)

            def later() -> None:
                if deny:
                    admin.deny(approval.request_id, agent.approver_token, reason="not today")
                else:
                    admin.approve(approval.request_id, agent.approver_token)

            threading.Timer(0.3, later).start()

        return decide

    return make
