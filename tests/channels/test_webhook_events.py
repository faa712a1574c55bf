"""Which events a webhook receiver gets for one request, end to end in embedded mode: the
announcement, the decision, and a revocation as an event of its own (its outbox rows are
written under jit_request.revoked); using the token is no event."""

from collections.abc import Iterator

import pytest
from sqlmodel import select

from app.core.db import session_scope
from app.jit import outbox
from app.models import OutboxRow
from tests import factories
from tests.channels.test_third_party_isolation import GENEROUS
from tests.integration.receiver import WebhookReceiver
from tests.jit.conftest import PERMISSION, Jit


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def test_a_revoked_token_is_a_webhook_event_of_its_own(client, other_org, receiver):
    # given an approved request announced and decided on an org's webhook
    jit = Jit(client, other_org)
    agent = factories.register_agent(client, other_org, capabilities=[PERMISSION])
    erin = jit.approver("erin")
    jit.policy([erin], channels=["webhook"], webhook_url=receiver.url)
    request_id, _token = jit.approved_token(agent, erin)
    assert receiver.wait_for(2, GENEROUS), receiver.distinct()
    # when an approver revokes its token
    url = f"{other_org.api}/jit/requests/{request_id}/revoke"
    assert client.post(url, headers=erin.headers).status_code == 200
    # then the receiver learns of it, under the event id the revocation's outbox row recorded
    assert receiver.wait_for(3, GENEROUS), receiver.distinct()
    events = {d.event_id: d.event for d in receiver.distinct().values()}
    assert events == {
        f"{request_id}:jit_request.pending": "jit_request.pending",
        f"{request_id}:jit_request.approved": "jit_request.approved",
        f"{request_id}:jit_request.revoked": "jit_request.revoked",
    }
    with session_scope() as session:
        owed = session.exec(
            select(OutboxRow.event_id).where(
                OutboxRow.request_id == request_id, OutboxRow.kind == outbox.WEBHOOK
            )
        ).all()
    assert set(owed) == set(events)
