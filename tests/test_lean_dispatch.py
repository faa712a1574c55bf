"""The hot routes are served before the router (app/http/lean_route.py, LeanDispatch).

Given the three lean routes, when a request reaches them through the dispatcher, then it gets
exactly what the router would give: other methods and near-miss paths still go to the router,
an unexpected error is the app's 500 body, and the request log names the route template.
"""

from fastapi.testclient import TestClient

from app.authz import check as authz
from app.http.lean_route import LeanDispatch


def test_the_app_serves_the_hot_routes_through_the_dispatcher(app):
    layer, found = app.build_middleware_stack(), []  # as the first request does
    while layer is not None:
        found.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    assert "LeanDispatch" in found
    dispatch_at, limits_at = found.index("LeanDispatch"), found.index("RequestLimits")
    assert dispatch_at > limits_at  # inside the limits (and the request log)


def test_other_methods_on_a_hot_path_are_the_routers_405(client, org):
    resp = client.get(f"{org.api}/authz/check")
    assert resp.status_code == 405
    assert resp.json()["error"] == "method_not_allowed"


def test_a_near_miss_path_is_not_served_as_a_hot_route(client, org, agent):
    for path in ("authz/check/", "authz/checks", "authz//check"):
        resp = client.post(
            f"{org.api}/{path}",
            json={"permission": "document.read"},
            headers=agent.bearer(client),
            follow_redirects=False,
        )
        assert resp.status_code in (404, 405, 307), (path, resp.status_code)


def test_a_bad_org_id_is_refused_like_the_router_would(client, agent):
    resp = client.post(
        "/orgs/bad%20org/api/v1/authz/check",
        json={"permission": "document.read"},
        headers=agent.bearer(client),
    )
    assert resp.status_code == 422
    assert resp.json()["error"] == "invalid_request"


def test_an_unexpected_error_is_the_apps_500_body(app, org, agent, monkeypatch):
    client = TestClient(app, raise_server_exceptions=False)  # the session's client runs the app
    bearer = agent.bearer(client)

    def broken(**_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(authz, "decide", broken)
    resp = client.post(f"{org.api}/authz/check", json={"permission": "x.y"}, headers=bearer)
    assert resp.status_code == 500
    assert resp.json() == {
        "error": "server_error",
        "error_description": "an unexpected error occurred",
    }
    assert "boom" not in resp.text


def test_a_routed_request_and_a_dispatched_one_are_logged_by_template(client, org, agent, caplog):
    with caplog.at_level("INFO", logger="jitgate.request"):
        client.post(
            f"{org.api}/authz/check",
            json={"permission": "document.read"},
            headers=agent.bearer(client),
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "jitgate.request"]
    assert "POST /orgs/{org_id}/api/v1/authz/check 200" in lines


def test_the_dispatcher_leaves_unknown_routers_alone():
    import asyncio

    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])

    dispatch = LeanDispatch(app, prefix="/orgs/{org_id}/api/v1", routers=(), handlers={})
    scope = {"type": "http", "method": "POST", "path": "/orgs/a/api/v1/authz/check"}
    asyncio.run(dispatch(scope, None, None))
    assert calls == ["/orgs/a/api/v1/authz/check"]
