"""SQLModel tables: identity (orgs, agents, keys, tokens), policy and JIT, audit."""

from app.models.audit import AuditEvent
from app.models.identity import (
    AdminToken,
    Agent,
    AgentKey,
    DurableKey,
    IssuedToken,
    Org,
    Permission,
    SigningKey,
    UsedAssertion,
)
from app.models.jit import Approver, Delivery, JitDecision, JitRequest, Policy
from app.models.outbox import OutboxRow

__all__ = [
    "AdminToken",
    "Agent",
    "AgentKey",
    "Approver",
    "AuditEvent",
    "Delivery",
    "DurableKey",
    "IssuedToken",
    "JitDecision",
    "JitRequest",
    "Org",
    "OutboxRow",
    "Permission",
    "Policy",
    "SigningKey",
    "UsedAssertion",
]
