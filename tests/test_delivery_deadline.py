"""An overall deadline per outbound delivery (security finding 3): a receiver that answers one
byte at a time never trips a per-read timeout, so without a wall-clock deadline it holds a
worker thread for as long as it likes. Cut at the deadline, the delivery is retried later."""

import time
from collections.abc import Iterator

import httpx
import pytest

from app.core import outbound
from app.settings import get_settings
from notifiers import webhook
from notifiers.base import NotifierUnavailable, Target
from tests.drip_http import DripServer
from tests.fakes.views import request_view

DEADLINE = 1.0
# The drip lasts far longer than the deadline; the bound below sits far from both, so a busy
# machine cannot make the test pass or fail by timing alone.
DRIP_SECONDS = 40.0
GENEROUS = 20.0


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer(duration=DRIP_SECONDS).start()
    yield server
    server.stop()


@pytest.fixture
def short_deadline(monkeypatch):
    monkeypatch.setattr(get_settings(), "delivery_deadline_seconds", DEADLINE)
    monkeypatch.setattr(webhook, "_shared", None)
    yield
    if webhook._shared is not None:
        webhook._shared.close()


def test_the_delivery_deadline_defaults_to_ten_seconds():
    from app.settings import Settings

    assert Settings().delivery_deadline_seconds == 10.0


def test_a_dripping_receiver_is_cut_at_the_deadline_not_after_its_last_byte(drip, short_deadline):
    client = outbound.client(timeout=5.0)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException), outbound.deadline(DEADLINE):
        client.post(drip.url(), content=b"{}")
    assert time.monotonic() - started < GENEROUS
    assert drip.started == 1


def test_without_a_deadline_a_client_keeps_its_per_read_timeout(drip):
    # The deadline is opt-in per call: a fast server answers as before once it is released.
    drip.release.set()
    resp = outbound.client(timeout=5.0).post(drip.url(), content=b"{}")
    assert resp.status_code == 200


def test_a_webhook_to_a_dripping_receiver_is_retried_later_not_failed(drip, short_deadline, client):
    started = time.monotonic()
    with pytest.raises(NotifierUnavailable):
        webhook.WebhookNotifier().announce(request_view(), Target(drip.url("/hook")))
    assert time.monotonic() - started < GENEROUS


def test_a_callback_to_a_dripping_receiver_raises_for_the_task_to_retry(
    drip, short_deadline, client, org, agent
):
    from tests.jit.conftest import Jit

    jit = Jit(client, org)
    jit.policy([jit.approver("carol")])
    request_id = jit.pending(agent)["request_id"]
    cancel = client.post(
        f"{org.api}/jit/requests/{request_id}/cancel", headers=agent.bearer(client)
    )
    assert cancel.status_code == 200, cancel.text
    _point_callback_at(request_id, drip.url())

    from workers.callbacks import post_callback

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        post_callback(request_id)
    assert time.monotonic() - started < GENEROUS


def _point_callback_at(request_id: str, url: str) -> None:
    """Set after the decision, so the task that the cancel queued has nothing to call."""
    from app.core.db import session_scope
    from app.models import JitRequest

    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        assert row is not None
        row.callback_url = url
        session.add(row)
