"""Signed approve/deny links: one approver, one request, one action, until the deadline."""

from datetime import UTC, datetime

import pytest

from notifiers.email import links
from notifiers.email.links import LinkAction, LinkClaims, LinkExpired, LinkInvalid

NOW = 1_700_000_000
CLAIMS = LinkClaims("org_acme", "jit_abc", "apr_alice", LinkAction.APPROVE, NOW + 900)


def test_token_round_trips_its_claims():
    assert links.read_token(links.make_token(CLAIMS), now=NOW) == CLAIMS


def test_link_is_under_the_public_url_and_expires_with_the_request():
    deadline = datetime.fromtimestamp(NOW + 900, tz=UTC)
    url = links.make_link(
        "https://jg.example/",
        org_id="org_acme",
        request_id="jit_abc",
        approver_id="apr_alice",
        action=LinkAction.DENY,
        expires_at=deadline,
    )
    assert url.startswith("https://jg.example/approve-link/")
    claims = links.read_token(url.rsplit("/", 1)[1], now=NOW)
    assert claims.action is LinkAction.DENY and claims.expires_at == NOW + 900


def test_expired_link_is_refused_as_expired():
    with pytest.raises(LinkExpired):
        links.read_token(links.make_token(CLAIMS), now=NOW + 900)


def _swap_claims(token: str, **changes: object) -> str:
    """Re-encode the claims with changes but keep the old MAC, as a forger would."""
    import base64
    import json

    encoded, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    data.update(changes)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    "changes",
    [
        {"act": "deny"},
        {"apr": "apr_mallory"},
        {"req": "jit_other"},
        {"org": "org_other"},
        {"exp": NOW * 2},
    ],
)
def test_a_link_with_altered_claims_is_invalid(changes):
    with pytest.raises(LinkInvalid):
        links.read_token(_swap_claims(links.make_token(CLAIMS), **changes), now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 2000, "e30.AAAA"])
def test_malformed_tokens_are_invalid(token):
    with pytest.raises(LinkInvalid):
        links.read_token(token, now=NOW)


def test_a_mac_from_another_purpose_does_not_make_a_link():
    from app.core.secrets import sign_value

    encoded = links.make_token(CLAIMS).split(".")[0]
    with pytest.raises(LinkInvalid):
        links.read_token(encoded + "." + sign_value("slack-button", encoded), now=NOW)
