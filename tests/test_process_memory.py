"""What a web process keeps resident: no library for a mode it does not run in."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Start an embedded-mode app (its worker too), take a real agent's token and check with it (the
# token and check paths, not a 401 at their door), report the modules.
SERVE_ONE_REQUEST = """
import sys
from fastapi.testclient import TestClient
from app.main import create_app
from tests import factories
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code == 200
    org = factories.make_org()
    agent = factories.register_agent(client, org, capabilities=["document.read"])
    token = factories.request_token(client, org, agent.assertion())
    assert token.status_code == 200, token.text
    bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
    check = client.post(f"{org.api}/authz/check", json={"permission": "document.read"}, headers=bearer)
    assert check.status_code == 200 and check.json()["allowed"] is True, check.text
print(sorted({name.split(".")[0] for name in sys.modules}))
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The top-level modules of an embedded process that has served a request or two."""
    tmp_path = tmp_path_factory.mktemp("memory")
    env = {
        **os.environ,
        "JITGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'memory.db'}",
        "JITGATE_SECRET_KEY": "memory-test-" + "k" * 32,
    }
    env.pop("JITGATE_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_REQUEST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_an_embedded_process_never_loads_the_redis_client(modules):
    assert "sqlalchemy" in modules  # the probe did load the app
    # redis-py is 7.7 MiB of one process's heap (tracemalloc), for a store it does not use.
    assert "redis" not in modules


def test_a_process_has_not_loaded_slack_sdk_before_a_slack_request(modules):
    assert "sqlalchemy" in modules
    # slack_sdk is 1.9 MiB of heap, used only to check a Slack interaction's signature.
    assert "slack_sdk" not in modules
