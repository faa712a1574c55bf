"""Redis dies under a running deployment and comes back (issue 14, items 1 and 2).

Real processes: a web process and Celery workers on a private redis-server (its own port) that
the test kills with SIGKILL and starts again empty, a SQLite database, and a webhook receiver
on 127.0.0.1 counting every delivery by its event_id.
"""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import factories
from tests.integration.private_redis import PrivateRedis, redis_server_missing
from tests.integration.receiver import WebhookReceiver
from tests.integration.stack import DELIVERIES_QUEUE, Stack
from tests.integration.test_redis_mode import Deployment, approve, ask, make_org

pytestmark = pytest.mark.skipif(bool(redis_server_missing()), reason=str(redis_server_missing()))


@pytest.fixture
def outage() -> Iterator[tuple[Deployment, PrivateRedis]]:
    redis = PrivateRedis().start()
    # The relay re-sends what is still owed one second after it was written, so the test need
    # not wait a minute for it; the sweep runs only when the test sends it.
    stack = Stack(redis_db=0, redis_port=redis.port)
    env = {"JITGATE_OUTBOX_RELAY_AFTER_SECONDS": "1"}
    try:
        web = stack.web(**env)
        yield Deployment(stack, web, web), redis
    finally:
        stack.close()
        redis.stop()


class Waiter(threading.Thread):
    def __init__(self, url: str, bearer: dict[str, str], wait: int) -> None:
        super().__init__(daemon=True)
        self.url, self.bearer, self.wait, self.view = url, bearer, wait, {}

    def run(self) -> None:
        resp = httpx.get(self.url, params={"wait": self.wait}, headers=self.bearer, timeout=60)
        self.view = resp.json()


def test_work_accepted_while_redis_is_down_is_announced_and_decided_once_it_returns(outage):
    dep, redis = outage
    receiver = WebhookReceiver().start()
    env = {"JITGATE_OUTBOX_RELAY_AFTER_SECONDS": "1"}
    try:
        # Given an org whose approvers hear of requests by webhook, and an agent with a token,
        org = make_org(dep, channels=["webhook"], webhook_url=receiver.url)
        with dep.client(dep.web_a) as client:
            bearer = org.agent.bearer(client)
            early = ask(client, org, bearer)  # opened before the outage, never announced
            url = f"{dep.web_a.url}{org.handle.api}/jit/requests/{early}"
            waiter = Waiter(url, bearer, wait=4)
            waiter.start()
            time.sleep(0.5)  # the agent is parked on its long-poll

            # when Redis dies,
            redis.kill()
            # then requests are still accepted and decided (the outbox holds their side effects),
            during = ask(client, org, bearer)
            approve(client, org, early)
            approve(client, org, during)
            # a route that needs Redis says so with a 503 and Retry-After, never a 500,
            token = factories.request_token(client, org.handle, org.agent.assertion())
            assert token.status_code == 503, token.text
            assert token.json()["error"] == "temporarily_unavailable"
            assert token.headers.get("retry-after")
            # and the agent that was waiting learns of the approval when its wait ends,
            waiter.join(30)
            assert waiter.view.get("status") == "approved", waiter.view

        # and once Redis is back (empty) with workers and a sweep,
        redis.start()
        dep.stack.worker(**env)
        dep.stack.worker("deliveries", queues=DELIVERIES_QUEUE, **env)
        time.sleep(1.5)  # past the outbox rows' next attempt
        dep.run_sweep()

        # every request is announced and its outcome shown, each event once by its event_id.
        expected = {
            f"{rid}:jit_request.{event}"
            for rid in (early, during)
            for event in ("pending", "approved")
        }
        assert receiver.wait_for(len(expected), 60), receiver.distinct()
        assert set(receiver.distinct()) == expected
    finally:
        receiver.stop()
