"""Agent text with a lone UTF-16 surrogate ("\\udfff") is refused as bad input on every route.

JSON may spell a surrogate as an escape, and Python's json parser accepts it, but such a string
cannot be encoded as UTF-8 (hashing, the database, notifications): it must never get that far.
"""

import pytest

from tests.factories import register_agent
from tests.helpers import assert_oauth_error
from tests.jit.conftest import OPERATION, PERMISSION, Jit

LONE = "\\udfff"  # as it appears in the raw JSON text
AGENT_ROUTES = {
    "check-operation": (
        "/authz/check",
        '{"permission": "document.read", "operation": {"x": "%s"}}',
    ),
    "check-context": ("/authz/check", '{"permission": "document.read", "context": {"%s": 1}}'),
    "check-subject": ("/authz/check", '{"permission": "document.read", "subject": "agent:%s"}'),
    "bulk-context": (
        "/authz/check-bulk",
        '{"checks": [{"permission": "document.read", "context": {"a": ["%s"]}}]}',
    ),
    "ask-question": ("/agents/ask", '{"question": "may I read %s documents?"}'),
    "ask-context": ("/agents/ask", '{"question": "may I read documents?", "context": {"a": "%s"}}'),
    "jit-operation": (
        "/jit/requests",
        '{"permission": "payments.authorize", "justification": "pay", "operation": {"to": "%s98"}}',
    ),
    "jit-operation-key": (
        "/jit/requests",
        '{"permission": "payments.authorize", "justification": "pay", "operation": {"%s": 1}}',
    ),
    "jit-justification": (
        "/jit/requests",
        '{"permission": "payments.authorize", "operation": {}, "justification": "pay %s"}',
    ),
}


def _post_raw(client, url: str, template: str, headers: dict[str, str]):
    body = (template % LONE).encode()
    return client.post(url, content=body, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("case", sorted(AGENT_ROUTES))
def test_lone_surrogate_in_agent_text_is_invalid_request_not_500(client, org, case):
    # given an agent allowed to check, ask and open JIT requests
    agent = register_agent(client, org, capabilities=["document.read", PERMISSION])
    path, template = AGENT_ROUTES[case]
    # when it sends a lone surrogate in any of its text
    resp = _post_raw(client, org.api + path, template, agent.bearer(client))
    # then it is told its input is bad, and nothing is stored or crashes
    assert resp.status_code in (400, 422), resp.text
    assert_oauth_error(resp, resp.status_code, "invalid_request")


@pytest.mark.parametrize("verb", ["approve", "deny"])
def test_lone_surrogate_in_an_approvers_note_is_invalid_request(client, org, verb):
    # given a pending request and its approver
    jit = Jit(client, org)
    alice = jit.approver("alice")
    jit.policy([alice])
    agent = register_agent(client, org, capabilities=[PERMISSION])
    request_id = jit.pending(agent, operation=OPERATION)["request_id"]
    # when the approver's comment carries a lone surrogate
    url = f"{org.api}/jit/requests/{request_id}/{verb}"
    resp = _post_raw(client, url, '{"comment": "ok %s"}', alice.headers)
    # then the decision is refused as bad input and the request is still pending
    assert resp.status_code in (400, 422), resp.text
    assert resp.json()["error"] == "invalid_request"
    assert jit.get(request_id, org.admin)["status"] == "pending"


def test_lone_surrogate_in_the_operation_of_a_redemption_is_invalid_request(client, org):
    # given an approved JIT token, so the redemption gets past the token checks
    jit = Jit(client, org)
    alice = jit.approver("alice")
    jit.policy([alice])
    agent = register_agent(client, org, capabilities=[PERMISSION])
    _, token = jit.approved_token(agent, alice)
    # when a resource server redeems it with an operation carrying a lone surrogate
    template = '{"token": "%s", "permission": "%s", "operation": {"invoice": "%%s"}}'
    resp = _post_raw(client, f"{org.api}/jit/tokens/consume", template % (token, PERMISSION), {})
    # then the redemption is refused as bad input, and the token still redeems for its operation
    assert resp.status_code in (400, 422), resp.text
    assert resp.json()["error"] == "invalid_request"
    assert jit.consume(token).status_code == 200
