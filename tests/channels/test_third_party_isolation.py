"""Third-party deliveries cannot stall anyone else (security finding 3), embedded mode.

Given org A's agent points the callback_url of several requests at a receiver that drips its
answer (a real server on 127.0.0.1, holding each request open until the test releases it),
when the callbacks are in progress, then another org's webhook is still delivered, the expiry
of a request still happens, and org A holds no more delivery slots than its share. Each check
is made while the drips are still open; the waits are generous bounds, not timings.
"""

import time
from collections.abc import Callable, Iterator

import pytest

from app.core.db import session_scope
from app.models import Delivery, JitRequest
from app.settings import get_settings
from tests import factories
from tests.drip_http import DripServer
from tests.integration.receiver import WebhookReceiver
from tests.jit.conftest import Jit

DRIPPING = 4  # as many as the embedded worker's threads were: enough to take them all
GENEROUS = 30.0
PAY, REFUND = "payments.authorize", "payments.refund"


@pytest.fixture
def drip(monkeypatch) -> Iterator[DripServer]:
    # A deadline far beyond the test, so what keeps others moving is the separate pool and the
    # per-org cap, not the deadline (tests/test_delivery_deadline.py covers that one).
    monkeypatch.setattr(get_settings(), "delivery_deadline_seconds", 300.0)
    server = DripServer(duration=120.0).start()
    yield server
    server.stop()  # releases the drips: the callbacks finish and free their threads


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def dripping_callbacks(client, org, agent, drip: DripServer, count: int = DRIPPING) -> Jit:
    """count cancelled requests whose callbacks go to the dripping receiver."""
    jit = Jit(client, org)
    jit.policy([jit.approver("dora")])
    for n in range(count):
        request_id = jit.pending(agent, callback_url=drip.url(f"/cb/{n}"))["request_id"]
        url = f"{org.api}/jit/requests/{request_id}/cancel"
        assert client.post(url, headers=agent.bearer(client)).status_code == 200
    return jit


def webhook_org(client, org, receiver: WebhookReceiver, **policy) -> tuple[Jit, object]:
    jit = Jit(client, org)
    agent = factories.register_agent(client, org, capabilities=["payments.authorize"])
    jit.policy([jit.approver("erin")], channels=["webhook"], webhook_url=receiver.url, **policy)
    return jit, agent


def until(found: Callable[[], bool], timeout: float = GENEROUS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():
            return True
        time.sleep(0.05)
    return False


def test_another_orgs_webhook_arrives_while_one_orgs_callbacks_drip(
    client, org, agent, other_org, drip, receiver
):
    dripping_callbacks(client, org, agent, drip)
    assert drip.wait_open(1, GENEROUS), "the callbacks never reached the dripping receiver"

    jit_b, agent_b = webhook_org(client, other_org, receiver)
    request_id = jit_b.pending(agent_b)["request_id"]

    assert receiver.wait_for(1, GENEROUS), "org B's webhook waited behind org A's callbacks"
    assert drip.open >= 1, "the drips ended before the webhook came: nothing was shown"
    assert next(iter(receiver.distinct().values())).request_id == request_id


def test_one_org_holds_at_most_its_share_of_delivery_slots(client, org, agent, drip):
    cap = get_settings().delivery_org_concurrency
    dripping_callbacks(client, org, agent, drip, count=cap + 3)
    assert drip.wait_open(cap, GENEROUS)
    time.sleep(1.0)  # give an over-the-cap callback every chance to start (none may)
    assert drip.open == cap, f"{drip.open} callbacks of one org in flight, cap {cap}"


def test_expiry_and_our_own_channels_never_wait_behind_third_party_deliveries(
    client, org, agent, other_org, drip, monkeypatch
):
    # Every delivery slot taken by one org (no per-org cap): only a separate pool helps now.
    monkeypatch.setattr(get_settings(), "delivery_org_concurrency", 100)
    dripping_callbacks(client, org, agent, drip, count=DRIPPING + 2)
    assert drip.wait_open(DRIPPING, GENEROUS)

    jit_b = Jit(client, other_org)
    agent_b = factories.register_agent(client, other_org, capabilities=[PAY, REFUND])
    fay = jit_b.approver("fay")
    jit_b.policy([fay], permission=PAY, channels=["log"])
    jit_b.policy([fay], permission=REFUND, channels=["log"], pending_timeout="5s")
    announced = jit_b.pending(agent_b)["request_id"]
    expiring = jit_b.pending(agent_b, permission=REFUND)["request_id"]

    assert until(lambda: _announced(announced, "log")), "our own channel waited on deliveries"
    assert until(lambda: _status(expiring) == "expired"), "the expiry waited on deliveries"
    assert drip.open >= 1


def _status(request_id: str) -> str | None:
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        return row.status if row else None


def _announced(request_id: str, channel: str) -> bool:
    with session_scope() as session:
        rows = session.query(Delivery).filter_by(request_id=request_id, channel=channel).all()
        return any(r.status == "sent" for r in rows)


def test_the_embedded_worker_consumes_each_queue_with_its_own_pool(app, client):
    from workers.celery_app import DELIVERIES_QUEUE, QUEUE

    consuming = app.state.worker.consuming()
    assert sorted(consuming.values()) == [[QUEUE], [DELIVERIES_QUEUE]], consuming
    assert app.state.worker.alive()


def test_webhooks_and_callbacks_are_routed_to_the_deliveries_queue():
    from workers.celery_app import DELIVERIES_QUEUE, QUEUE, celery_app

    def queue_of(name: str) -> str:
        return celery_app.amqp.router.route({}, name)["queue"].name

    assert queue_of("jitgate.deliver_callback") == DELIVERIES_QUEUE
    assert queue_of("jitgate.deliver_webhooks") == DELIVERIES_QUEUE
    for ours in ("jitgate.notify_request", "jitgate.mint_token", "jitgate.sweep"):
        assert queue_of(ours) == QUEUE
