"""Unit tests of @requires against the scripted server."""

from __future__ import annotations

import asyncio

import pytest
from sdk_fakes import make_clients

from jitgate import JitDenied, PermissionDenied, Refusal, requires


def test_jit_guard_redeems_the_token_once_per_call_and_runs_the_function():
    server, _, sync = make_clients(jit_statuses=["pending", "approved"])
    ran: list[int] = []

    @requires("payments.authorize", jit=True, auth=sync, justification="pay")
    def pay(amount: int) -> str:
        ran.append(amount)
        return f"paid {amount}"

    assert pay(42) == "paid 42"
    assert ran == [42] and "POST jit/tokens/consume" in server.calls


def test_jit_guard_hands_the_token_to_a_function_that_asks_for_it():
    server, auth, _ = make_clients(jit_statuses=["approved"])

    @requires("payments.authorize", jit=True, auth=auth)
    async def pay(amount: int, jit_token: str | None = None) -> str | None:
        return jit_token

    assert asyncio.run(pay(5)) == "jit-token"
    assert "POST jit/tokens/consume" not in server.calls


def test_denied_jit_guard_raises_and_never_runs_the_function():
    _, _, sync = make_clients(jit_statuses=["pending", "denied"])
    ran: list[int] = []

    @requires("payments.authorize", jit=True, auth=sync)
    def pay(amount: int) -> None:
        ran.append(amount)

    with pytest.raises(JitDenied):
        pay(1)
    assert ran == []


def test_refusal_can_be_returned_instead_of_raised():
    _, _, sync = make_clients(jit_statuses=["pending", "denied"])

    @requires("payments.authorize", jit=True, auth=sync, on_refusal="return")
    def pay(amount: int) -> str:
        return "paid"

    result = pay(1)
    assert isinstance(result, Refusal) and result.code == "denied" and "not today" in str(result)


def test_standing_guard_checks_the_permission():
    _, _, sync = make_clients()

    @requires("document.read", auth=sync)
    def read() -> str:
        return "doc"

    @requires("payments.authorize", auth=sync)
    def pay() -> str:
        return "paid"

    assert read() == "doc"
    with pytest.raises(PermissionDenied, match="just-in-time"):
        pay()
