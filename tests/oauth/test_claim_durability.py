"""Embedded mode: a client assertion's claim outlives a restart, whatever the request did next.

Given an assertion the token endpoint claimed, when the process starts again (an empty
in-memory store, then the start-up reload), then the same assertion is refused as a replay
until its claim expires: after a token was issued for it (its record carries the claim), and
after the request was refused or failed once the claim was made (the claim is its own row).
"""

import os
import time

import jwt
import pytest
from sqlalchemy.exc import DataError

from app.core.errors import InvalidGrant
from tests.factories import register_agent, request_token
from tests.helpers import assert_rule, issued_tokens


def _restart() -> None:
    from app.core import row_writer
    from app.core.kv import get_store
    from app.identity import replay

    row_writer.rows.flush()
    get_store.cache_clear()
    replay.reload()


def _jti(assertion: str) -> str:
    return jwt.decode(assertion, options={"verify_signature": False})["jti"]


def test_an_issued_tokens_assertion_is_refused_after_a_restart(client, org, agent):
    # given an assertion exchanged for a token
    assertion = agent.assertion()
    assert request_token(client, org, assertion).status_code == 200
    # when the process starts again
    _restart()
    # then the same assertion is a replay, through either grant form
    assert_rule(request_token(client, org, assertion), "jti")
    resp = client.post(
        f"{org.api}/oauth/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    assert resp.status_code == 400 and "(jti)" in resp.json()["error_description"]
    assert issued_tokens(agent.agent_id) == 1


def test_an_assertion_refused_for_its_scope_is_still_spent_after_a_restart(client, org, agent):
    # given an assertion claimed, then refused for a scope the agent does not hold
    assertion = agent.assertion()
    resp = request_token(client, org, assertion, scope="root.everything")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_scope"
    # when the process starts again
    _restart()
    # then the assertion stays spent: a good scope does not make it usable
    assert_rule(request_token(client, org, assertion, scope="document.read"), "jti")
    assert issued_tokens(agent.agent_id) == 0


def test_an_assertion_whose_issue_failed_is_still_spent_after_a_restart(
    client, org, agent, monkeypatch
):
    from app.identity import tokens

    # given an assertion claimed, then a failure while its token was made
    def failing_issue(grant: tokens.Grant) -> tokens.IssuedAccessToken:
        raise InvalidGrant("signing is out of order")

    assertion = agent.assertion()
    with monkeypatch.context() as patched:
        patched.setattr(tokens, "issue", failing_issue)
        assert request_token(client, org, assertion).status_code == 400
    # when the process starts again
    _restart()
    # then the assertion is a replay
    assert_rule(request_token(client, org, assertion), "jti")
    assert issued_tokens(agent.agent_id) == 0


def test_a_tokens_claim_is_not_reloaded_once_it_expired(client, org, agent, monkeypatch):
    from app.core.kv import get_store
    from app.settings import get_settings

    # given a token issued for an assertion that expires in 5 s
    assertion = agent.assertion(exp=int(time.time()) + 5)
    assert request_token(client, org, assertion).status_code == 200
    key = f"jti:{agent.agent_id}:{_jti(assertion)}"
    # when the process starts again before its claim ran out, the claim comes back
    _restart()
    assert get_store().exists(key)
    # and when it starts again after (exp + clock leeway), it does not: nothing left to refuse
    later = time.time() + 5 + get_settings().clock_leeway + 5
    monkeypatch.setattr(time, "time", lambda: later)
    _restart()
    monkeypatch.undo()
    assert not get_store().exists(key)


@pytest.mark.parametrize("tokens_issued", [1, 3])
def test_each_tokens_record_is_one_row_with_its_claim(client, org, agent, tokens_issued):
    from sqlmodel import func, select

    from app.core.db import session_scope
    from app.models import IssuedToken, UsedAssertion

    # given tokens issued for assertions
    assertions = [agent.assertion() for _ in range(tokens_issued)]
    for assertion in assertions:
        assert request_token(client, org, assertion).status_code == 200
    assert issued_tokens(agent.agent_id) == tokens_issued
    # then each token's record names the assertion it spent, and no claim row is written besides
    with session_scope() as session:
        records = session.exec(select(IssuedToken).where(IssuedToken.agent_id == agent.agent_id))
        assert sorted(r.assertion_jti for r in records) == sorted(map(_jti, assertions))
        count = select(func.count()).select_from(UsedAssertion)
        assert session.exec(count.where(UsedAssertion.agent_id == agent.agent_id)).one() == 0


def _drain(rounds: int = 12) -> None:
    """Flush until the row writer gave up on a poison batch (retried, then written row by row)."""
    from app.core import row_writer
    from app.core.batching import WriteBacklog

    for _ in range(rounds):
        try:
            row_writer.rows.flush()
            return
        except WriteBacklog:
            continue
    row_writer.rows.flush()


def test_a_claim_outlives_a_token_record_the_database_refuses(client, org, agent, monkeypatch):
    # given a token whose record the database refuses on its own (review r-tok2: the claim lived
    # only in that record and was dropped with it)
    from app.core import row_writer
    from app.models import IssuedToken

    def refuse_token_rows(connection, rows):
        raise DataError("INSERT INTO issued_token", {}, Exception("value too long"))

    _drain()
    assertion = agent.assertion()
    with monkeypatch.context() as patched:
        patched.setitem(row_writer._table_writers, IssuedToken, refuse_token_rows)
        assert request_token(client, org, assertion).status_code == 200
        _drain()

    # when the process starts again
    _restart()

    # then the assertion is still spent: the claim was written as its own row
    assert_rule(request_token(client, org, assertion), "jti")


@pytest.mark.skipif(
    not os.environ.get("JITGATE_TEST_DATABASE_URL"), reason="PostgreSQL enforces VARCHAR lengths"
)
def test_a_claim_outlives_a_scope_longer_than_its_column_on_postgresql(client, org):
    # given an agent whose standing scope is longer than issued_token.scope (4,000 characters):
    # the token is issued, PostgreSQL refuses its record
    caps = [f"{'a' * 60}.{'b' * 60}.{'c' * 60}.x{i:03d}" for i in range(40)]
    agent = register_agent(client, org, capabilities=caps)
    _drain()
    assertion = agent.assertion(exp=int(time.time()) + 120)
    assert request_token(client, org, assertion).status_code == 200
    _drain()

    # when the process starts again
    _restart()

    # then the replay is refused
    assert_rule(request_token(client, org, assertion), "jti")
