"""Slack interaction requests: signature check, replay protection, and the decision a click asks for.

Pure functions over the raw body and headers, so each rule can be tested (and named) alone:
`validate_timestamp`, `validate_signature`, `validate_not_replayed`, then `parse_decision`.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from app.core.kv import KeyValueStore, get_store
from notifiers.slack.blocks import ActionId, TamperedButton, parse_button_value

if TYPE_CHECKING:
    from slack_sdk.signature import Clock

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
PAYLOAD_FIELD = "payload"
MAX_CLOCK_SKEW_SECONDS = 300
# A signature stays valid for the skew window either side of its timestamp; remember it longer.
REPLAY_MEMORY_SECONDS = 2 * MAX_CLOCK_SKEW_SECONDS + 60
REPLAY_KEY_PREFIX = "slack:interaction:"


class InteractionType(StrEnum):
    BLOCK_ACTIONS = "block_actions"


class Field(StrEnum):
    """The parts of Slack's block_actions payload that jitgate reads."""

    TYPE = "type"
    ACTIONS = "actions"
    ACTION_ID = "action_id"
    VALUE = "value"
    USER = "user"
    TEAM = "team"
    CHANNEL = "channel"
    CONTAINER = "container"
    ID = "id"
    TEAM_ID = "team_id"
    CHANNEL_ID = "channel_id"
    MESSAGE_TS = "message_ts"
    RESPONSE_URL = "response_url"


class Decision(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


DECISION_FOR_ACTION = {ActionId.APPROVE: Decision.APPROVE, ActionId.DENY: Decision.DENY}


class InteractionRefused(Exception):
    """The request is not a genuine, fresh interaction from Slack; nothing is decided."""

    status = 401
    code = "invalid_signature"


class MissingSignature(InteractionRefused):
    code = "missing_signature"


class StaleTimestamp(InteractionRefused):
    code = "stale_timestamp"


class BadSignature(InteractionRefused):
    code = "invalid_signature"


class ReplayedRequest(InteractionRefused):
    code = "replayed_request"


class MalformedPayload(InteractionRefused):
    status = 400
    code = "invalid_request"


class TamperedValue(MalformedPayload):
    code = "invalid_button_value"


@dataclass(frozen=True)
class SlackDecision:
    """What one click asks for, and where to answer the person who clicked."""

    request_id: str
    org_id: str
    slack_user_id: str
    decision: Decision
    response_url: str | None
    channel_id: str | None
    team_id: str | None
    message_ts: str | None


class _FixedClock:
    """slack_sdk's Clock at the request's time (its verifier only reads now())."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def validate_timestamp(timestamp: str | None, *, now: float) -> int:
    if not timestamp:
        raise MissingSignature("missing X-Slack-Request-Timestamp")
    try:
        value = int(timestamp)
    except ValueError as exc:
        raise StaleTimestamp("X-Slack-Request-Timestamp is not a number") from exc
    if abs(now - value) > MAX_CLOCK_SKEW_SECONDS:
        raise StaleTimestamp("X-Slack-Request-Timestamp is more than 5 minutes off")
    return value


def validate_signature(
    body: bytes, *, timestamp: str, signature: str | None, signing_secret: str, now: float
) -> str:
    if not signature:
        raise MissingSignature("missing X-Slack-Signature")
    # Imported here: slack_sdk is 1.9 MiB of heap that a process serving no Slack request
    # need not hold.
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(signing_secret, clock=cast("Clock", _FixedClock(now)))
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise BadSignature("X-Slack-Signature does not match the body")
    return signature


def validate_not_replayed(signature: str, *, store: KeyValueStore) -> None:
    """A signed request is accepted once; checked last so unsigned junk never fills the store."""
    if not store.add(REPLAY_KEY_PREFIX + signature, REPLAY_MEMORY_SECONDS):
        raise ReplayedRequest("this interaction was already received")


def verify_request(
    body: bytes,
    headers: Mapping[str, str],
    *,
    signing_secret: str,
    now: float | None = None,
    store: KeyValueStore | None = None,
) -> None:
    """Raise an InteractionRefused subclass unless Slack sent this body, recently, once."""
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER)
    validate_timestamp(timestamp, now=now)
    assert timestamp is not None
    signature = validate_signature(
        body,
        timestamp=timestamp,
        signature=lowered.get(SIGNATURE_HEADER),
        signing_secret=signing_secret,
        now=now,
    )
    validate_not_replayed(signature, store=store or get_store())


def load_payload(body: bytes) -> dict[str, Any]:
    """Slack posts `payload=<JSON>` form-encoded."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(fields[PAYLOAD_FIELD][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError) as exc:
        raise MalformedPayload("body is not a Slack interaction payload") from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("payload is not a JSON object")
    return payload


def _jitgate_action(payload: dict[str, Any]) -> tuple[Decision, str] | None:
    for action in payload.get(Field.ACTIONS) or []:
        if isinstance(action, dict) and action.get(Field.ACTION_ID) in DECISION_FOR_ACTION:
            decision = DECISION_FOR_ACTION[ActionId(action[Field.ACTION_ID])]
            return decision, str(action.get(Field.VALUE, ""))
    return None


def _get(payload: dict[str, Any], outer: str, inner: str) -> str | None:
    section = payload.get(outer)
    value = section.get(inner) if isinstance(section, dict) else None
    return str(value) if value else None


def parse_decision(body: bytes) -> SlackDecision | None:
    """The decision a verified body asks for; None for interactions that are not ours to act on."""
    payload = load_payload(body)
    if payload.get(Field.TYPE) != InteractionType.BLOCK_ACTIONS:
        return None
    found = _jitgate_action(payload)
    if found is None:
        return None
    decision, value = found
    user_id = _get(payload, Field.USER, Field.ID)
    if not user_id:
        raise MalformedPayload("block_actions payload without a user")
    try:
        org_id, request_id = parse_button_value(value)
    except TamperedButton as exc:
        raise TamperedValue(str(exc)) from exc
    return SlackDecision(
        request_id=request_id,
        org_id=org_id,
        slack_user_id=user_id,
        decision=decision,
        response_url=payload.get(Field.RESPONSE_URL) or None,
        channel_id=_get(payload, Field.CHANNEL, Field.ID)
        or _get(payload, Field.CONTAINER, Field.CHANNEL_ID),
        team_id=_get(payload, Field.TEAM, Field.ID) or _get(payload, Field.USER, Field.TEAM_ID),
        message_ts=_get(payload, Field.CONTAINER, Field.MESSAGE_TS),
    )
