"""The SDK installed on its own (`pip install ./sdk`) works without the server's code.

Run with the SDK's virtual environment's python:
    python scripts/check_sdk_distribution.py --server /path/to/server-venv/bin/jitgate

1. every SDK module (adapters, the FastAPI and MCP helpers aside: they need their extras) imports,
   and no server package (app, workers, notifiers, fastapi, sqlalchemy, celery) comes along;
2. the environment holds no server dependency;
3. against a real server started from the server's own installation, the SDK alone registers
   nothing itself but gets a token, checks a permission and hashes an operation as the server.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

SERVER_PACKAGES = ("app", "workers", "notifiers", "fastapi", "sqlalchemy", "sqlmodel", "celery")
# Modules for an extra the plain SDK does not install (their framework comes with the extra).
# (jitgate.mcp itself and its client side import without mcp; the server side needs it.)
OPTIONAL_EXTRAS = ("jitgate.fastapi", "jitgate.mcp.gate", "jitgate.mcp.rules", "jitgate.mcp.proxy")
SERVER_DISTRIBUTIONS = ("fastapi", "sqlalchemy", "sqlmodel", "celery", "uvicorn", "alembic")


def fail(message: str) -> None:
    print(f"SDK CHECK FAILED: {message}")
    sys.exit(1)


def check_imports() -> None:
    import jitgate

    names = [m.name for m in pkgutil.walk_packages(jitgate.__path__, "jitgate.")]
    for name in names:
        if ".adapters." not in name and not name.startswith(OPTIONAL_EXTRAS):
            importlib.import_module(name)
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(SERVER_PACKAGES))
    if loaded:
        fail(f"importing the SDK loaded server packages: {loaded}")
    installed = {d.metadata["Name"].lower() for d in metadata.distributions()}
    extra = sorted(installed & set(SERVER_DISTRIBUTIONS))
    if extra:
        fail(f"the SDK's environment holds server dependencies: {extra}")
    print(f"1. {len(names)} SDK modules; no server package imported or installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_story(server: str) -> None:
    import httpx

    from jitgate import SyncAgentAuth, generate_key, operation_hash

    work, port = Path(tempfile.mkdtemp(prefix="jitgate-sdk-")), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    env |= {
        "JITGATE_DATABASE_URL": f"sqlite:///{work}/jitgate.db",
        "JITGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [server, "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        made = subprocess.run(
            [server, "orgs", "create", "SDK check", "--json"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        org = json.loads(made.stdout)
        pem, jwks = generate_key()
        body = {"name": "sdk-check", "capabilities": ["document.read"], "jwks": jwks}
        agent = httpx.post(
            f"{base}/orgs/{org['org_id']}/api/v1/agents/register",
            json=body,
            headers={"Authorization": f"Bearer {org['admin_token']}"},
        ).json()
        auth = SyncAgentAuth(base, org["org_id"], agent["agent_id"], pem)
        if not auth.check("document.read").get("allowed"):
            fail("the SDK's check was refused")
        print("2. against a real server: token and check through the SDK alone")
        print(
            f"   operation hash of {{'amount': 250.0}}: {operation_hash({'amount': 250.0})[:16]}…"
        )
    finally:
        process.terminate()
        process.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="the server installation's `jitgate` command")
    args = parser.parse_args()
    check_imports()
    if args.server:
        live_story(args.server)
    print("the SDK distribution works on its own")


if __name__ == "__main__":
    main()
