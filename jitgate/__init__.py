"""jitgate agent SDK: verified identity, scoped tokens and just-in-time approval for agents."""

from jitgate._protocol import Approval, Credentials, Endpoints
from jitgate._sync import SyncAgentAuth
from jitgate.assertion import SigningKey, generate_key, sign_assertion
from jitgate.client import AgentAuth
from jitgate.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    JitCancelled,
    JitDenied,
    JitExpired,
    JitgateError,
    JitRefused,
    JitRevoked,
    JitTimeout,
    NotEligible,
    NotFound,
    OperationMismatch,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenAlreadyUsed,
    TokenExpired,
    TokenRevoked,
)
from jitgate.guard import Refusal, configure, requires
from jitgate.operations import operation_hash
from jitgate.workload import WorkloadCredentials, WorkloadTokenUnavailable

__all__ = [
    "operation_hash",
    "AgentAuth",
    "Approval",
    "AuthenticationFailed",
    "Conflict",
    "Credentials",
    "Endpoints",
    "Forbidden",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "JitCancelled",
    "JitDenied",
    "JitExpired",
    "JitRefused",
    "JitRevoked",
    "JitTimeout",
    "JitgateError",
    "NotEligible",
    "NotFound",
    "OperationMismatch",
    "PermissionDenied",
    "RateLimited",
    "Refusal",
    "ServerError",
    "SigningKey",
    "SyncAgentAuth",
    "TokenAlreadyUsed",
    "TokenExpired",
    "TokenRevoked",
    "WorkloadCredentials",
    "WorkloadTokenUnavailable",
    "configure",
    "generate_key",
    "requires",
    "sign_assertion",
]
