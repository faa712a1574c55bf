"""Operation hashes are RFC 8785 (JCS): one operation, whatever language wrote its JSON."""

import json

import pytest

from app.core.errors import RuleViolation
from app.jit.operations import normalize
from jitgate import operation_hash
from tests.jit.conftest import PERMISSION


def test_number_forms_hash_alike():
    assert normalize({"amount": 250.0})[1] == normalize({"amount": 250})[1]
    assert normalize({"x": 1.5e3})[1] == normalize({"x": 1500})[1]
    assert normalize({"x": -0.0})[1] == normalize({"x": 0})[1]
    assert normalize({"x": 0.1})[1] != normalize({"x": 0.10000001})[1]


def test_key_order_and_unicode_spelling_do_not_matter():
    a = json.loads('{"b": 1, "a": "\\u00e9\\u20ac", "c": {"z": 1, "y": [2, 1]}}')
    b = json.loads('{"c": {"y": [2, 1], "z": 1}, "a": "é€", "b": 1}')
    assert normalize(a)[1] == normalize(b)[1]
    assert normalize({"y": [1, 2]})[1] != normalize({"y": [2, 1]})[1]  # arrays keep their order


def test_canonical_bytes_follow_rfc_8785():
    # RFC 8785 §3.2.3: keys sorted by UTF-16 code units; numbers in ECMAScript form.
    from app.jit.operations import canonical

    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01 (code-point order says after).
    assert canonical({"\ufb01": 1, "\U0001f600": 2, "a": 250.0, "b": 1e21}) == (
        '{"a":250,"b":1e+21,"\U0001f600":2,"\ufb01":1}'.encode()
    )


def test_the_sdk_and_the_service_hash_alike():
    op = {"invoice": "INV-7", "amount": 250.5, "to": "Zoë", "lines": [1, 2.0]}
    assert operation_hash(op) == normalize(op)[1]


@pytest.mark.parametrize(
    "operation",
    [{"x": float("nan")}, {"x": 2**53}, {"x": "\udfff"}, {"a": [[[[[[[[[[[1]]]]]]]]]]]}],
    ids=["nan", "unsafe-integer", "lone-surrogate", "too-deep"],
)
def test_operations_json_cannot_carry_are_refused_as_rule_violations(operation):
    with pytest.raises(RuleViolation):
        normalize(operation)


def test_deep_nesting_is_refused_without_recursion(client):
    deep: dict = {}
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(RuleViolation):
        normalize(deep)


def test_an_approval_for_250_point_0_is_consumed_by_250(jit, agent, alice):
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice, operation={"invoice": "INV-7", "amount": 250.0})

    # A JavaScript resource server sends 250 for the same number.
    body = '{"token": "%s", "permission": "%s", "operation": {"amount": 250, "invoice": "INV-7"}}'
    answer = jit.client.post(
        f"{jit.org.api}/jit/tokens/consume",
        content=body % (token, PERMISSION),
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is True
