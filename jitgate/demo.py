"""`jitgate demo`: the whole agent story against a running server, printed step by step."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from jitgate._protocol import Endpoints, checked_json
from jitgate._sync import SyncAgentAuth
from jitgate.assertion import generate_key
from jitgate.errors import JitgateError, NotFound

PERMISSION = "payments.authorize"
CAPABILITIES = ["document.read", "document.summarize", PERMISSION]
QUESTION = "Can I read and summarize documents for user alice@acme.com?"
Out = Callable[[str], Any]


@dataclass(frozen=True)
class DemoAgent:
    """What setting up the story leaves behind: an agent, its key, and a demo approver."""

    agent_id: str
    name: str
    private_key_pem: str
    approver_id: str | None
    approver_token: str | None


class Admin:
    """The few admin and approver calls the demo makes, over plain HTTP."""

    def __init__(
        self, base_url: str, org_id: str, admin_token: str, http: httpx.Client | None = None
    ) -> None:
        self.endpoints = Endpoints(base_url.rstrip("/"), org_id)
        self.http = http or httpx.Client(timeout=30.0)
        self.headers = {"Authorization": f"Bearer {admin_token}"}

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return checked_json(
            self.http.request(method, self.endpoints.url(path), headers=headers, **kw)
        )

    def add_approver(self, email: str) -> dict[str, Any]:
        return self.call("POST", "approvers", json={"email": email, "name": "Demo Approver"})

    def jit_policy(self, permission: str, approver_id: str | None) -> dict[str, Any]:
        """Create the JIT policy, or add this approver to the one an earlier run made."""
        body: dict[str, Any] = {"permission": permission, "mode": "jit"}
        body |= {"approvers": [approver_id]} if approver_id else {"groups": ["demo-approvers"]}
        try:
            return self.call("POST", "policies", json=body)
        except JitgateError as error:
            if error.status != 409:
                raise
        for policy in self.call("GET", "policies", params={"limit": 200})["items"]:
            if policy["permission"] == permission:
                if approver_id:
                    body["approvers"] = sorted({*policy.get("approvers", []), approver_id})
                return self.call("PUT", f"policies/{policy['policy_id']}", json=body)
        raise JitgateError(f"no policy for {permission}", code="not_found")

    def register_agent(self, name: str, capabilities: list[str], jwks: dict) -> dict[str, Any]:
        body = {
            "name": name,
            "capabilities": capabilities,
            "jwks": jwks,
            "owner": "owner@acme.com",
            "description": "jitgate demo agent",
        }
        return self.call("POST", "agents/register", json=body)

    def approve(self, request_id: str, approver_token: str, comment: str = "ok") -> dict[str, Any]:
        return self.call(
            "POST",
            f"jit/requests/{request_id}/approve",
            token=approver_token,
            json={"comment": comment},
        )

    def deny(self, request_id: str, approver_token: str, reason: str = "no") -> dict[str, Any]:
        return self.call(
            "POST", f"jit/requests/{request_id}/deny", token=approver_token, json={"reason": reason}
        )

    def audit(self, since: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Audit events in the order they happened."""
        params: dict[str, Any] = {"limit": limit} | ({"since": since} if since else {})
        events = self.call("GET", "audit", params=params).get("items", [])
        return (
            sorted(events, key=lambda e: str(e.get("ts", ""))) if isinstance(events, list) else []
        )


def setup_agent(
    admin: Admin,
    *,
    capabilities: list[str] | None = None,
    jit_permissions: tuple[str, ...] = (PERMISSION,),
    name: str | None = None,
    out: Out | None = None,
) -> DemoAgent:
    """Generate a key, add an approver and JIT policies, register the agent."""
    say = out or (lambda _line: None)
    suffix = secrets.token_hex(3)
    pem, jwks = generate_key()
    say(f"  generated an Ed25519 key pair (kid {jwks['keys'][0]['kid'][:16]}…)")
    approver: dict[str, Any] = {}
    if jit_permissions:
        approver = _optional_approver(admin, f"approver+{suffix}@acme.com")
        say(f"  demo approver {approver.get('approver_id')} <{approver.get('email')}>")
    for permission in jit_permissions:
        policy = admin.jit_policy(permission, approver.get("approver_id"))
        say(f"  policy {policy['policy_id']}: {permission} needs just-in-time approval")
    agent = admin.register_agent(name or f"demo-agent-{suffix}", capabilities or CAPABILITIES, jwks)
    say(f"  registered agent {agent['agent_id']} ({agent['name']}) with {agent['capabilities']}")
    return DemoAgent(
        agent["agent_id"],
        agent["name"],
        pem,
        approver.get("approver_id"),
        approver.get("api_token"),
    )


def _optional_approver(admin: Admin, email: str) -> dict[str, Any]:
    try:
        return admin.add_approver(email)
    except NotFound:
        return {}  # a server without the approvers API yet: the policy names a group instead


def run_demo(base_url: str, admin_token: str, org_id: str, out: Out = print) -> DemoAgent:
    """Walk the agent story against a running server, printing each step."""
    admin = Admin(base_url, org_id, admin_token)
    started = datetime.now(UTC).isoformat()
    out(f"jitgate demo against {admin.endpoints.issuer}\n")
    out("1. Set up: key, approver, JIT policy, agent")
    demo = setup_agent(admin, out=out)
    auth = SyncAgentAuth(base_url, org_id, demo.agent_id, demo.private_key_pem)

    out("\n2. Get an access token (RFC 7523 client assertion, EdDSA)")
    claims = jwt.decode(auth.get_access_token(), options={"verify_signature": False})
    out(
        f"  sub={claims['sub']} scope={claims.get('scope')!r} expires in "
        f"{claims['exp'] - claims['iat']}s ({PERMISSION} is never in a standing token)"
    )

    out(f"\n3. Ask: {QUESTION!r}")
    try:
        answer = auth.ask(QUESTION)
    except JitgateError as error:
        out(f"  the server could not answer: {error}")
        answer = {}
    if answer:
        out(f"  allowed={answer.get('allowed')} reason={answer.get('reason')!r}")
    for item in answer.get("permissions", []):
        out(f"    {item.get('permission')}: allowed={item.get('allowed')}")

    out("\n4. Check permissions")
    for permission in ("document.read", PERMISSION):
        decision = auth.check(permission)
        extra = " (jit_required)" if decision.get("jit_required") else ""
        out(f"  {permission}: allowed={decision.get('allowed')}{extra}")

    out(f"\n5. Request {PERMISSION} just in time")
    operation = {"invoice": "INV-1042", "amount": 250, "currency": "EUR"}
    pending = auth.request_jit_permission(
        PERMISSION, "Pay invoice INV-1042 for Acme", "5m", operation, wait=False
    )
    out(f"  {pending.request_id}: {pending.status}; a human is asked (Slack, email, dashboard)")
    admin.approve(pending.request_id, demo.approver_token or "", comment="approved by the demo")
    out(f"  the demo approver approves {pending.request_id}")
    approval = auth.wait_for_approval(pending.request_id, timeout=30).raise_for_status()
    out(f"  granted: single-use token valid until {approval.expires_at}")

    out("\n6. Use the token once, then try again")
    used = auth.consume_jit_token(approval.token or "", PERMISSION, operation)
    out(f"  first use: valid={used.get('valid')} operation={used.get('operation')}")
    try:
        auth.consume_jit_token(approval.token or "", PERMISSION, operation)
        out("  second use: ACCEPTED (unexpected!)")
    except JitgateError as error:
        out(f"  second use refused: {error.code} ({error.status})")

    out("\n7. Audit trail of this demo")
    for event in admin.audit(since=started):
        actor, action = str(event.get("actor", "")), str(event.get("action", ""))
        out(
            f"  {str(event.get('ts', ''))[11:19]}  {actor:<28} {action:<16} "
            f"{event.get('target', '')}  {event.get('outcome', '')}"
        )
    out("\nDone.")
    return demo
