"""The SDK against a real server over a rate limit: RateLimited, with the server's Retry-After."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sdk_fakes import make_clients

from jitgate import RateLimited, SyncAgentAuth
from jitgate.errors import error_from_response


def test_agent_past_its_requests_per_minute_gets_rate_limited_with_retry_after(
    live_server, live_admin, live_agent
):
    # given an agent allowed 2 requests a minute, one of them spent on its token
    live_admin.call(
        "PATCH", f"/agents/{live_agent.agent_id}", json={"budget": {"requests_per_minute": 2}}
    )
    auth = SyncAgentAuth(
        live_server.base_url, live_server.org_id, live_agent.agent_id, live_agent.private_key_pem
    )
    assert auth.check("document.read")["allowed"] is True
    # when it checks again, then the SDK raises RateLimited with the server's delay
    with pytest.raises(RateLimited) as caught:
        auth.check("document.read")
    assert caught.value.status == 429 and caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 60


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("soon", None), ("-3", None)])
def test_retry_after_is_read_only_as_sane_seconds(header, expected):
    response = httpx.Response(
        429, json={"error": "rate_limited", "error_description": "slow down"},
        headers={"Retry-After": header},
    )  # fmt: skip
    error = error_from_response(response)
    assert isinstance(error, RateLimited) and error.retry_after == expected


def test_waiting_for_approval_sits_out_a_rate_limit_and_carries_on():
    # given a server that refuses the first poll with Retry-After: 1, then has the approval
    server, _, sync = make_clients(jit_statuses=["approved"], rate_limit_next_polls=1)
    # when the agent waits, then it waits out the refusal and gets its token
    approval = sync.wait_for_approval("jit_1", timeout=30)
    assert approval.status == "approved" and approval.granted
    assert server.calls.count("GET jit/requests/jit_1") == 2


def test_async_wait_raises_rate_limited_when_retry_after_outlasts_the_timeout():
    _, auth, _ = make_clients(rate_limit_next_polls=1, retry_after="120")
    with pytest.raises(RateLimited) as caught:
        asyncio.run(auth.wait_for_approval("jit_1", timeout=5))
    assert caught.value.retry_after == 120
