"""The channel registry, and the two channels with no outside service: log and websocket."""

import logging

import pytest

from notifiers import registry
from notifiers.base import Target
from tests.fakes.views import ALICE, decided, request_view


def test_every_contract_channel_is_registered_under_its_slug():
    assert set(registry.channels()) >= {"slack", "email", "webhook", "websocket", "log"}
    for slug in registry.channels():
        assert registry.get_notifier(slug).slug == slug


def test_an_unknown_channel_is_a_clear_error():
    with pytest.raises(registry.UnknownChannel):
        registry.get_notifier("carrier-pigeon")


def test_register_replaces_a_channel_and_returns_the_previous_entry():
    previous = registry.register("log", lambda: "fake")  # type: ignore[arg-type, return-value]
    try:
        assert registry.get_notifier("log") == "fake"
    finally:
        registry.restore("log", previous)
    assert registry.get_notifier("log").slug == "log"


def test_log_channel_logs_ids_but_not_the_operation_or_justification(caplog):
    notifier = registry.get_notifier("log")
    view = request_view(justification="secret plan", operation={"card": "4111111111111111"})
    with caplog.at_level(logging.INFO, logger="jitgate.notifiers.log"):
        [target] = notifier.targets(view)
        assert notifier.announce(view, target) is None
        notifier.show_outcome(decided(view, "approved", (ALICE, "approve")), target, None)
    logged = caplog.text
    assert view.request_id in logged and "payments.authorize" in logged and "apr_alice" in logged
    assert "secret plan" not in logged and "4111" not in logged


def test_websocket_channel_publishes_request_events(monkeypatch):
    published = []
    monkeypatch.setattr(
        "app.core.events.publish_request_event",
        lambda view, kind: published.append((view.request_id, kind)),
    )
    notifier = registry.get_notifier("websocket")
    view = request_view()
    [target] = notifier.targets(view)
    assert target == Target(f"org:{view.org_id}")
    notifier.announce(view, target)
    notifier.show_outcome(decided(view, "expired"), target, None)
    assert published == [(view.request_id, "created"), (view.request_id, "decided")]


def test_a_newly_registered_channel_is_accepted_by_policies_at_once(client, org):
    from notifiers import registry
    from tests.factories import set_policy

    previous = registry.register("pager", lambda: registry.get_notifier("log"))
    try:
        policy = set_policy(client, org, "document.read", "jit", channels=["pager"], groups=["ops"])
        assert policy["channels"] == ["pager"]
    finally:
        registry.restore("pager", previous)
