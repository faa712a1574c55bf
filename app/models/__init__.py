"""SQLModel tables: identity (orgs, agents, keys, tokens), policy and JIT, audit."""

from app.audit.models import AuditEvent
from app.core.durable_models import DurableKey
from app.identity.federation_models import FederationRule, TrustedIssuer
from app.identity.models import (
    AdminToken,
    Agent,
    AgentKey,
    IssuedToken,
    Org,
    Permission,
    SigningKey,
    UsedAssertion,
)
from app.jit.models import Approver, Delivery, JitDecision, JitRequest, Policy
from app.jit.outbox_models import OutboxRow
from app.resources.models import ProtectedResource

__all__ = [
    "AdminToken",
    "Agent",
    "AgentKey",
    "Approver",
    "AuditEvent",
    "Delivery",
    "DurableKey",
    "FederationRule",
    "IssuedToken",
    "JitDecision",
    "JitRequest",
    "Org",
    "OutboxRow",
    "Permission",
    "Policy",
    "ProtectedResource",
    "SigningKey",
    "TrustedIssuer",
    "UsedAssertion",
]
