"""Celery tasks. Each takes an id, loads the row, and returns early when the work is done already,
so a redelivered task changes nothing twice."""

import logging
from datetime import timedelta
from typing import TypeVar

import httpx
from celery import Task
from sqlmodel import col, select

from app.core import durable_store
from app.core.batching import TRANSIENT_ERRORS
from app.core.columns import utcnow
from app.core.db import session_scope
from app.core.task_queue import (
    DELIVER_CALLBACK,
    DELIVER_WEBHOOKS,
    EXPIRE_REQUEST,
    MINT_TOKEN,
    NOTIFY_OUTCOME,
    NOTIFY_REQUEST,
    SWEEP,
    VISIBILITY_TIMEOUT,
)
from app.identity import replay
from app.jit import minting, outbox, token_expiry
from app.jit import state_machine as jit
from app.models import Delivery, JitRequest
from notifiers.base import NotifierUnavailable
from workers import deliveries, heartbeat, relay, wiring
from workers.callbacks import CallbackFailed, post_callback
from workers.celery_app import celery_app
from workers.fairness import in_org_slot

log = logging.getLogger(__name__)
T = TypeVar("T")
# A channel that is down, or the database (a task that loses it mid-way runs again later: every
# step is idempotent, and the outbox row stays owed for the relay should the retries run out).
RETRY = {
    "autoretry_for": (NotifierUnavailable, *TRANSIENT_ERRORS),
    "max_retries": 6,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
}
RENOTIFY_AFTER = timedelta(seconds=30)
REMINT_AFTER = timedelta(seconds=5)
# Whatever runs these tasks sends follow-up tasks (an expiry's outcome) and signs webhooks and
# callbacks through app/core's ports: a worker process has no other start-up of ours.
wiring.install()


@celery_app.task(name=NOTIFY_REQUEST, bind=True, **RETRY)
def notify_request(self: Task, request_id: str, outbox_id: int | None = None) -> int:
    """Announce a request on each of its policy's own channels (one delivery row per target)."""
    return _done(outbox_id, deliveries.announce(request_id))


@celery_app.task(name=NOTIFY_OUTCOME, bind=True, **RETRY)
def notify_outcome(self: Task, request_id: str, outbox_id: int | None = None) -> int:
    """Show the outcome wherever the request was announced."""
    return _done(outbox_id, deliveries.show_outcome(request_id))


@celery_app.task(name=DELIVER_WEBHOOKS, bind=True, **RETRY)
def deliver_webhooks(
    self: Task, request_id: str, kind: str, outbox_id: int | None = None
) -> int | None:
    """The third-party lane of announcements and outcomes, on the deliveries queue, in one of
    the org's delivery slots."""
    org_id = _org_of(request_id)
    if org_id is None:
        return _done(outbox_id, 0)
    if kind == deliveries.ANNOUNCE:
        deliver = lambda: deliveries.announce(request_id, third_party=True)  # noqa: E731
    else:
        deliver = lambda: deliveries.show_outcome(request_id, third_party=True)  # noqa: E731
    return _done(outbox_id, in_org_slot(self, org_id, deliver))


def _done(outbox_id: int | None, result: T) -> T:
    """The work ran to its end (None: deferred to a later copy of the task, which carries the
    outbox id): its outbox row is done, and the relay will not send it again."""
    if result is not None:
        outbox.mark_done(outbox_id)
    return result


def _org_of(request_id: str) -> str | None:
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        return row.org_id if row is not None else None


@celery_app.task(name=MINT_TOKEN, autoretry_for=(Exception,), max_retries=5, retry_backoff=True)
def mint_token(request_id: str) -> bool:
    with session_scope() as session:
        return minting.mint_token(session, request_id=request_id)


@celery_app.task(name=EXPIRE_REQUEST)
def expire_request(request_id: str) -> bool:
    """The countdown fast path for short deadlines; the sweep covers everything else."""
    with session_scope() as session:
        return jit.expire(session, request_id=request_id)


@celery_app.task(
    name=DELIVER_CALLBACK,
    bind=True,
    autoretry_for=(httpx.HTTPError, CallbackFailed, *TRANSIENT_ERRORS),
    max_retries=6,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def deliver_callback(self: Task, request_id: str, outbox_id: int | None = None) -> bool | None:
    org_id = _org_of(request_id)
    if org_id is None:
        return _done(outbox_id, False)
    return _done(outbox_id, in_org_slot(self, org_id, lambda: post_callback(request_id)))


@celery_app.task(name=SWEEP)
def sweep() -> dict[str, int]:
    """Expire overdue requests and tokens; resend work a lost message or a broker outage dropped;
    prune expired assertion claims."""
    now = utcnow()
    counts = {"expired": 0, "tokens_expired": 0, "renotified": 0, "reminted": 0}
    with session_scope() as session:
        overdue = session.exec(
            select(JitRequest.id).where(
                JitRequest.status == jit.PENDING, col(JitRequest.pending_deadline) <= now
            )
        ).all()
        past_exp = token_expiry.tokens_past_exp(session, now)
    # One request per transaction, as every decision takes its locks: the request's row, then
    # its org's audit head. Holding the audit head while waiting for the next request's row
    # deadlocked with a cancel holding that row (tests/jit/test_sweep_lock_order.py).
    for rid in overdue:
        with session_scope() as session:
            counts["expired"] += jit.expire(session, request_id=rid, now=now)
    for rid in past_exp:
        with session_scope() as session:
            counts["tokens_expired"] += token_expiry.expire_token(session, rid, now=now)
    with session_scope() as session:
        # Only requests whose notify task never ran (no delivery row at all: the broker lost
        # the message). A task that ran and used up its retries on a failing channel is not
        # re-sent every sweep; its deliveries show the failure.
        ran = select(Delivery.id).where(col(Delivery.request_id) == col(JitRequest.id)).exists()
        unnotified = session.exec(
            select(JitRequest.id).where(
                JitRequest.status == jit.PENDING,
                col(JitRequest.notified_at).is_(None),
                col(JitRequest.created_at) <= now - RENOTIFY_AFTER,
                ~ran,
            )
        ).all()
        # Deliveries claimed by a task that died mid-send (or failed to record) and that no
        # redelivery will finish (embedded mode has no redelivery): the task runs again and
        # takes the stale claim over.
        stuck = session.exec(
            select(Delivery.request_id, Delivery.kind)
            .where(
                Delivery.status == "sending",
                col(Delivery.updated_at) < now - timedelta(seconds=VISIBILITY_TIMEOUT),
            )
            .distinct()
        ).all()
        unminted = session.exec(
            select(JitRequest.id).where(
                JitRequest.status == jit.APPROVED,
                col(JitRequest.token_jti).is_(None),
                col(JitRequest.decided_at) <= now - REMINT_AFTER,
            )
        ).all()
    for rid in unnotified:
        notify_request.delay(rid)
    for rid, kind in stuck:
        (notify_request if kind == "announce" else notify_outcome).delay(rid)
    for rid in unminted:
        mint_token.delay(rid)
    counts["renotified"], counts["reminted"] = len(unnotified), len(unminted)
    counts["stuck_redelivered"] = len(stuck)
    counts["relayed"] = relay.relay(now=now)  # side effects whose fast path did not finish
    counts["claims_pruned"] = replay.prune()  # expired assertion jtis (embedded mode's store)
    counts["keys_pruned"] = durable_store.prune()  # sign-outs, used links: expired ones
    if any(counts.values()):
        log.info("sweep: %s", counts)
    heartbeat.sweep_ran()  # beat's liveness: the sweep only runs when beat schedules it
    return counts
