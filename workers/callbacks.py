"""Signed decision callbacks to the agent's callback_url (typ jitgate-callback+jwt, so that no
webhook receiver mistakes one for a webhook: the agent, not an admin, chose the URL)."""

import json
import logging

import httpx

from app.core import outbound
from app.core.columns import utcnow
from app.core.db import session_scope
from app.core.times import rfc3339
from app.models import JitRequest
from app.settings import get_settings
from notifiers.formatting import outcome_event
from notifiers.webhook import CALLBACK, EVENT_HEADER, SIGNATURE_HEADER, shared_client, sign_body

log = logging.getLogger(__name__)


class CallbackFailed(Exception):
    """The receiver did not take the callback (5xx, 408, 429): retried with backoff."""


def callback_event(row: JitRequest) -> str:
    return outcome_event(row.status)


def callback_body(row: JitRequest) -> bytes:
    document = {
        "event": callback_event(row),
        # The same for every attempt of this event: receivers deduplicate on it.
        "event_id": f"{row.id}:{callback_event(row)}",
        "request_id": row.id,
        "status": row.status,
        "permission": row.permission,
        "operation_hash": row.operation_hash,
        "reason": row.decision_reason,
        "decided_at": rfc3339(row.decided_at) if row.decided_at else None,
        "sent_at": rfc3339(utcnow()),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def signed_headers(row: JitRequest, body: bytes) -> dict[str, str]:
    event = callback_event(row)
    audience = row.callback_url or ""
    signature = sign_body(body, org_id=row.org_id, audience=audience, kind=CALLBACK, event=event)
    return {"Content-Type": "application/json", EVENT_HEADER: event, SIGNATURE_HEADER: signature}


def post_callback(request_id: str) -> bool:
    """POST the decision (never the token: the agent fetches it with its own credentials)."""
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        if row is None or not row.callback_url or row.status == "pending":
            return False
        url, body = row.callback_url, callback_body(row)
        headers = signed_headers(row, body)
    try:
        with outbound.deadline(get_settings().delivery_deadline_seconds):
            response = shared_client().post(url, content=body, headers=headers)
    except httpx.ConnectError as exc:
        if outbound.refused_as_internal(exc):  # retrying would not change the answer
            log.warning("callback for %s refused: %s", request_id, exc)
            return False
        raise
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise CallbackFailed(f"callback answered HTTP {response.status_code}")
    return 200 <= response.status_code < 300
