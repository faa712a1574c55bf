"""The narrow door through which code below the domains (the webhook and callback signatures in
notifiers/) signs with an org's own key, without importing identity's key ring: identity
provides the lookup, and workers/wiring.py plugs it in at start-up."""

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class OrgSigningKey:
    """An org's active key, and the issuer its signatures name (`iss`)."""

    kid: str
    private_key: Ed25519PrivateKey
    issuer: str


KeyLookup = Callable[[str], OrgSigningKey]


class NoKeyLookup(RuntimeError):
    """Something asked to sign before any lookup was provided (workers.wiring.install)."""


_lookup: KeyLookup | None = None


def provide(lookup: KeyLookup | None) -> KeyLookup | None:
    """Install (or replace) the lookup; returns the previous one so a test can put it back."""
    global _lookup
    previous, _lookup = _lookup, lookup
    return previous


def signing_key(org_id: str) -> OrgSigningKey:
    """The org's active signing key (it may touch the database: call it when signing)."""
    if _lookup is None:
        raise NoKeyLookup("no org key lookup provided in this process")
    return _lookup(org_id)
