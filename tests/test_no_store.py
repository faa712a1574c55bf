"""NoStoreJSON answers exactly what JSONResponse(body, headers=NO_STORE) answers."""

import pytest
from starlette.responses import JSONResponse

from app.http.no_store import NO_STORE, NoStoreJSON

BODIES = [
    {"access_token": "eyJ.eyJ.sig", "token_type": "Bearer", "expires_in": 900, "scope": "a b"},
    {"active": False},
    {},
    {"scope": "dé\u2028jà", "n": [1, 2.5, None, True]},
]


@pytest.mark.parametrize("body", BODIES)
def test_the_same_bytes_and_headers_as_a_no_store_json_response(body):
    expected, answer = JSONResponse(body, headers=NO_STORE), NoStoreJSON(body)
    assert (answer.status_code, answer.body) == (expected.status_code, expected.body)
    assert answer.raw_headers == expected.raw_headers


def test_a_value_json_cannot_hold_is_refused_like_json_response():
    with pytest.raises(ValueError):
        JSONResponse({"x": float("nan")})
    with pytest.raises(ValueError):
        NoStoreJSON({"x": float("nan")})
