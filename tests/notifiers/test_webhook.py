"""The webhook notifier: a JSON POST whose Jitgate-Signature a receiver can check."""

import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core import org_signing
from app.core.org_signing import OrgSigningKey
from app.identity.keys import ActiveKey
from app.settings import Settings
from notifiers import webhook
from notifiers.base import NotifierRejected, NotifierUnavailable, Target
from tests.fakes.views import ALICE, decided, request_view

HOOK = "https://hooks.example/jitgate"
ISSUER = "http://testserver/orgs/org_acme"  # the issuer of request_view()'s org


@pytest.fixture
def signing_key() -> Iterator[OrgSigningKey]:
    """The org's key, provided through the port notifiers sign with (app/core/org_signing.py);
    signing with any other org's key fails the test."""
    key = OrgSigningKey(kid="test-kid", private_key=Ed25519PrivateKey.generate(), issuer=ISSUER)

    def lookup(org_id: str) -> OrgSigningKey:
        assert org_id == "org_acme", f"signed with {org_id}'s key"
        return key

    previous = org_signing.provide(lookup)
    yield key
    org_signing.provide(previous)


class Receiver:
    """An httpx transport standing in for the receiving system; answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)

    def notifier(self) -> webhook.WebhookNotifier:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return webhook.WebhookNotifier(settings=Settings(webhook_url=HOOK), http=client)


def keys_of(key: OrgSigningKey | ActiveKey):
    return lambda kid: key.private_key.public_key() if kid == key.kid else None


def verify(body: bytes, signature: str, key: OrgSigningKey | ActiveKey, **overrides):
    """The receiver's check with the right expectations, but for those overridden."""
    expected = {"issuer": ISSUER, "audience": HOOK, "kind": webhook.WEBHOOK}
    return webhook.verify_signature(
        body, signature, public_key=keys_of(key), **{**expected, **overrides}
    )


def test_a_notifier_given_its_own_key_lookup_signs_with_it_and_names_its_issuer():
    # Given a notifier handed a lookup directly (no lookup provided through the port)
    key = OrgSigningKey(kid="own-kid", private_key=Ed25519PrivateKey.generate(), issuer=ISSUER)
    previous = org_signing.provide(None)
    try:
        receiver = Receiver()
        client = httpx.Client(transport=httpx.MockTransport(receiver))
        notifier = webhook.WebhookNotifier(settings=Settings(), http=client, keys=lambda _: key)
        # When it announces, then the signature verifies with that key and names its issuer
        notifier.announce(request_view(), Target(HOOK))
        [sent] = receiver.requests
        claims = verify(sent.content, sent.headers[webhook.SIGNATURE_HEADER], key)
        assert claims["iss"] == ISSUER
        assert jwt.get_unverified_header(sent.headers[webhook.SIGNATURE_HEADER])["kid"] == "own-kid"
    finally:
        org_signing.provide(previous)


def test_without_a_key_lookup_a_webhook_is_not_sent_unsigned():
    # Given no lookup provided in this process and none given to the notifier
    previous = org_signing.provide(None)
    try:
        receiver = Receiver()
        # When it announces, then it refuses to sign, and nothing reaches the receiver
        with pytest.raises(org_signing.NoKeyLookup):
            receiver.notifier().announce(request_view(), Target(HOOK))
        assert receiver.requests == []
    finally:
        org_signing.provide(previous)


def test_targets_prefer_the_policy_url_over_the_configured_one():
    notifier = webhook.WebhookNotifier(settings=Settings(webhook_url=HOOK))
    assert notifier.targets(request_view()) == [Target(HOOK)]
    assert notifier.targets(
        request_view(channel_settings={"webhook": {"webhook_url": "https://x/y"}})
    ) == [Target("https://x/y")]
    assert webhook.WebhookNotifier(settings=Settings()).targets(request_view()) == []


def test_announce_posts_json_signed_with_the_service_key(signing_key):
    receiver = Receiver()
    reference = receiver.notifier().announce(request_view(), Target(HOOK))
    [sent] = receiver.requests
    body = sent.content
    document = json.loads(body)
    assert document["event"] == "jit_request.pending" == sent.headers[webhook.EVENT_HEADER]
    assert document["request"]["permission"] == "payments.authorize"
    assert "alice@example.com" not in body.decode()
    event = sent.headers[webhook.EVENT_HEADER]
    claims = verify(body, sent.headers[webhook.SIGNATURE_HEADER], signing_key, event=event)
    assert claims["iss"] == ISSUER and claims["jti"] and claims["event"] == event
    assert jwt.get_unverified_header(sent.headers[webhook.SIGNATURE_HEADER])["typ"] == (
        "jitgate-webhook+jwt"
    )
    assert reference == {"event_id": document["event_id"]}


def test_outcome_is_posted_as_its_own_event(signing_key):
    receiver = Receiver()
    view = decided(request_view(), "approved", (ALICE, "approve"))
    receiver.notifier().show_outcome(view, Target(HOOK), {"event_id": "x"})
    document = json.loads(receiver.requests[0].content)
    assert document["event"] == "jit_request.approved"
    assert document["request"]["decisions"][0]["approver_id"] == "apr_alice"


def test_an_outcome_shown_after_the_token_was_used_is_still_the_approval(signing_key):
    """A worker that runs the outcome after the agent consumed its token must say what the
    approvers decided, with the event id every other attempt of it carries: a receiver
    waiting for jit_request.approved never got one when the worker was a moment late."""
    receiver = Receiver()
    view = decided(request_view(), "consumed", (ALICE, "approve"))
    receiver.notifier().show_outcome(view, Target(HOOK), None)
    sent = receiver.requests[0]
    document = json.loads(sent.content)
    assert document["event"] == "jit_request.approved"
    assert document["event_id"] == f"{view.request_id}:jit_request.approved"
    assert sent.headers[webhook.EVENT_HEADER] == "jit_request.approved"
    assert document["request"]["status"] == "consumed"  # where the request stands now


@pytest.mark.parametrize("later", ["revoked", "token_expired"])
def test_a_revocation_or_token_expiry_is_an_event_of_its_own(signing_key, later):
    """Each owes its own outcome (app/jit/notify.py): the receiver must learn the token is
    dead, not be sent the approval again under the approval's event id."""
    receiver = Receiver()
    view = decided(request_view(), later, (ALICE, "approve"))
    receiver.notifier().show_outcome(view, Target(HOOK), None)
    document = json.loads(receiver.requests[0].content)
    assert document["event"] == f"jit_request.{later}"
    assert document["event_id"] == f"{view.request_id}:jit_request.{later}"


def _signed(signing_key) -> tuple[bytes, str]:
    receiver = Receiver()
    receiver.notifier().announce(request_view(), Target(HOOK))
    sent = receiver.requests[0]
    return sent.content, sent.headers[webhook.SIGNATURE_HEADER]


def test_a_receiver_refuses_an_altered_body(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(webhook.WebhookSignatureInvalid, match="altered"):
        verify(body.replace(b"4200", b"9999"), signature, signing_key)


def test_a_receiver_refuses_a_delivery_meant_for_another_url(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(webhook.WebhookSignatureInvalid):
        verify(body, signature, signing_key, audience="https://other.example/")


def test_a_receiver_refuses_an_old_delivery(signing_key):
    body, signature = _signed(signing_key)
    later = time.time() + webhook.SIGNATURE_LIFETIME_SECONDS + 1
    with pytest.raises(webhook.WebhookSignatureInvalid):
        verify(body, signature, signing_key, now=later)


def test_a_receiver_refuses_a_signature_by_another_key(signing_key):
    body, signature = _signed(signing_key)
    stranger = ActiveKey(kid=signing_key.kid, private_key=Ed25519PrivateKey.generate())
    with pytest.raises(webhook.WebhookSignatureInvalid):
        verify(body, signature, stranger)


def test_a_receiver_refuses_a_delivery_from_another_org(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(webhook.WebhookSignatureInvalid, match="iss"):
        verify(body, signature, signing_key, issuer="http://testserver/orgs/org_other")


def test_a_callback_receiver_refuses_a_webhook(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(webhook.WebhookSignatureInvalid, match="not a callback"):
        verify(body, signature, signing_key, kind=webhook.CALLBACK)


def test_a_receiver_refuses_a_relabelled_event(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(webhook.WebhookSignatureInvalid, match="Jitgate-Event"):
        verify(body, signature, signing_key, event="jit_request.approved")


def test_a_receiver_must_say_which_kind_it_expects(signing_key):
    body, signature = _signed(signing_key)
    with pytest.raises(ValueError, match="kind"):
        verify(body, signature, signing_key, kind="anything")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, NotifierUnavailable),
        (503, NotifierUnavailable),
        (429, NotifierUnavailable),
        (404, NotifierRejected),
        (401, NotifierRejected),
        (302, NotifierRejected),
    ],
)
def test_receiver_statuses_map_to_retry_or_give_up(signing_key, status, error):
    with pytest.raises(error):
        Receiver(status).notifier().announce(request_view(), Target(HOOK))


def test_an_unreachable_receiver_is_transient(signing_key):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    notifier = webhook.WebhookNotifier(
        settings=Settings(), http=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(NotifierUnavailable):
        notifier.announce(request_view(), Target(HOOK))


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "not a url"])
def test_an_unusable_url_is_permanent(signing_key, url):
    with pytest.raises(NotifierRejected):
        webhook.WebhookNotifier(settings=Settings()).announce(request_view(), Target(url))
