"""Token endpoint: the JOSE header of a client assertion (RFC 7523, RFC 8725 §3.1-3.2).

Given a registered agent, when it presents an assertion whose header is hostile or malformed,
then the endpoint answers 401 invalid_client naming the rule, and no token is issued.
"""

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key

from tests.factories import AgentHandle, ed25519_jwk, register_agent, request_token
from tests.helpers import (
    assert_nothing_issued,
    assert_rule,
    b64json,
    b64url,
    compact,
    hs256,
    issued_tokens,
)
from tests.local_http import local_server


def claims_for(agent: AgentHandle, **overrides):
    now = int(time.time())
    body = {
        "iss": agent.agent_id,
        "sub": agent.agent_id,
        "aud": agent.org.token_endpoint,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return {**body, **overrides}


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"anything"])
def test_unsigned_assertion_alg_none_is_refused(client, org, agent, alg, signature):
    # given an assertion declaring alg none, with or without a signature part
    token = compact({"alg": alg, "typ": "JWT", "kid": agent.kid}, claims_for(agent), signature)
    # when it is presented
    resp = request_token(client, org, token)
    # then the alg rule refuses it and nothing is issued
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


def _public_key_forms(agent: AgentHandle) -> dict[str, bytes]:
    public = agent.private_key.public_key()
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True)
    return {
        "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": json.dumps({**jwk, "kid": agent.kid, "alg": "EdDSA"}).encode(),
        "jwk-json-bare": json.dumps(jwk).encode(),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }


@pytest.mark.parametrize("form", ["raw", "pem", "jwk-json", "jwk-json-bare", "openssh"])
def test_hs256_keyed_with_the_agents_public_key_is_refused(client, org, agent, form):
    # given an HMAC "signature" keyed with the agent's public key (the classic confusion attack)
    secret = _public_key_forms(agent)[form]
    token = hs256({"alg": "HS256", "typ": "JWT", "kid": agent.kid}, claims_for(agent), secret)
    # when it is presented
    resp = request_token(client, org, token)
    # then the key's pinned algorithm (EdDSA) decides, not the header
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


def test_hs256_keyed_with_an_rsa_agents_pem_is_refused(client, org):
    # given an RSA agent: the textbook target of the RS256 -> HS256 confusion
    private = rsa_key(public_exponent=65537, key_size=2048)
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "r1"}
    agent = register_agent(client, org, capabilities=["document.read"], jwk=jwk, alg="RS256")
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256({"alg": "HS256", "kid": "r1"}, claims_for(agent), pem)
    resp = request_token(client, org, token)
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


def test_hs256_without_kid_is_refused_too(client, org, agent):
    secret = _public_key_forms(agent)["pem"]
    resp = request_token(client, org, hs256({"alg": "HS256"}, claims_for(agent), secret))
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id)


def test_es256_header_on_an_ed25519_key_is_refused(client, org, agent):
    # given an assertion really signed with ES256 but naming the agent's Ed25519 kid
    ec_key = generate_private_key(SECP256R1())
    token = jwt.encode(claims_for(agent), ec_key, algorithm="ES256", headers={"kid": agent.kid})
    resp = request_token(client, org, token)
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


def test_kid_of_another_agents_key_is_refused(client, org, agent):
    # given a second agent in the same org, and an assertion for `agent` signed with the other's
    # key and naming the other's kid
    other = register_agent(client, org, capabilities=["document.read"])
    token = jwt.encode(
        claims_for(agent), other.private_key, algorithm="EdDSA", headers={"kid": other.kid}
    )
    resp = request_token(client, org, token)
    # then kid only selects among the claimed agent's own keys
    assert_rule(resp, "kid")
    assert_nothing_issued(client, org, agent.agent_id, rule="kid")
    assert_nothing_issued(client, org, other.agent_id)


def test_with_several_keys_an_assertion_without_kid_is_refused(client, org):
    # given an agent registered with two keys (a rotation in progress)
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    body = {
        "name": "two-keys",
        "capabilities": ["document.read"],
        "jwks": {"keys": [ed25519_jwk(first, "one"), ed25519_jwk(second, "two")]},
    }
    resp = client.post(f"{org.api}/agents/register", json=body, headers=org.admin)
    agent = AgentHandle(org, resp.json()["agent_id"], "two-keys", second, "two")
    # then each key works when named, and an unnamed key is refused
    assert request_token(client, org, agent.assertion()).status_code == 200
    unnamed = jwt.encode(claims_for(agent), second, algorithm="EdDSA")
    assert_rule(request_token(client, org, unnamed), "kid")
    assert issued_tokens(agent.agent_id) == 1


def test_another_agents_key_without_kid_does_not_verify(client, org, agent):
    other = register_agent(client, org, capabilities=["document.read"])
    token = jwt.encode(claims_for(agent), other.private_key, algorithm="EdDSA")
    resp = request_token(client, org, token)
    assert_rule(resp, "signature")
    assert_nothing_issued(client, org, agent.agent_id, rule="signature")


def test_jku_header_is_never_fetched(client, org, agent):
    # given a JWKS server the attacker controls, holding the attacker's key
    attacker = generate_private_key(SECP256R1())
    with local_server() as server:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
        url = server.answer("/jwks.json", json.dumps({"keys": [{**jwk, "kid": "evil"}]}))
        token = jwt.encode(
            claims_for(agent), attacker, algorithm="ES256", headers={"kid": "evil", "jku": url}
        )
        # when the assertion points at it with jku
        resp = request_token(client, org, token)
        # then it is refused, and the URL was never requested
        assert_rule(resp, "header")
        assert server.requests == []
    assert_nothing_issued(client, org, agent.agent_id, rule="header")


@pytest.mark.parametrize("name", ["x5u", "jwk", "x5c"])
def test_key_carrying_headers_are_never_trusted(client, org, agent, name):
    attacker = generate_private_key(SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    values = {
        "x5u": "http://127.0.0.1:9/cert.pem",
        "jwk": jwk,
        "x5c": [b64url(b"not really a certificate")],
    }
    # signed with the agent's real key: the header alone is reason enough
    resp = request_token(client, org, agent.assertion(headers={name: values[name]}))
    assert_rule(resp, "header")
    assert name in resp.json()["error_description"]
    assert_nothing_issued(client, org, agent.agent_id, rule="header")


def test_unknown_crit_header_is_refused(client, org, agent):
    resp = request_token(
        client, org, agent.assertion(headers={"crit": ["exp-ext"], "exp-ext": True})
    )
    assert_rule(resp, "crit")
    assert_nothing_issued(client, org, agent.agent_id, rule="crit")


def test_tampered_signature_is_refused(client, org, agent):
    head, payload, sig = agent.assertion().split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    resp = request_token(client, org, f"{head}.{payload}.{flipped}")
    assert_rule(resp, "signature")
    assert_nothing_issued(client, org, agent.agent_id, rule="signature")


def test_tampered_payload_is_refused(client, org, agent):
    head, _payload, sig = agent.assertion().split(".")
    other_payload = b64json(claims_for(agent, scope="payments.authorize"))
    resp = request_token(client, org, f"{head}.{other_payload}.{sig}")
    assert_rule(resp, "signature")
    assert_nothing_issued(client, org, agent.agent_id)


def _malformed(agent: AgentHandle) -> dict[str, str]:
    head, payload, sig = agent.assertion().split(".")
    quoted = b64url(b'"iss"')
    return {
        "two-parts": f"{head}.{payload}",
        "four-parts": f"{head}.{payload}.{sig}.{sig}",
        "five-parts-jwe-like": f"{head}.{payload}.{sig}.{sig}.{sig}",
        "empty-payload": f"{head}..{sig}",
        "bad-base64": f"{head}.%%%$$$.{sig}",
        "non-ascii": f"{head}.pâyload.{sig}",
        "non-json": f"{head}.{b64url(b'not json at all')}.{sig}",
        "json-array": f"{head}.{b64url(b'[1, 2, 3]')}.{sig}",
        "json-string": f"{head}.{quoted}.{sig}",
        "header-array": f"{b64url(b'[]')}.{payload}.{sig}",
        "not-utf8": f"{head}.{b64url(bytes([0xFF, 0xFE, 0x7B]))}.{sig}",
        "deeply-nested": f"{head}.{b64url(b'[' * 5000)}.{sig}",
        "oversized": f"{head}.{b64url(b'{' + b' ' * 9000 + b'}')}.{sig}",
        "just-dots": "..",
    }


@pytest.mark.parametrize(
    "shape",
    [
        "two-parts",
        "four-parts",
        "five-parts-jwe-like",
        "empty-payload",
        "bad-base64",
        "non-ascii",
        "non-json",
        "json-array",
        "json-string",
        "header-array",
        "not-utf8",
        "deeply-nested",
        "oversized",
        "just-dots",
    ],
)
def test_malformed_compact_jwt_is_refused(client, org, agent, shape):
    resp = request_token(client, org, _malformed(agent)[shape])
    assert_rule(resp, "malformed")
    assert_nothing_issued(client, org, agent.agent_id, rule="malformed")


def test_access_token_used_as_assertion_is_refused(client, org, agent):
    # given a real access token of this agent
    access = agent.token(client)
    before = issued_tokens(agent.agent_id)
    # when it is presented as the client assertion
    resp = request_token(client, org, access)
    # then it is refused (typ at+jwt), and no second token is issued
    assert_rule(resp, "typ")
    assert issued_tokens(agent.agent_id) == before


@pytest.mark.parametrize(
    "alg", ["ES256\u2603", "Ed\nDSA", "EdDSA\r\nX-Injected: 1", "x" * 5000, "EdDSA\x00"]
)
def test_hostile_alg_text_is_refused_without_breaking_the_response(client, org, agent, alg):
    # given an alg value made of characters no HTTP header may carry, or far too long
    token = compact({"alg": alg, "kid": agent.kid}, claims_for(agent))
    resp = request_token(client, org, token)
    # then the answer is still a clean 401 whose WWW-Authenticate header is plain ASCII
    assert_rule(resp, "alg")
    header = resp.headers["www-authenticate"]
    assert header.isascii() and "\n" not in header and "\r" not in header
    assert "X-Injected" not in resp.headers
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


def _signed_segments(agent: AgentHandle, head: str, payload: str) -> str:
    """A compact JWS over exactly these segments, signed with the agent's real key: only the
    encoding can be wrong, never the signature."""
    signature = agent.private_key.sign(f"{head}.{payload}".encode())
    return f"{head}.{payload}.{b64url(signature)}"


def _non_canonical(segment: str) -> str:
    """The same bytes, but the last character's unused low bits set (decoders that ignore them
    read the same value: a second spelling of one token)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused_bits = {2: 4, 3: 2}[len(segment) % 4]  # characters left over -> bits never used
    last = alphabet.index(segment[-1])
    assert last % (1 << unused_bits) == 0
    return segment[:-1] + alphabet[last + 1]


def _encodings(agent: AgentHandle) -> dict[str, str]:
    head = b64json({"alg": "EdDSA", "typ": "JWT", "kid": agent.kid})
    payload = b64json(claims_for(agent, jti=uuid.uuid4().hex + "xy"))  # len % 4 != 0
    good = _signed_segments(agent, head, payload)
    signature = good.rsplit(".", 1)[1]
    return {
        "header-standard-alphabet": _signed_segments(agent, head.replace("-", "+") + "+", payload),
        "payload-junk-character": _signed_segments(agent, head, payload[:5] + "!" + payload[5:]),
        "payload-whitespace": _signed_segments(agent, head, payload[:5] + " " + payload[5:]),
        "payload-non-canonical": _signed_segments(agent, head, _non_canonical(payload)),
        "payload-bad-length": _signed_segments(agent, head, payload + "A" * (5 - len(payload) % 4)),
        "payload-too-much-padding": _signed_segments(agent, head, payload + "==="),
        "signature-junk-character": f"{head}.{payload}.{signature[:4]}*{signature[5:]}",
        "signature-non-canonical": f"{head}.{payload}.{_non_canonical(signature)}",
    }


@pytest.mark.parametrize(
    ("shape", "rule"),
    [
        ("header-standard-alphabet", "malformed"),
        ("payload-junk-character", "malformed"),
        ("payload-whitespace", "malformed"),
        ("payload-non-canonical", "malformed"),
        ("payload-bad-length", "malformed"),
        ("payload-too-much-padding", "malformed"),
        ("signature-junk-character", "signature"),
        ("signature-non-canonical", "signature"),
    ],
)
def test_a_second_spelling_of_a_signed_assertion_is_refused(client, org, agent, shape, rule):
    # given an assertion signed with the agent's own key, but spelled in a way base64url (RFC
    # 7515 §2) does not allow: another spelling of the same claims must not be a second token
    token = _encodings(agent)[shape]
    # when it is presented
    resp = request_token(client, org, token)
    # then it is refused naming the rule, and nothing is issued
    assert_rule(resp, rule)
    assert_nothing_issued(client, org, agent.agent_id, rule=rule)


def test_padded_segments_signed_as_sent_are_accepted(client, org, agent):
    # given an assertion whose segments carry base64 '=' padding, signed over exactly that text
    # (some issuers pad; PyJWT, which verified assertions before, accepts it)
    head = b64json({"alg": "EdDSA", "typ": "JWT", "kid": agent.kid})
    payload = b64json(claims_for(agent, jti=uuid.uuid4().hex + "xy"))
    assert len(payload) % 4
    padded = payload + "=" * (-len(payload) % 4)
    # when it is presented
    resp = request_token(client, org, _signed_segments(agent, head, padded))
    # then a token is issued
    assert resp.status_code == 200, resp.text
