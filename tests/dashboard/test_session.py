"""The signed session cookie and its CSRF token, without HTTP."""

import time

from app.dashboard import session as sessions


def make_state(**overrides):
    state = sessions.new_session(approver_id="apr_1", org_id="org_1", token_hash="ab" * 32)
    return sessions.SessionState(**{**state.__dict__, **overrides})


def test_cookie_round_trips_the_session():
    state = make_state()
    assert sessions.decode(sessions.encode(state)) == state


def test_altered_cookie_is_not_a_session():
    cookie = sessions.encode(make_state())
    payload, signature = cookie.split(".")
    other = sessions.encode(make_state(approver="apr_2")).split(".")[0]
    assert sessions.decode(f"{other}.{signature}") is None
    assert sessions.decode(f"{payload}.{signature[:-2]}xx") is None


def test_garbage_cookies_are_not_sessions():
    for cookie in ("", "x", "a.b.c", "!!!.???", "e30." + "A" * 43, "a" * 5000, None):
        assert sessions.decode(cookie) is None


def test_expired_session_is_refused():
    cookie = sessions.encode(make_state(exp=int(time.time()) - 1))
    assert sessions.decode(cookie) is None


def test_logged_out_session_is_refused():
    state = make_state()
    sessions.log_out(state)
    assert sessions.decode(sessions.encode(state)) is None


def test_csrf_token_must_match_the_session():
    state = make_state()
    assert sessions.csrf_matches(state, state.csrf)
    assert not sessions.csrf_matches(state, state.csrf + "x")
    assert not sessions.csrf_matches(state, "")
    assert not sessions.csrf_matches(state, None)
    assert not sessions.csrf_matches(make_state(), state.csrf)  # another session's token


def test_each_session_has_its_own_csrf_token():
    assert make_state().csrf != make_state().csrf


def test_origin_must_be_the_public_url():
    assert sessions.origin_allowed("http://testserver", required=True)
    assert not sessions.origin_allowed("http://evil.example", required=True)
    assert not sessions.origin_allowed(None, required=True)
    assert sessions.origin_allowed(None, required=False)
