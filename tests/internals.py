"""The server internals that the state-machine property test and the chaos test reach into.

Both tests mostly speak HTTP or call the service layer; what they import from app/ and workers/
is gathered here, so that moving modules into domain packages changes this file only.
"""

from app.core.db import make_engine, session_scope
from app.core.errors import JitgateError
from app.jit import revocation, token_expiry
from app.jit import state_machine as jit_service
from app.jit import tokens as jit_tokens
from app.jit.intake import create_request
from app.jit.minting import token_for_agent
from app.models import Approver, AuditEvent, Delivery, JitRequest, OutboxRow
from notifiers.base import NotifierUnavailable
from workers import tasks
from workers.relay import relay

# Every status a request can be in, and the edges of the state machine between them
# (app/jit/state_machine.py's docstring draws the same picture).
PENDING, APPROVED = jit_service.PENDING, jit_service.APPROVED
EDGES: dict[str, set[str]] = {
    PENDING: {APPROVED, jit_service.DENIED, jit_service.EXPIRED, jit_service.CANCELLED},
    APPROVED: {jit_service.CONSUMED, jit_service.REVOKED, jit_service.TOKEN_EXPIRED},
}
STATUSES = {PENDING, *EDGES[PENDING], *EDGES[APPROVED]}
HAS_TOKEN = {APPROVED, *EDGES[APPROVED]}

# The tasks a worker may be handed again (a redelivery after a lost ack, or the sweep's resend).
REDELIVERABLE = {
    "notify_request": tasks.notify_request,
    "notify_outcome": tasks.notify_outcome,
    "mint_token": tasks.mint_token,
    "expire_request": tasks.expire_request,
}

__all__ = [
    "EDGES",
    "HAS_TOKEN",
    "REDELIVERABLE",
    "STATUSES",
    "Approver",
    "AuditEvent",
    "Delivery",
    "JitRequest",
    "JitgateError",
    "NotifierUnavailable",
    "OutboxRow",
    "create_request",
    "jit_service",
    "jit_tokens",
    "revocation",
    "token_expiry",
    "make_engine",
    "relay",
    "session_scope",
    "token_for_agent",
]
