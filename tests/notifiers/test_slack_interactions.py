"""Verifying Slack's interaction requests: signature, clock, replay, payload and button value."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from app.core.kv import MemoryStore
from notifiers.slack import interactions as ix
from notifiers.slack.blocks import ActionId, button_value

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_700_000_000.0


def block_actions_body(
    *, action: str = ActionId.APPROVE, value: str | None = None, user: str = "U0ALICE"
) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "channel": {"id": "C123"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C123"},
        "response_url": "https://hooks.slack.test/actions/1",
        "actions": [
            {
                "action_id": str(action),
                "block_id": "jitgate_decision",
                "value": value or button_value("org_acme", "jit_abc"),
                "type": "button",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(body: bytes, *, timestamp: float = NOW, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(timestamp))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def verify(body: bytes, headers: dict[str, str], store: MemoryStore | None = None) -> None:
    ix.verify_request(body, headers, signing_secret=SECRET, now=NOW, store=store or MemoryStore())


def test_correctly_signed_click_parses_into_a_decision():
    body = block_actions_body()
    verify(body, signed_headers(body))
    decision = ix.parse_decision(body)
    assert decision is not None
    assert (decision.org_id, decision.request_id) == ("org_acme", "jit_abc")
    assert (decision.slack_user_id, decision.decision) == ("U0ALICE", ix.Decision.APPROVE)
    assert decision.channel_id == "C123"
    assert decision.response_url == "https://hooks.slack.test/actions/1"


def test_deny_button_parses_as_deny():
    decision = ix.parse_decision(block_actions_body(action=ActionId.DENY))
    assert decision is not None and decision.decision is ix.Decision.DENY


def test_bad_signature_is_refused():
    body = block_actions_body()
    with pytest.raises(ix.BadSignature):
        verify(body, signed_headers(body, secret="another-secret"))


def test_body_changed_after_signing_is_refused():
    body = block_actions_body()
    headers = signed_headers(body)
    with pytest.raises(ix.BadSignature):
        verify(block_actions_body(action=ActionId.DENY), headers)


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_timestamp_more_than_five_minutes_off_is_refused(skew):
    body = block_actions_body()
    with pytest.raises(ix.StaleTimestamp):
        verify(body, signed_headers(body, timestamp=NOW + skew))


def test_timestamp_that_is_not_a_number_is_refused():
    body = block_actions_body()
    headers = {**signed_headers(body), "X-Slack-Request-Timestamp": "soon"}
    with pytest.raises(ix.StaleTimestamp):
        verify(body, headers)


@pytest.mark.parametrize("missing", ["X-Slack-Request-Timestamp", "X-Slack-Signature"])
def test_missing_signature_headers_are_refused(missing):
    body = block_actions_body()
    headers = signed_headers(body)
    del headers[missing]
    with pytest.raises(ix.MissingSignature):
        verify(body, headers)


def test_replayed_request_is_refused():
    body = block_actions_body()
    headers = signed_headers(body)
    store = MemoryStore()
    verify(body, headers, store)
    with pytest.raises(ix.ReplayedRequest):
        verify(body, headers, store)


def test_unsigned_requests_do_not_fill_the_replay_store():
    body = block_actions_body()
    store = MemoryStore()
    with pytest.raises(ix.BadSignature):
        verify(body, signed_headers(body, secret="wrong"), store)
    verify(body, signed_headers(body), store)  # the genuine one is still accepted


def test_header_names_are_case_insensitive():
    body = block_actions_body()
    headers = {k.lower(): v for k, v in signed_headers(body).items()}
    verify(body, headers)


def test_button_value_pointing_at_another_orgs_request_is_refused():
    forged = button_value("org_acme", "jit_abc").replace("org_acme", "org_other")
    with pytest.raises(ix.TamperedValue):
        ix.parse_decision(block_actions_body(value=forged))


def test_interactions_that_are_not_jitgate_buttons_are_ignored():
    other = urlencode({"payload": json.dumps({"type": "view_submission"})}).encode()
    assert ix.parse_decision(other) is None
    assert ix.parse_decision(block_actions_body(action="someone_elses_button")) is None


@pytest.mark.parametrize("body", [b"", b"payload=not-json", b"x=1", b"payload=%5B%5D", b"\xff"])
def test_malformed_bodies_are_refused(body):
    with pytest.raises(ix.MalformedPayload):
        ix.parse_decision(body)


def test_real_clock_is_used_by_default():
    body = block_actions_body()
    ix.verify_request(
        body,
        signed_headers(body, timestamp=time.time()),
        signing_secret=SECRET,
        store=MemoryStore(),
    )
