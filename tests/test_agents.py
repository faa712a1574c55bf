"""The agent registry (admin token): registration, reads, updates, removal, and who may do them."""

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import ed25519_jwk, register_agent, request_token
from tests.helpers import assert_oauth_error, assert_rule, audit_events


def jwks():
    return {"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), "k1")]}


def register(client, org, headers=None, **body):
    body = {"name": "billing-bot", "capabilities": ["document.read"], "jwks": jwks(), **body}
    return client.post(f"{org.api}/agents/register", json=body, headers=headers or org.admin)


def agent_names(client, org) -> list[str]:
    resp = client.get(f"{org.api}/agents", headers=org.admin)
    assert resp.status_code == 200, resp.text
    return [a["name"] for a in resp.json()["items"]]


def test_registration_answers_the_agent_and_is_audited(client, org):
    resp = register(client, org, owner="Alice@Example.com", description="pays bills")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["agent_id"].startswith("agt_") and body["name"] == "billing-bot"
    assert body["capabilities"] == ["document.read"] and body["status"] == "active"
    assert body["key_ids"] == ["k1"] and body["owner"] == "alice@example.com"
    assert body["token_endpoint"] == f"http://testserver{org.api}/oauth/token"
    assert body["created_at"]
    events = audit_events(client, org, action="agent.register")
    assert [e["target"] for e in events] == [body["agent_id"]]


def test_duplicate_agent_name_is_409_and_changes_nothing(client, org):
    first = register(client, org)
    assert first.status_code == 201
    resp = register(client, org)
    assert_oauth_error(resp, 409, "conflict", mentions="billing-bot")
    assert agent_names(client, org) == ["billing-bot"]
    assert len(audit_events(client, org, action="agent.register")) == 1


def test_concurrent_registrations_of_one_name_create_exactly_one_agent(client, org):
    start = threading.Barrier(4)
    statuses: list[int] = []

    def attempt() -> None:
        start.wait()
        statuses.append(register(client, org).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    assert agent_names(client, org) == ["billing-bot"]
    assert len(audit_events(client, org, action="agent.register")) == 1


def test_same_name_in_another_org_is_fine(client, org, other_org):
    assert register(client, org).status_code == 201
    assert register(client, other_org, headers=other_org.admin).status_code == 201


@pytest.mark.parametrize(
    "name", ["Billing", "a", "-lead", "has space", "x" * 64, "ünïcode", "nul\x00byte", ""]
)
def test_invalid_agent_name_is_422(client, org, name):
    resp = register(client, org, name=name)
    assert_oauth_error(resp, 422, "invalid_request", mentions="name")
    assert agent_names(client, org) == []


@pytest.mark.parametrize(
    "caps", [["Document.Read"], ["read"], ["a.b\x00"], "document.read", [1], ["x." + "y" * 80]]
)
def test_invalid_capabilities_are_422(client, org, caps):
    resp = register(client, org, capabilities=caps)
    assert_oauth_error(resp, 422, "invalid_request", mentions="capabilit")
    assert agent_names(client, org) == []


@pytest.mark.parametrize("owner", ["not-an-email", "a@b@c", "nul\x00@example.com", "x" * 400])
def test_invalid_owner_is_422(client, org, owner):
    resp = register(client, org, owner=owner)
    assert_oauth_error(resp, 422, "invalid_request", mentions="owner")
    assert agent_names(client, org) == []


def test_description_with_a_nul_byte_is_422(client, org):
    resp = register(client, org, description="bad\x00text")
    assert_oauth_error(resp, 422, "invalid_request", mentions="description")
    assert agent_names(client, org) == []


def test_unknown_registration_field_is_422(client, org):
    resp = register(client, org, admin=True)
    assert_oauth_error(resp, 422, "invalid_request", mentions="admin")
    assert agent_names(client, org) == []


def test_malformed_json_is_400(client, org):
    resp = client.post(
        f"{org.api}/agents/register",
        content=b'{"name": "x",',
        headers={**org.admin, "Content-Type": "application/json"},
    )
    assert_oauth_error(resp, 400, "invalid_request", mentions="JSON")
    assert agent_names(client, org) == []


def test_agent_can_be_read_and_listed_by_its_admin(client, org, agent):
    resp = client.get(f"{org.api}/agents/{agent.agent_id}", headers=org.admin)
    assert resp.status_code == 200 and resp.json()["name"] == agent.name
    assert agent_names(client, org) == [agent.name]


def test_another_orgs_agent_is_404(client, org, other_org, agent):
    # given org B's admin asking, on org B's own path, about org A's agent
    resp = client.get(f"{other_org.api}/agents/{agent.agent_id}", headers=other_org.admin)
    # then it does not exist for them
    assert_oauth_error(resp, 404, "not_found")
    for method, body in (("PATCH", {"status": "suspended"}), ("DELETE", None)):
        resp = client.request(
            method, f"{other_org.api}/agents/{agent.agent_id}", json=body, headers=other_org.admin
        )
        assert_oauth_error(resp, 404, "not_found")
    assert (
        client.get(f"{org.api}/agents/{agent.agent_id}", headers=org.admin).json()["status"]
        == "active"
    )


def test_admin_token_of_another_org_is_404(client, org, other_org, agent):
    resp = client.get(f"{org.api}/agents/{agent.agent_id}", headers=other_org.admin)
    assert_oauth_error(resp, 404, "not_found")
    resp = register(client, org, headers=other_org.admin)
    assert_oauth_error(resp, 404, "not_found")
    assert agent_names(client, org) == [agent.name]


# "%00" is a 400 before any route (tests/test_review2_fixes.py)
@pytest.mark.parametrize("agent_id", ["agt_nope", "x" * 300, "agt_%E2%98%83"])
def test_unknown_agent_id_is_404(client, org, agent_id):
    resp = client.get(f"{org.api}/agents/{agent_id}", headers=org.admin)
    assert_oauth_error(resp, 404, "not_found")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer jgadm_unknown", "Bearer garbage", "Basic YWRtaW46YWRtaW4="],
    ids=["missing", "empty", "unknown-admin", "garbage", "basic"],
)
def test_missing_or_garbage_admin_bearer_is_401(client, org, agent, header):
    headers = {"Authorization": header} if header else {}
    resp = client.get(f"{org.api}/agents", headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] in ("invalid_token", "invalid_request")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert register(client, org, headers=headers or {"X-None": "1"}).status_code == 401
    assert agent_names(client, org) == [agent.name]


def test_agent_access_token_is_not_an_admin_token(client, org, agent):
    resp = client.get(f"{org.api}/agents", headers=agent.bearer(client))
    assert_oauth_error(resp, 401, "invalid_token", mentions="admin token")


def test_patch_changes_capabilities_and_status(client, org, agent):
    url = f"{org.api}/agents/{agent.agent_id}"
    resp = client.patch(url, json={"capabilities": ["document.read"]}, headers=org.admin)
    assert resp.status_code == 200 and resp.json()["capabilities"] == ["document.read"]
    scope = request_token(client, org, agent.assertion()).json()["scope"]
    assert scope == "document.read"
    events = audit_events(client, org, action="agent.update")
    assert events[0]["details"]["capabilities"] == ["document.read"]


@pytest.mark.parametrize(
    "body", [{"status": "deleted"}, {"status": "root"}, {"owner": "nope"}, {"name": "renamed"}]
)
def test_invalid_patch_is_422_and_changes_nothing(client, org, agent, body):
    url = f"{org.api}/agents/{agent.agent_id}"
    resp = client.patch(url, json=body, headers=org.admin)
    assert_oauth_error(resp, 422, "invalid_request")
    after = client.get(url, headers=org.admin).json()
    assert after["status"] == "active" and after["name"] == agent.name
    assert not audit_events(client, org, action="agent.update")


def test_deleted_agent_is_gone_and_its_name_is_free(client, org, agent):
    url = f"{org.api}/agents/{agent.agent_id}"
    assert client.delete(url, headers=org.admin).status_code == 204
    assert_oauth_error(client.get(url, headers=org.admin), 404, "not_found")
    assert agent_names(client, org) == []
    assert_rule(request_token(client, org, agent.assertion()), "client")
    again = register_agent(client, org, capabilities=["document.read"], name=agent.name)
    assert again.agent_id != agent.agent_id


def _streamed(size: int):
    yield b'{"name": "'
    for _ in range(size // 1024):
        yield b"x" * 1024
    yield b'", "capabilities": []}'


def test_oversized_body_without_content_length_is_413(client, org):
    # given a JSON body streamed in chunks (no Content-Length for the early check)
    headers = {**org.admin, "Content-Type": "application/json"}
    resp = client.post(f"{org.api}/agents/register", content=_streamed(100 * 1024), headers=headers)
    # then the streaming limit answers 413, not a generic parse error
    assert_oauth_error(resp, 413, "request_too_large")
    assert agent_names(client, org) == []


def test_oversized_body_with_content_length_is_413(client, org):
    resp = register(client, org, description="d" * (70 * 1024))
    assert_oauth_error(resp, 413, "request_too_large")
    assert agent_names(client, org) == []


def test_lists_page_with_a_cursor_and_never_skip_or_repeat(client, org):
    from tests.factories import register_agent

    made = {register_agent(client, org, capabilities=["document.read"]).name for _ in range(5)}
    seen, params = [], {"limit": 2}
    while True:
        body = client.get(f"{org.api}/agents", params=params, headers=org.admin).json()
        assert len(body["items"]) <= 2
        seen += [a["name"] for a in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


@pytest.mark.parametrize("route", ["agents", "approvers", "policies", "permissions", "audit"])
def test_every_list_shares_one_envelope_and_refuses_bad_paging(client, org, route):
    body = client.get(f"{org.api}/{route}", headers=org.admin).json()
    assert set(body) == {"items", "next_cursor"}
    too_many = client.get(f"{org.api}/{route}", params={"limit": 201}, headers=org.admin)
    forged = client.get(f"{org.api}/{route}", params={"cursor": "%%%"}, headers=org.admin)
    assert too_many.status_code == 422
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_request"
