"""Signed callbacks cannot be passed off as another receiver's webhooks: an agent chooses its
callback_url, so whatever jitgate signs for it must not verify at another org's (or its own
org's) webhook receiver."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from notifiers import webhook


@dataclass
class Post:
    headers: dict[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records what was POSTed to it."""

    posts: list[Post] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/jitgate"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.posts.append(Post({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def first_post(self, timeout: float = 30.0) -> Post:
        # Generous: the embedded worker delivers on a busy shared machine.
        deadline = time.monotonic() + timeout
        while not self.posts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.posts, "nothing was delivered"
        return self.posts[0]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def jwks_lookup(client, org):
    keys = client.get(f"/orgs/{org.org_id}/.well-known/jwks.json").json()["keys"]
    by_kid = {k["kid"]: jwt.PyJWK(k, algorithm="EdDSA").key for k in keys}
    return by_kid.get


def approved_with_callback(jit, agent, approver, url: str) -> Post:
    jit.policy([approver])
    request_id = jit.pending(agent, callback_url=url)["request_id"]
    assert jit.decide(request_id, approver).status_code == 200
    return request_id


def receive(post: Post, url: str, *, issuer: str, kind: str, keys) -> dict:
    """A receiver's whole check, as notifiers.webhook.verify_signature documents it."""
    return webhook.verify_signature(
        post.body,
        post.header(webhook.SIGNATURE_HEADER) or "",
        issuer=issuer,
        audience=url,
        kind=kind,
        public_key=keys,
        event=post.header(webhook.EVENT_HEADER),
    )


def test_org_a_callback_aimed_at_org_b_webhook_receiver_is_refused_by_b(
    client, jit, agent, alice, other_org, receiver
):
    # given org B's webhook receiver, which verifies with B's issuer and JWKS
    # when an org A agent names B's receiver as its callback_url and its request is approved
    approved_with_callback(jit, agent, alice, receiver.url)
    post = receiver.first_post()
    # then B's verifier refuses the signed callback, whichever kind it expected
    b_keys = jwks_lookup(client, other_org)
    for kind in (webhook.WEBHOOK, webhook.CALLBACK):
        with pytest.raises(webhook.WebhookSignatureInvalid):
            receive(post, receiver.url, issuer=other_org.issuer, kind=kind, keys=b_keys)


def test_org_b_refuses_org_a_callback_even_when_it_trusts_a_key_of_a(
    client, org, jit, agent, alice, other_org, receiver
):
    # given a receiver of B that (wrongly) looks keys up in A's JWKS but expects B's issuer
    approved_with_callback(jit, agent, alice, receiver.url)
    post = receiver.first_post()
    # then the issuer check still refuses A's message
    with pytest.raises(webhook.WebhookSignatureInvalid, match="iss"):
        receive(
            post,
            receiver.url,
            issuer=other_org.issuer,
            kind=webhook.CALLBACK,
            keys=jwks_lookup(client, org),
        )


def test_a_callback_aimed_at_its_own_orgs_webhook_receiver_is_refused(
    client, org, jit, agent, alice, receiver
):
    # given org A's own webhook receiver (same org, same keys, same issuer)
    # when an org A agent names it as its callback_url and its request is approved
    approved_with_callback(jit, agent, alice, receiver.url)
    post = receiver.first_post()
    # then the webhook receiver refuses it: it is a callback, not a webhook
    with pytest.raises(webhook.WebhookSignatureInvalid, match="not a webhook"):
        receive(
            post,
            receiver.url,
            issuer=org.issuer,
            kind=webhook.WEBHOOK,
            keys=jwks_lookup(client, org),
        )


def test_a_callback_verifies_as_a_callback_of_its_org_at_its_url(
    client, org, jit, agent, alice, receiver
):
    # given an approved request with a callback_url
    request_id = approved_with_callback(jit, agent, alice, receiver.url)
    post = receiver.first_post()
    # then the agent's receiver accepts it as a callback of org A, for this event
    claims = receive(
        post, receiver.url, issuer=org.issuer, kind=webhook.CALLBACK, keys=jwks_lookup(client, org)
    )
    document = json.loads(post.body)
    assert document["request_id"] == request_id
    assert post.header(webhook.EVENT_HEADER) == document["event"] == claims["event"]
    assert document["event"] == "jit_request.approved"
    assert claims["iss"] == org.issuer and claims["aud"] == receiver.url


def test_a_callback_whose_event_header_was_changed_is_refused(
    client, org, jit, agent, alice, receiver
):
    approved_with_callback(jit, agent, alice, receiver.url)
    post = receiver.first_post()
    post.headers[webhook.EVENT_HEADER.lower()] = "jit_request.denied"
    with pytest.raises(webhook.WebhookSignatureInvalid, match="Jitgate-Event"):
        receive(
            post,
            receiver.url,
            issuer=org.issuer,
            kind=webhook.CALLBACK,
            keys=jwks_lookup(client, org),
        )


@pytest.mark.parametrize(
    ("later", "event"),
    [
        ("consumed", "jit_request.approved"),
        ("revoked", "jit_request.revoked"),
        ("token_expired", "jit_request.token_expired"),
    ],
)
def test_a_callback_sent_after_the_token_was_used_still_reports_the_approval(later, event):
    """A retried or late callback must name the decision, with the event id of every other
    attempt of it (receivers deduplicate on it), not where the request stands by then. Using
    the token is no event; a revocation or the token's expiry is one of its own."""
    from app.models import JitRequest
    from workers.callbacks import callback_body, callback_event

    row = JitRequest(id="jit_late", org_id="org_x", agent_id="agt_x", status=later)
    row.callback_url = "https://agent.example/cb"
    document = json.loads(callback_body(row))
    assert callback_event(row) == event
    assert document["event"] == event
    assert document["event_id"] == f"jit_late:{event}"
    assert document["status"] == later


def _posts(receiver: Receiver, count: int, timeout: float = 30.0) -> list[Post]:
    deadline = time.monotonic() + timeout
    while len(receiver.posts) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return receiver.posts


def test_a_revocation_is_called_back_as_its_own_event_with_the_outbox_event_id(
    client, org, jit, agent, alice, receiver
):
    """Revoking (like the token's expiry) owes an outcome of its own (app/jit/notify.py writes
    its outbox rows under jit_request.revoked): the agent must learn of it, not be sent the
    approval again under the approval's event id, which it drops as a duplicate."""
    from sqlmodel import select

    from app.core.db import session_scope
    from app.jit import outbox
    from app.models import OutboxRow

    # given an approved request whose approval was called back
    request_id = approved_with_callback(jit, agent, alice, receiver.url)
    assert json.loads(receiver.first_post().body)["event"] == "jit_request.approved"
    # when an approver revokes its token
    url = f"{org.api}/jit/requests/{request_id}/revoke"
    assert client.post(url, headers=alice.headers).status_code == 200
    # then a second callback names the revocation, under the event id its outbox row recorded
    posts = _posts(receiver, 2)
    assert len(posts) == 2, [json.loads(p.body)["event"] for p in posts]
    document = json.loads(posts[1].body)
    assert document["event"] == posts[1].header(webhook.EVENT_HEADER) == "jit_request.revoked"
    assert document["event_id"] == f"{request_id}:jit_request.revoked"
    with session_scope() as session:
        owed = session.exec(
            select(OutboxRow.event_id).where(
                OutboxRow.request_id == request_id, OutboxRow.kind == outbox.CALLBACK
            )
        ).all()
    assert {json.loads(p.body)["event_id"] for p in posts} == set(owed)
