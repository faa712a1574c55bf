"""docs/mcp.md runs as written: its walkthrough (both ways, an agent calling each) against a
real jitgate, and every example file it shows is shown verbatim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sdk.live_server import REPO, free_port, server_env, start_server

EXAMPLES = REPO / "docs" / "examples" / "mcp"
DOC = REPO / "docs" / "mcp.md"


@pytest.mark.parametrize(
    "name", ["walkthrough.sh", "payments_server.py", "notes_server.py", "agent_client.py"]
)
def test_the_doc_shows_each_example_file_verbatim(name):
    assert (EXAMPLES / name).read_text() in DOC.read_text()


@pytest.mark.timeout(420)  # a dozen Python processes start in turn: slow on a busy machine
def test_the_walkthrough_runs_as_written(tmp_path: Path):
    # Given a running jitgate (its own database) and a shell in its directory,
    server = start_server(workdir=tmp_path)
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        env = server_env(tmp_path, port) | {
            "JITGATE_URL": server.base_url,
            "MCP_PORT": str(free_port()),
            "PROXY_PORT": str(free_port()),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        env.pop("PYTHONPATH", None)  # the installed package, as a reader has it
        # when the walkthrough runs,
        done = subprocess.run(
            ["bash", str(EXAMPLES / "walkthrough.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    finally:
        server.stop()
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    # then each call did what the page says,
    assert "result: ACC-1: 100 EUR" in out
    assert "result: paid INV-1: 250 EUR" in out  # the JIT tool, after its approval
    assert "result: Hello from the notes server" in out  # through the proxy
    assert "error: tool 'delete_note' is not permitted for this caller" in out
    assert "tools: ['read_note']" in out  # the unmapped tool is not even listed
    # and the audit trail has every call with its outcome.
    for line in ("get_balance success", "pay_invoice success", "read_note success",
                 "delete_note refused"):  # fmt: skip
        assert f"audit: {line}" in out
