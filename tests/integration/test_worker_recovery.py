"""A worker holding unacknowledged messages when Redis dies keeps working once Redis is back
(issue 14 item 3: kombu's restore_unacked_once used to kill it with
AttributeError("'NoneType' object has no attribute 'hostname'"))."""

import time

import pytest

from tests.integration.private_redis import PrivateRedis, redis_server_missing
from tests.integration.receiver import WebhookReceiver
from tests.integration.stack import DELIVERIES_QUEUE, Stack
from tests.integration.test_redis_mode import Deployment, ask, make_org

pytestmark = pytest.mark.skipif(bool(redis_server_missing()), reason=str(redis_server_missing()))


def test_a_worker_holding_unacked_messages_survives_a_redis_restart():
    redis = PrivateRedis().start()
    stack = Stack(redis_db=0, redis_port=redis.port)
    receiver = WebhookReceiver(hold_first=True).start()
    try:
        web = stack.web()
        dep = Deployment(stack, web, web)
        worker = stack.worker("deliveries", queues=DELIVERIES_QUEUE)
        stack.worker()
        org = make_org(dep, channels=["webhook"], webhook_url=receiver.url)
        with dep.client(web) as client:
            bearer = org.agent.bearer(client)
            # Given a deliveries worker in the middle of a webhook (its message unacknowledged),
            first = ask(client, org, bearer)
            assert receiver.held.wait(30), "the worker never started the first delivery"
            # when Redis dies and comes back, and the held delivery then finishes,
            redis.kill()
            time.sleep(2)
            redis.start()
            receiver.release.set()
            time.sleep(3)  # the worker notices the lost connection and reconnects
            # then the worker is still running and delivers what comes next.
            assert worker.popen.poll() is None, worker.output()[-3000:]
            second = ask(client, org, bearer)
            wanted = {f"{first}:jit_request.pending", f"{second}:jit_request.pending"}
            deadline = time.monotonic() + 60
            while not wanted <= set(receiver.distinct()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert f"{second}:jit_request.pending" in receiver.distinct(), worker.output()[-3000:]
            assert "Unrecoverable error" not in worker.output()
    finally:
        receiver.stop()
        stack.close()
        redis.stop()
