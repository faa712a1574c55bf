"""Slack's interaction endpoint: a verified button click becomes an approver's decision.

Slack wants an answer within 3 seconds, so the click is verified and decided with local
work only (signature, one key-value write, a few rows); anything that talks to Slack (the
ephemeral reply) runs after the response, and the message itself is updated by the notify
task once the request ends.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from app.core.db import undo_on_error
from app.core.durable_store import durable_store
from app.core.errors import JitgateError, error_body
from app.http.deps import SessionDep
from app.http.throttle import ClientAddressLimit
from app.jit import state_machine as jit
from app.models import Approver, JitRequest
from app.settings import get_settings
from notifiers.base import NotifierRejected, NotifierUnavailable
from notifiers.slack.blocks import ephemeral_text
from notifiers.slack.interactions import (
    Decision,
    InteractionRefused,
    SlackDecision,
    parse_decision,
    verify_request,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["slack"])

INTERACTIONS_PATH = "/integrations/slack/interactions"
CHANNEL = "slack"
DENY_REASON = "Denied in Slack"
REPLY_UNKNOWN_USER = (
    "You are not registered as a jitgate approver for this organization, "
    "so your click decided nothing. Ask an admin to add your Slack user id to your approver."
)
REPLY_UNKNOWN_REQUEST = "This request does not exist in your organization; nothing was decided."
REPLY_REFUSED = "Your decision was not recorded: {reason}"
REPLY_WAITING = "Your approval of {request_id} is recorded; it still needs more approvals."


async def raw_body(request: Request) -> bytes:
    """The exact bytes Slack signed; parsing them first would break the signature."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(INTERACTIONS_PATH, include_in_schema=False, dependencies=[ClientAddressLimit])
def slack_interactions(
    body: RawBody, request: Request, session: SessionDep, background: BackgroundTasks
) -> Response:
    secret = get_settings().slack_signing_secret
    if not secret:
        return JSONResponse(error_body("not_found", "Slack is not configured"), status_code=404)
    try:
        # Signatures seen are kept across a restart: a captured click cannot be sent again.
        verify_request(body, request.headers, signing_secret=secret, store=durable_store)
        decision = parse_decision(body)
    except InteractionRefused as exc:
        log.warning("refused a Slack interaction: %s", exc.code)
        return JSONResponse(error_body(exc.code, str(exc)), status_code=exc.status)
    if decision is not None:
        reply = decide(session, decision)
        if reply:
            background.add_task(send_ephemeral, decision, reply)
    # Slack ignores the body of a block_actions answer; an empty 200 acknowledges the click.
    return Response(status_code=200)


def find_approver(session: Session, decision: SlackDecision) -> Approver | None:
    """The approver this Slack user is in the org the button names (Slack ids are per workspace)."""
    stmt = select(Approver).where(
        Approver.org_id == decision.org_id, Approver.slack_user_id == decision.slack_user_id
    )
    return session.exec(stmt).first()


def decide(session: Session, decision: SlackDecision) -> str | None:
    """Record the click as the approver's decision; return a private reply for the clicker."""
    approver = find_approver(session, decision)
    if approver is None:
        return REPLY_UNKNOWN_USER
    request = session.get(JitRequest, decision.request_id)
    if request is None or request.org_id != approver.org_id:
        return REPLY_UNKNOWN_REQUEST
    try:
        with undo_on_error(session):  # a refusal leaves nothing behind for the request to commit
            _record(session, decision, approver)
    except JitgateError as exc:
        return REPLY_REFUSED.format(reason=exc.description)
    session.refresh(request)
    if request.status == jit.PENDING:  # the final state is shown by updating the message itself
        return REPLY_WAITING.format(request_id=request.id)
    return None


def _record(session: Session, decision: SlackDecision, approver: Approver) -> None:
    jit.decide(
        session,
        request_id=decision.request_id,
        approver=approver,
        decision=decision.decision.value,
        comment=DENY_REASON if decision.decision is Decision.DENY else None,
        channel=CHANNEL,
    )


def send_ephemeral(decision: SlackDecision, text: str) -> None:
    """Best effort: the decision stands (or was refused) whether or not this reply arrives."""
    from notifiers.slack.client import SlackClient

    if not decision.channel_id:
        log.info("no channel to answer Slack user %s in", decision.slack_user_id)
        return
    try:
        SlackClient().post_ephemeral(
            channel=decision.channel_id, user=decision.slack_user_id, text=ephemeral_text(text)
        )
    except (NotifierUnavailable, NotifierRejected) as exc:
        log.warning("could not reply to Slack user %s: %s", decision.slack_user_id, exc)
