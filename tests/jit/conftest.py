"""JIT fixtures: approvers with their API tokens, a jit policy, and the agent's request and wait."""

from dataclasses import dataclass
from typing import Any

import pytest

from tests import factories

PERMISSION = "payments.authorize"
OPERATION = {"invoice": "INV-7", "amount": 120, "currency": "EUR"}


@dataclass
class ApproverHandle:
    approver_id: str
    email: str
    api_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}


@dataclass
class Jit:
    """The JIT API of one org, spoken as an agent, an approver or an admin."""

    client: Any
    org: factories.OrgHandle

    def approver(self, name: str, **extra: Any) -> ApproverHandle:
        body = {"email": f"{name}@example.com", "name": name.title(), **extra}
        resp = self.client.post(f"{self.org.api}/approvers", json=body, headers=self.org.admin)
        assert resp.status_code == 201, resp.text
        data = resp.json()
        return ApproverHandle(data["approver_id"], data["email"], data["api_token"])

    def policy(self, approvers: list[ApproverHandle], **extra: Any) -> dict:
        ids = [a.approver_id for a in approvers]
        return factories.set_policy(
            self.client,
            self.org,
            extra.pop("permission", PERMISSION),
            "jit",
            approvers=ids,
            **extra,
        )

    def request(self, agent: factories.AgentHandle, **overrides: Any) -> Any:
        body = {
            "permission": PERMISSION,
            "justification": "pay invoice INV-7 for the customer",
            "expires_in": "10m",
            "operation": OPERATION,
            **overrides,
        }
        return self.client.post(
            f"{self.org.api}/jit/requests", json=body, headers=agent.bearer(self.client)
        )

    def pending(self, agent: factories.AgentHandle, **overrides: Any) -> dict:
        resp = self.request(agent, **overrides)
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "pending"
        return resp.json()

    def decide(self, request_id: str, approver: ApproverHandle, verb: str = "approve") -> Any:
        url = f"{self.org.api}/jit/requests/{request_id}/{verb}"
        return self.client.post(url, json={"comment": f"{verb} via API"}, headers=approver.headers)

    def get(self, request_id: str, headers: dict[str, str], wait: int = 0) -> dict:
        url = f"{self.org.api}/jit/requests/{request_id}"
        resp = self.client.get(url, params={"wait": wait}, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def token(self, agent: factories.AgentHandle, request_id: str) -> str:
        """The agent long-polls until its token is there (the mint task runs after approval)."""
        headers = agent.bearer(self.client)
        for _ in range(3):
            view = self.get(request_id, headers, wait=10)
            if "token" in view:
                return view["token"]["access_token"]
        raise AssertionError(f"no token for {request_id}: {view}")

    def consume(self, token: str, permission: str = PERMISSION, operation: Any = OPERATION) -> Any:
        body = {"token": token, "permission": permission, "operation": operation}
        return self.client.post(f"{self.org.api}/jit/tokens/consume", json=body)

    def approved_token(
        self, agent: factories.AgentHandle, approver: ApproverHandle, **overrides: Any
    ) -> tuple[str, str]:
        request_id = self.pending(agent, **overrides)["request_id"]
        assert self.decide(request_id, approver).status_code == 200
        return request_id, self.token(agent, request_id)


@pytest.fixture
def jit(client, org) -> Jit:
    return Jit(client, org)


@pytest.fixture
def alice(jit) -> ApproverHandle:
    return jit.approver("alice")


@pytest.fixture
def bob(jit) -> ApproverHandle:
    return jit.approver("bob")
