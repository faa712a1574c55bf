"""Ed25519 through libsodium (app.core.ed25519) held to cryptography's: the same signatures, and
the same verdicts on good, tampered, truncated and foreign signatures."""

import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core import ed25519

# The order of the Ed25519 group: S must be below it (RFC 8032 §5.1.7).
L = 2**252 + 27742317777372353535851937790883648493


def _reference(public_key, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 700, 5000])
def test_a_signature_is_byte_for_byte_cryptographys(length):
    key = Ed25519PrivateKey.generate()
    message = os.urandom(length)
    secret = ed25519.secret_key(key)
    assert ed25519.sign(secret, message) == key.sign(message)
    assert ed25519.sign(secret, message) == key.sign(message)


def test_a_good_signature_verifies_and_every_flipped_bit_is_refused():
    key = Ed25519PrivateKey.generate()
    message = os.urandom(300)
    signature = key.sign(message)
    public_key = key.public_key()
    assert ed25519.verify(public_key, signature, message)
    for bit in range(0, 64 * 8, 7):
        forged = bytearray(signature)
        forged[bit // 8] ^= 1 << (bit % 8)
        verdict = ed25519.verify(public_key, bytes(forged), message)
        assert verdict is _reference(public_key, bytes(forged), message) is False
    for bit in range(0, 300 * 8, 97):
        changed = bytearray(message)
        changed[bit // 8] ^= 1 << (bit % 8)
        assert ed25519.verify(public_key, signature, bytes(changed)) is False


@pytest.mark.parametrize("cut", [0, 1, 32, 63, 65, 96, 128])
def test_a_signature_of_another_length_is_refused(cut):
    # given a good signature made shorter or longer, its bytes moved into the message or back
    key = Ed25519PrivateKey.generate()
    message = os.urandom(100)
    signed = key.sign(message) + message
    signature, rest = signed[:cut], signed[cut:]
    # then it never verifies: the signature is exactly 64 bytes, whatever follows it
    assert ed25519.verify(key.public_key(), signature, rest) is False
    assert _reference(key.public_key(), signature, rest) is False


def test_another_keys_signature_is_refused():
    message = os.urandom(50)
    signature = Ed25519PrivateKey.generate().sign(message)
    other = Ed25519PrivateKey.generate().public_key()
    assert ed25519.verify(other, signature, message) is _reference(other, signature, message)
    assert ed25519.verify(other, signature, message) is False


def test_a_malleated_signature_s_plus_the_group_order_is_refused():
    # given a good signature whose S is replaced by S + L (the same point, a second spelling)
    key = Ed25519PrivateKey.generate()
    message = b"one signed token has one spelling"
    signature = key.sign(message)
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + L).to_bytes(32, "little")
    # then both refuse it
    assert _reference(key.public_key(), malleated, message) is False
    assert ed25519.verify(key.public_key(), malleated, message) is False


def test_many_keys_keep_their_own_bytes():
    keys = [Ed25519PrivateKey.generate() for _ in range(20)]
    message = b"m"
    for key in keys * 2:
        secret = ed25519.secret_key(key)
        assert ed25519.verify(key.public_key(), ed25519.sign(secret, message), message)
        assert ed25519.sign(secret, message) == key.sign(message)


def _private_material_held_by_the_module() -> list:
    return [v for v in ed25519._raw.values() if not isinstance(v[0], Ed25519PublicKey)]


def test_a_key_ring_reload_leaves_no_copy_of_the_private_key_behind(client, org, agent):
    # given tokens signed before and after the key ring reloads the org's key (its 30 s refresh)
    # and after a rotation (review r-tok2: the sign cache kept a decrypted seed per reload)
    from app.core.db import session_scope
    from app.identity.keys import key_ring, rotate_signing_key

    agent.token(client)
    retired = key_ring.active(org.org_id).secret
    for _ in range(3):
        key_ring.invalidate(org.org_id)
        agent.token(client)
    with session_scope() as session:
        rotate_signing_key(session, org_id=org.org_id)
    key_ring.invalidate(org.org_id)
    agent.token(client)

    # then the Ed25519 module holds public keys only, and the active key is the new one
    assert _private_material_held_by_the_module() == []
    assert key_ring.active(org.org_id).secret != retired
