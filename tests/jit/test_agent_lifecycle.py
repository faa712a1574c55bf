"""What an agent holds or waits for dies with its standing: suspension, deletion, capability
changes and RFC 7009 revocation all stop a JIT token (security review findings)."""

from tests import factories
from tests.helpers import assert_oauth_error


def _patch(client, org, agent, **changes):
    resp = client.patch(f"{org.api}/agents/{agent.agent_id}", json=changes, headers=org.admin)
    assert resp.status_code == 200, resp.text


def test_suspending_an_agent_revokes_its_unused_jit_token(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    _patch(client, org, agent, status="suspended")
    assert jit.get(request_id, org.admin)["status"] == "revoked"
    assert_oauth_error(jit.consume(token), 401, "token_revoked")


def test_suspending_an_agent_cancels_its_pending_requests(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    _patch(client, org, agent, status="suspended")
    assert jit.get(request_id, org.admin)["status"] == "cancelled"
    assert_oauth_error(jit.decide(request_id, alice), 409, "invalid_transition")


def test_deleting_an_agent_revokes_its_jit_token(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    resp = client.delete(f"{org.api}/agents/{agent.agent_id}", headers=org.admin)
    assert resp.status_code == 204
    assert jit.get(request_id, org.admin)["status"] == "revoked"
    assert_oauth_error(jit.consume(token), 401, "token_revoked")


def test_a_capability_removed_after_approval_makes_the_token_unusable(
    jit, client, org, agent, alice
):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    _patch(client, org, agent, capabilities=["document.read"])
    assert_oauth_error(jit.consume(token), 403, "not_eligible")
    assert jit.get(request_id, org.admin)["status"] == "approved"  # nothing was consumed


def test_revoking_a_jit_token_with_rfc7009_stops_its_redemption(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    resp = client.post(f"{org.api}/oauth/revoke", data={"token": token}, headers=org.admin)
    assert resp.status_code == 200
    assert jit.get(request_id, org.admin)["status"] == "revoked"
    assert_oauth_error(jit.consume(token), 401, "token_revoked")


def test_another_orgs_agent_id_as_subject_is_unknown_and_does_not_lock_it_out(
    client, org, other_org, agent
):
    # given an agent of another org whose id is known
    victim = factories.register_agent(client, other_org, capabilities=["document.read"])
    victim_headers = victim.bearer(client)
    # when an agent of this org that may check others asks about it
    checker = factories.register_agent(client, org, capabilities=["authz.check_others"])
    resp = client.post(
        f"{org.api}/authz/check",
        json={"permission": "document.read", "subject": victim.agent_id},
        headers=checker.bearer(client),
    )
    # then it is unknown here, and the other org's agent still works
    assert_oauth_error(resp, 404, "not_found")
    check = client.post(
        f"{other_org.api}/authz/check", json={"permission": "document.read"}, headers=victim_headers
    )
    assert check.status_code == 200 and check.json()["allowed"] is True


# --- a token from before a suspension stays dead (issue 18 finding 12) ------------------------


def _check(client, org, headers):
    return client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=headers
    )


def test_a_token_issued_before_suspension_is_refused_after_reactivation(client, org, agent):
    # Given a standing token that works,
    old = agent.bearer(client)
    assert _check(client, org, old).status_code == 200
    # when the agent is suspended and then reactivated,
    _patch(client, org, agent, status="suspended")
    _patch(client, org, agent, status="active")
    # then the old token is refused on the API and inactive to introspection,
    assert_oauth_error(_check(client, org, old), 401, "token_revoked", mentions="suspended")
    token = old["Authorization"].removeprefix("Bearer ")
    resp = client.post(f"{org.api}/oauth/introspect", data={"token": token}, headers=org.admin)
    assert resp.json() == {"active": False}
    # and a token obtained after the reactivation works.
    fresh = agent.bearer(client)
    assert _check(client, org, fresh).json()["allowed"] is True


def test_an_update_that_does_not_suspend_keeps_the_agents_tokens(client, org, agent):
    old = agent.bearer(client)
    _patch(client, org, agent, owner="dana@example.com")
    _patch(client, org, agent, status="active")  # already active: not a reactivation
    assert _check(client, org, old).json()["allowed"] is True
