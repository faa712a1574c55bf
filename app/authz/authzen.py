"""OpenID AuthZEN Authorization API 1.0: evaluations mapped onto /authz/check's decision.

The permission asked about is `{resource.type}.{action.name}`; the subject is an agent (its id,
or its name). Every answer comes from authz.decide and is audited like a check, so the two
interfaces can never disagree.
"""

from dataclasses import dataclass
from typing import Any

from app.authz import check as authz
from app.core.errors import Forbidden, InvalidRequest, JitgateError, NotFound
from app.identity.access_tokens import issuer_for

SUBJECT_TYPE = "agent"
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
TUPLE_KEYS = ("subject", "action", "resource", "context")


@dataclass(frozen=True)
class Asker:
    """Who asks: an admin (actor only), or an agent with its facts and token scope."""

    actor: str
    agent: authz.AgentFacts | None = None
    scope: frozenset[str] = frozenset()
    on_behalf_of: str | None = None  # the user, when the agent's token is a delegation
    delegation_details: dict[str, Any] | None = None


def subject_ref(subject: dict[str, Any] | None) -> str:
    """The /authz/check form of an AuthZEN subject: an agent id as is, a name as agent:<name>."""
    if not isinstance(subject, dict) or not isinstance(subject.get("id"), str):
        raise InvalidRequest("subject with a type and an id is required")
    if subject.get("type") != SUBJECT_TYPE:
        raise InvalidRequest(f"subject.type must be {SUBJECT_TYPE!r} (jitgate decides for agents)")
    ident = subject["id"]
    return ident if ident.startswith("agt_") else f"agent:{ident}"


def permission_of(action: Any, resource: Any) -> str:
    if not isinstance(action, dict) or not isinstance(action.get("name"), str):
        raise InvalidRequest("action with a name is required")
    if not isinstance(resource, dict) or not isinstance(resource.get("type"), str):
        raise InvalidRequest("resource with a type is required")
    return f"{resource['type']}.{action['name']}"


def _subject_facts(org_id: str, asker: Asker, ref: str) -> authz.AgentFacts:
    if asker.agent is not None:  # an agent: itself, or others with authz.check_others
        if asker.on_behalf_of is not None and not authz.is_caller(asker.agent, ref):
            raise Forbidden("a delegated token asks only about its own acting agent")
        return authz.subject_for(org_id, asker.agent, asker.scope, ref)
    facts = authz.find_subject(org_id, ref)
    if facts is None:
        raise NotFound("no such subject in this organization")
    return facts


def evaluate(org_id: str, asker: Asker, request: dict[str, Any]) -> dict[str, Any]:
    """One access evaluation (§6): the decision of /authz/check, audited as one."""
    ref = subject_ref(request.get("subject"))
    permission = permission_of(request.get("action"), request.get("resource"))
    subject = _subject_facts(org_id, asker, ref)
    own = asker.agent is not None and subject.agent_id == asker.agent.agent_id
    decision = authz.decide(
        org_id=org_id,
        subject=subject,
        permission=permission,
        token_scope=asker.scope if own else None,
        on_behalf_of=asker.on_behalf_of if own else None,
    )
    resource = request["resource"]
    details = {"interface": "authzen", "resource": {"type": resource["type"]}}
    details |= asker.delegation_details or {}
    if isinstance(resource.get("id"), str):
        details["resource"]["id"] = resource["id"][:200]
    authz.audit_decision(org_id, asker.actor, decision, details=details)
    context: dict[str, Any] = {"reason": decision.reason, "decision_id": decision.decision_id}
    if decision.jit_required:
        context["jit_required"] = True
    if "on_behalf_of" in decision.extra:
        context["on_behalf_of"] = decision.extra["on_behalf_of"]
    return {"decision": decision.allowed, "context": context}


def _one_of_many(org_id: str, asker: Asker, request: dict[str, Any]) -> dict[str, Any]:
    """In a batch an evaluation's own error is its answer (§7.2.1): closed, with the error."""
    try:
        return evaluate(org_id, asker, request)
    except JitgateError as exc:
        error = {"status": exc.status, "message": exc.description}
        return {"decision": False, "context": {"error": error}}


def evaluate_many(
    org_id: str,
    asker: Asker,
    defaults: dict[str, Any],
    evaluations: list[dict[str, Any]],
    semantic: str = "execute_all",
) -> dict[str, Any]:
    """Access evaluations (§7): top-level values are defaults, answers keep the request's order,
    and the short-circuit semantics stop at the first deny or permit."""
    if semantic not in SEMANTICS:
        raise InvalidRequest(f"options.evaluations_semantic must be one of {list(SEMANTICS)}")
    if not evaluations:  # §7.1: without an array it is a single evaluation
        return evaluate(org_id, asker, defaults)
    answers = []
    for item in evaluations:
        merged = {k: item.get(k, defaults.get(k)) for k in TUPLE_KEYS}
        answer = _one_of_many(org_id, asker, merged)
        answers.append(answer)
        if semantic == "deny_on_first_deny" and not answer["decision"]:
            break
        if semantic == "permit_on_first_permit" and answer["decision"]:
            break
    return {"evaluations": answers}


def configuration(org_id: str) -> dict[str, str]:
    """PDP metadata (§9): the org's issuer URL is the policy decision point identifier."""
    pdp = issuer_for(org_id)
    return {
        "policy_decision_point": pdp,
        "access_evaluation_endpoint": f"{pdp}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{pdp}/access/v1/evaluations",
    }
