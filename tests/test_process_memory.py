"""What a web process keeps resident: no library for a mode it does not run in."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Start an embedded-mode app (its worker too), answer a check's way in, report the modules.
SERVE_ONE_REQUEST = """
import sys
from fastapi.testclient import TestClient
from app.main import create_app
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code == 200
    client.post("/orgs/nobody/api/v1/authz/check", json={"permission": "a.b"})
print(sorted({name.split(".")[0] for name in sys.modules}))
"""


def _modules_of_an_embedded_process(tmp_path: Path) -> list[str]:
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
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 (our own printed list)


def test_an_embedded_process_never_loads_the_redis_client(tmp_path):
    modules = _modules_of_an_embedded_process(tmp_path)
    assert "sqlalchemy" in modules  # the probe did load the app
    # redis-py is 7.7 MiB of one process's heap (tracemalloc), for a store it does not use.
    assert "redis" not in modules


def test_a_process_loads_slacks_client_library_only_for_a_slack_request(tmp_path):
    modules = _modules_of_an_embedded_process(tmp_path)
    assert "sqlalchemy" in modules
    # slack_sdk is 1.9 MiB of heap, used only to check a Slack interaction's signature.
    assert "slack_sdk" not in modules
