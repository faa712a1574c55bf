"""RFC 7523 client assertions: every rule is one small validator with its own name.

Rules (RFC 7523 §3, RFC 8725): the algorithm comes from the registered key, never the header;
`kid` selects among this agent's keys only; key-carrying headers (jku, x5u, jwk, x5c) are never
trusted; `iss` = `sub` = the agent id; `aud` is exactly the token endpoint or the issuer; `exp`
is required and at most five minutes ahead; `iat`/`nbf` with a small leeway; `jti` is required
and never accepted twice while the assertion could still be valid.
"""

import time
from dataclasses import dataclass
from typing import Any

import jwt
from sqlmodel import Session, select

from app.core import compact_jws
from app.core.cache import TtlCache
from app.core.errors import InvalidClient
from app.identity import rate_limits, replay
from app.identity.agent_keys import PublicKey
from app.identity.remote_jwks import jwks_cache
from app.models import Agent, AgentKey
from app.settings import get_settings

KEY_BEARING_HEADERS = ("jku", "x5u", "jwk", "x5c")
SUPPORTED_ALGS = ("EdDSA", "ES256", "RS256", "PS256")  # what pinned_algorithm can register
MAX_ASSERTION_BYTES = 8192


class AssertionRejected(InvalidClient):
    """The client assertion broke `rule`; the rule's name is part of the description."""

    def __init__(self, rule: str, description: str):
        super().__init__(f"client assertion refused ({rule}): {description}")
        self.rule = rule
        self.detail = description  # without the prefix, for refusals of other JWTs
        self.agent_id: str | None = None  # set once the assertion names a known agent


@dataclass(frozen=True)
class VerifiedAssertion:
    agent: Agent
    claims: dict[str, Any]
    kid: str
    # The agent's request, counted with the jti claim (Redis mode, when asked: count_request).
    counted: rate_limits.Counted | None = None
    jti: str = ""
    exp: float = 0.0
    # False only when the caller asked to claim the jti itself (verify_assertion(claim=False)):
    # such an assertion grants nothing until it is claimed (app/identity/claim_batch.py).
    claimed: bool = True


# The token route asks verifiable_without_io() about an assertion and then verifies the same
# text: it is parsed once. Only parses are kept (a pure function of the text), never outcomes;
# the verifier takes its entry out, and entries nobody took are dropped in bulk.
_parsed: dict[str, compact_jws.CompactJws] = {}
_MAX_PARSED = 256


def parse_compact(token: str, *, keep: bool = False) -> compact_jws.CompactJws:
    if not isinstance(token, str) or not token or len(token) > MAX_ASSERTION_BYTES:
        raise AssertionRejected("malformed", "the assertion is empty or too long")
    jws = _parsed.pop(token, None)
    if jws is None:
        try:
            jws = compact_jws.parse(token)
        except compact_jws.MalformedJws as exc:
            raise AssertionRejected("malformed", str(exc)) from exc
    if keep:
        if len(_parsed) >= _MAX_PARSED:
            _parsed.clear()
        _parsed[token] = jws
    return jws


def validate_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise AssertionRejected("alg", "the header has no alg")
    if alg.lower() == "none":
        raise AssertionRejected("alg", "unsigned assertions (alg none) are refused")
    present = [h for h in KEY_BEARING_HEADERS if h in header]
    if present:
        raise AssertionRejected("header", f"key-carrying headers are never trusted: {present}")
    if "crit" in header:
        raise AssertionRejected("crit", "no critical header extension is understood")
    typ = header.get("typ")
    if isinstance(typ, str) and typ.lower() in ("at+jwt", "application/at+jwt"):
        raise AssertionRejected("typ", "an access token is not a client assertion")


def validate_iss_sub(claims: dict[str, Any]) -> str:
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str) or not iss:
        raise AssertionRejected("iss", "iss and sub must both be the agent id")
    if iss != sub:
        raise AssertionRejected("sub", "iss and sub must be equal (the agent id)")
    return iss


@dataclass(frozen=True)
class _Registered:
    agent: Agent  # detached, fully loaded; read only
    keys: tuple[PublicKey, ...]  # inline keys (jwks_uri agents fetch theirs)


# The token endpoint's lookups, cached like the decision facts (decision_cache_seconds): a
# registry change made on this process applies at once (forget_agent), elsewhere within the bound.
_registered: TtlCache[_Registered | None] = TtlCache(lambda: get_settings().decision_cache_seconds)


def forget_agent(agent_id: str) -> None:
    _registered.invalidate(agent_id)


def jwt_shaped(token: str) -> bool:
    """True when the token parses as a compact JWS (kept parsed for its verification). One that
    does not is refused by the usual path, which needs no I/O to do so."""
    try:
        parse_compact(token, keep=True)
    except AssertionRejected:
        return False
    return True


def verifiable_without_io(token: str) -> bool:
    """True when the assertion names an agent whose keys are cached here and inline (no
    jwks_uri to fetch): then verifying it needs no database and no network."""
    try:
        agent_id = parse_compact(token, keep=True).claims.get("iss")
    except AssertionRejected:
        return True  # refused without any lookup
    entry = _registered.peek(agent_id) if isinstance(agent_id, str) else None
    return entry is not None and not entry.agent.jwks_uri


def registered(session: Session, agent_id: str) -> _Registered | None:
    def load() -> _Registered | None:
        agent = session.get(Agent, agent_id)
        if agent is None:
            return None
        rows = session.exec(select(AgentKey).where(AgentKey.agent_id == agent.id)).all()
        keys = tuple(PublicKey(kid=r.kid, alg=r.alg, jwk=r.jwk) for r in rows)
        session.expunge(agent)
        return _Registered(agent=agent, keys=keys)

    return _registered.get(agent_id, load)


def _agent_keys(entry: _Registered, kid: str | None) -> list[PublicKey]:
    agent = entry.agent
    if agent.jwks_uri:
        try:
            return jwks_cache.get(agent.jwks_uri, kid=kid, org_id=agent.org_id)
        except InvalidClient as exc:  # an assertion refusal like any other: audited, grant form
            raise AssertionRejected("jwks_uri", exc.description) from exc
    return list(entry.keys)


def validate_key_hint(header: dict[str, Any]) -> None:
    """Header facts no registered key could match; checked before keys are fetched."""
    if header.get("alg") not in SUPPORTED_ALGS:
        raise AssertionRejected("alg", f"alg {header.get('alg')!r:.40} is not accepted")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= 200):
        raise AssertionRejected("kid", "kid must be a string of at most 200 characters")


def select_key(keys: list[PublicKey], header: dict[str, Any]) -> PublicKey:
    kid = header.get("kid")
    if kid is not None:
        match = [k for k in keys if k.kid == kid]
        if not match:
            raise AssertionRejected("kid", "kid is not one of this agent's registered keys")
        key = match[0]
    elif len(keys) == 1:
        key = keys[0]
    else:
        raise AssertionRejected("kid", "the agent has several keys: name one with kid")
    if header.get("alg") != key.alg:
        raise AssertionRejected(
            "alg", f"this key is registered for {key.alg}, not {header.get('alg')!r:.40}"
        )
    return key


# Key objects built from registered JWKs, by the identity of the JWK dict (held in the entry, so
# the id cannot be reused while cached) and the pinned algorithm: a cached agent's keys are
# built once, without serialising the JWK on every request to look its object up. Bounded: a
# jwks_uri refresh makes new dicts, and the stale ones go when the map is emptied.
_key_objects: dict[tuple[int, str], tuple[dict[str, Any], Any]] = {}
_MAX_KEY_OBJECTS = 4096


def _key_object(key: PublicKey) -> Any:
    cached = _key_objects.get((id(key.jwk), key.alg))
    if cached is not None and cached[0] is key.jwk:
        return cached[1]
    try:
        key_obj = jwt.PyJWK(key.jwk, algorithm=key.alg).key
    except jwt.PyJWTError as exc:
        raise AssertionRejected("signature", f"the assertion cannot be verified: {exc}") from exc
    if len(_key_objects) >= _MAX_KEY_OBJECTS:
        _key_objects.clear()
    _key_objects[(id(key.jwk), key.alg)] = (key.jwk, key_obj)
    return key_obj


def verify_signature(jws: compact_jws.CompactJws, key: PublicKey) -> None:
    key_obj = _key_object(key)
    try:
        valid = compact_jws.verify(jws, key_obj, key.alg)
    except compact_jws.MalformedJws as exc:
        raise AssertionRejected("signature", f"the assertion cannot be verified: {exc}") from exc
    if not valid:
        raise AssertionRejected("signature", "the signature does not verify")


def numeric_date(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # `not abs(value) < 1e15` also catches NaN, the infinities and integers no float can hold.
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < 1e15:
        raise AssertionRejected(name, f"{name} must be a NumericDate (seconds since the epoch)")
    return float(value)


def validate_exp(claims: dict[str, Any], now: float) -> float:
    settings = get_settings()
    exp = numeric_date(claims, "exp")
    if exp is None:
        raise AssertionRejected("exp", "exp is required")
    if exp < now - settings.clock_leeway:
        raise AssertionRejected("exp", "the assertion has expired")
    if exp > now + settings.assertion_max_lifetime + settings.clock_leeway:
        raise AssertionRejected("exp", "exp is more than 5 minutes ahead")
    return exp


def validate_nbf(claims: dict[str, Any], now: float) -> None:
    nbf = numeric_date(claims, "nbf")
    if nbf is not None and nbf > now + get_settings().clock_leeway:
        raise AssertionRejected("nbf", "the assertion is not valid yet (nbf)")


def validate_iat(claims: dict[str, Any], now: float) -> None:
    iat = numeric_date(claims, "iat")
    if iat is not None and iat > now + get_settings().clock_leeway:
        raise AssertionRejected("iat", "the assertion was issued in the future (iat)")


def validate_aud(claims: dict[str, Any], accepted: tuple[str, ...]) -> None:
    aud = claims.get("aud")
    if isinstance(aud, str) and aud in accepted:  # the usual case, without the generators
        return
    values = aud if isinstance(aud, list) else [aud]
    if not values or not all(isinstance(v, str) for v in values):
        raise AssertionRejected("aud", "aud must be the token endpoint URL or the issuer")
    if not any(v in accepted for v in values):
        raise AssertionRejected("aud", "aud is not this token endpoint or issuer")


def validate_jti(claims: dict[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise AssertionRejected("jti", "jti is required (a unique string up to 256 characters)")
    # It is stored (the replay store's table): no control characters or lone surrogates, which
    # no UTF-8 column can hold.
    if not jti.isprintable():
        raise AssertionRejected("jti", "jti must be printable text")
    return jti


def validate_jti_unused(
    agent: Agent, jti: str, exp: float, now: float, *, count_request: bool = False
) -> rate_limits.Counted | None:
    """Claim the jti (refused if it was used); with count_request, the agent's request is
    counted in the same round trip where that is possible (replay.claim_counting)."""
    if count_request:
        override = (agent.budget or {}).get("requests_per_minute")
        first, counted = replay.claim_counting(
            agent.id, jti, expires_at=exp, now=now, org_id=agent.org_id, override=override
        )
    else:
        first, counted = replay.claim(agent.id, jti, expires_at=exp, now=now), None
    if not first:
        raise replay_refused(agent)
    return counted


def replay_refused(agent: Agent) -> AssertionRejected:
    refusal = AssertionRejected("jti", "this jti was already used (replay)")
    refusal.agent_id = agent.id
    return refusal


def verify_assertion(
    session: Session,
    *,
    org_id: str,
    token: str,
    accepted_audiences: tuple[str, ...],
    now: float | None = None,
    count_request: bool = False,
    claim: bool = True,
) -> VerifiedAssertion:
    """Every rule above; `count_request`: the token endpoint's own request count may be taken
    with the jti claim (VerifiedAssertion.counted says whether it was). `claim=False`: every
    rule but the jti's single use, which the caller then claims (the answer says claimed=False)."""
    now = time.time() if now is None else now
    jws = parse_compact(token)
    header, unverified = jws.header, jws.claims
    validate_header(header)
    agent_id = validate_iss_sub(unverified)
    # A NUL byte or an id longer than the column never reaches the database (PostgreSQL errors).
    plausible = len(agent_id) <= 64 and agent_id.isprintable()
    entry = registered(session, agent_id) if plausible else None
    agent = entry.agent if entry else None
    if entry is None or agent is None or agent.org_id != org_id or agent.status == "deleted":
        raise AssertionRejected("client", "unknown client for this organization")
    if agent.jwks_uri:
        # The agent is loaded and detached: hand the connection back before any key fetch, so
        # slow key hosts cannot drain the database pool that every other request needs.
        session.close()
    try:
        return _verify_for(entry, jws, accepted_audiences, now, count_request, claim)
    except AssertionRejected as exc:
        exc.agent_id = agent.id  # the refusal is audited under the agent it names
        raise


def _verify_for(
    entry: _Registered,
    jws: compact_jws.CompactJws,
    accepted_audiences: tuple[str, ...],
    now: float,
    count_request: bool,
    claim: bool,
) -> VerifiedAssertion:
    agent, header, claims = entry.agent, jws.header, jws.claims
    if agent.status != "active":
        raise AssertionRejected("client", f"the agent is {agent.status}")
    # Every check that needs no key comes first: for a jwks_uri agent, only an assertion that
    # could still be valid may cost a fetch from the agent's key host.
    validate_key_hint(header)
    exp = validate_exp(claims, now)
    validate_nbf(claims, now)
    validate_iat(claims, now)
    validate_aud(claims, accepted_audiences)
    jti = validate_jti(claims)
    key = select_key(_agent_keys(entry, header.get("kid")), header)
    verify_signature(jws, key)
    if not claim:
        return VerifiedAssertion(agent, claims, key.kid, jti=jti, exp=exp, claimed=False)
    counted = validate_jti_unused(agent, jti, exp, now, count_request=count_request)
    return VerifiedAssertion(agent, claims, key.kid, counted, jti=jti, exp=exp)
