"""Outbound requests to URLs callers chose (jwks_uri, callback_url, webhooks): outside
development they must not reach loopback, private or link-local addresses."""

import ipaddress
import json
import socket
import threading

import httpx
import pytest

from app.core import outbound
from app.identity import agent_keys
from app.settings import get_settings
from notifiers import webhook
from notifiers.base import NotifierRejected
from tests.helpers import assert_oauth_error
from tests.local_http import local_server


@pytest.fixture
def refuse_private(monkeypatch):
    """What production does by default (JITGATE_ENV=production, JITGATE_ALLOW_PRIVATE_URLS unset)."""
    monkeypatch.setattr(get_settings(), "allow_private_urls", False)
    monkeypatch.setattr(webhook, "_shared", None)  # the pooled client is built per setting
    yield
    if webhook._shared is not None:
        webhook._shared.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::",
        # IPv4 carried in IPv6: compatible, translated, NAT64 (well-known and local), 6to4, Teredo
        "::127.0.0.1", "::a00:5", "::ffff:0:7f00:1", "64:ff9b::a00:5", "64:ff9b:1::a00:5",
        "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)  # fmt: skip
def test_internal_addresses_are_internal(address):
    assert outbound.is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_global_addresses_are_not_internal(address):
    assert not outbound.is_internal(ipaddress.ip_address(address))


def test_private_urls_are_allowed_by_default_only_in_development_and_test(monkeypatch):
    settings = get_settings()
    for env, allowed in (("development", True), ("test", True), ("production", False)):
        monkeypatch.setattr(settings, "env", env)
        monkeypatch.setattr(settings, "allow_private_urls", None)
        assert outbound.private_urls_allowed() is allowed
        monkeypatch.setattr(settings, "allow_private_urls", not allowed)
        assert outbound.private_urls_allowed() is (not allowed)  # the explicit setting wins


def test_guarded_client_refuses_loopback_by_address_and_by_name(refuse_private):
    with local_server() as server:
        server.answer("/x", "{}")
        port = server.url("/").split(":")[2].rstrip("/")
        with httpx.Client() as plain:  # the server is really there
            assert plain.get(f"http://127.0.0.1:{port}/x").status_code == 200
        with outbound.client(timeout=2) as guarded:
            for url in (f"http://127.0.0.1:{port}/x", f"http://localhost:{port}/x"):
                with pytest.raises(httpx.ConnectError) as caught:
                    guarded.get(url)
                assert outbound.refused_as_internal(caught.value)
                assert "internal address" in str(caught.value)
        assert server.hits("/x") == 1  # only the unguarded request arrived


def test_guarded_client_connects_to_the_address_it_checked(refuse_private, monkeypatch):
    # A name only this resolver knows: if the connection re-resolved the name (the window a
    # DNS rebinding attack uses), it would fail; it goes to the address that was checked.
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "jwks.agents.example":
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", resolver)
    monkeypatch.setattr(outbound, "is_internal", lambda address: False)  # pretend it is public
    with local_server() as server:
        server.answer("/jwks.json", json.dumps({"keys": []}))
        port = server.url("/").split(":")[2].rstrip("/")
        with outbound.client(timeout=2) as guarded:
            resp = guarded.get(f"http://jwks.agents.example:{port}/jwks.json")
        assert resp.status_code == 200 and server.hits("/jwks.json") == 1


def test_jwks_fetch_refuses_an_internal_address(refuse_private):
    with local_server() as server:
        uri = server.answer("/jwks.json", json.dumps({"keys": []}))
        with pytest.raises(agent_keys.JwksFetchFailed):
            agent_keys.fetch_jwks(uri.replace("127.0.0.1", "localhost"))
        assert server.hits("/jwks.json") == 0


def test_webhook_to_an_internal_address_is_rejected_not_retried(refuse_private):
    with local_server() as server:
        url = server.url("/hook").replace("127.0.0.1", "localhost")
        with pytest.raises(NotifierRejected, match="internal address"):
            webhook.WebhookNotifier()._post(url, b"{}", {"Content-Type": "application/json"})
        assert server.hits("/hook") == 0


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.169.254/jwks",
        "http://127.0.0.1:9/jwks",
        "https://[::1]/j",
        "http://localhost/j",
        "http://localhost./j",
        # the legacy IPv4 spellings resolvers still accept
        "http://2130706433/j",
        "http://0x7f.1/j",
        "http://127.1/j",
        "http://0/j",
        "http://0177.0.0.1/j",
        "http://[::ffff:10.0.0.5]/j",
        "http://[64:ff9b::a9fe:a9fe]/j",
    ],  # fmt: skip
)
def test_registering_an_internal_jwks_uri_is_422(client, org, refuse_private, uri):
    resp = client.post(
        f"{org.api}/agents/register",
        headers=org.admin,
        json={"name": "svc", "capabilities": ["document.read"], "jwks_uri": uri},
    )
    assert_oauth_error(resp, 422, "invalid_request", mentions="internal address")


def test_a_policy_webhook_on_an_internal_address_is_422(client, org, refuse_private):
    resp = client.post(
        f"{org.api}/policies",
        headers=org.admin,
        json={
            "permission": "payments.*",
            "mode": "jit",
            "groups": ["finance"],
            "webhook_url": "http://10.0.0.5/hook",
        },
    )
    assert_oauth_error(resp, 422, "invalid_request", mentions="internal address")


def test_the_setting_reads_from_the_environment(monkeypatch):
    from app.settings import Settings

    monkeypatch.delenv("JITGATE_ALLOW_PRIVATE_URLS", raising=False)
    assert Settings().allow_private_urls is None
    monkeypatch.setenv("JITGATE_ALLOW_PRIVATE_URLS", "false")
    assert Settings().allow_private_urls is False
    monkeypatch.setenv("JITGATE_ALLOW_PRIVATE_URLS", "true")
    assert Settings().allow_private_urls is True


def test_a_stalled_name_lookup_ends_at_the_deadline(monkeypatch):
    """The review's case: DNS that answers after 8 s must not hold a 1 s deadline."""
    import socket as socket_module
    import time as time_module

    import httpx

    from app.core import outbound as guard

    released = threading.Event()

    def stalled(*args, **kwargs):
        released.wait(8)
        raise OSError("gave up")

    monkeypatch.setattr(socket_module, "getaddrinfo", stalled)
    monkeypatch.setattr(guard, "private_urls_allowed", lambda: False)
    started = time_module.monotonic()
    try:
        with guard.deadline(1.0), pytest.raises(httpx.TimeoutException):
            guard.client(timeout=5).get("https://keys.example.com/jwks.json")
        assert time_module.monotonic() - started < 6  # not the resolver's 8 s
    finally:
        released.set()
