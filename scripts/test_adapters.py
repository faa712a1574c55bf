#!/usr/bin/env python3
"""Test each framework adapter in its own virtual environment against a real jitgate server.

Usage: python scripts/test_adapters.py [--only langchain,crewai] [--server-python PY] [--prepare-only]

Run it with the server's Python (the repo's venv): it starts the server with that Python,
creates one venv per framework under $JITGATE_ADAPTER_VENVS (default
/tmp/jitgate-adapter-venvs), installs the SDK distribution (pip install ./sdk, with its own dependencies) and
the framework there, runs tests/adapters/test_<framework>.py, and prints a table. It exits
non-zero when a framework that installed fails its tests; one that cannot be installed on this
machine is reported with pip's error line, not skipped silently.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SDK_DEPS = [  # the test runner; the SDK brings httpx, PyJWT, cryptography and rfc8785 itself
    "pytest>=8",
    "pytest-timeout>=2.3",
]
# Keep in step with the extras in pyproject.toml (these are the versions the adapters target).
FRAMEWORKS: dict[str, list[str]] = {
    # langchain-mcp-adapters pins mcp 1.x: its MCP tests reach a server run by the server's Python.
    "langchain": ["langchain-core>=1.0", "langgraph>=1.0", "langchain-mcp-adapters>=0.3"],
    "crewai": ["crewai>=1.0"],
    "openai_agents": ["openai-agents>=0.24"],
    "agno": ["agno>=3.0"],
    "adk": ["google-adk>=2.0"],
}
QUIET_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "ANONYMIZED_TELEMETRY": "false",
    "AGNO_TELEMETRY": "false",
    "GOOGLE_API_KEY": "unused",
    "OPENAI_API_KEY": "unused",
}


def run(cmd: list[str], log: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}\n")
    return result


def pip_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (result.stderr + result.stdout).splitlines() if "ERROR" in ln]
    return (lines[-1] if lines else (result.stderr.strip().splitlines() or ["pip failed"])[-1])[
        :160
    ]


def prepare(name: str, venvs: Path, base_python: str, log: Path) -> tuple[Path | None, str]:
    venv = venvs / name
    python = venv / "bin" / "python"
    if not python.exists():
        made = run([base_python, "-m", "venv", str(venv)], log)
        if made.returncode != 0:
            return None, f"venv: {pip_error(made)}"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    installed = run([*pip, *SDK_DEPS, *FRAMEWORKS[name]], log)
    if installed.returncode != 0:
        return None, pip_error(installed)
    # The SDK's own distribution (sdk/pyproject.toml), with its own dependencies: what an agent
    # developer installs next to their framework, none of the server's code.
    sdk = run([*pip, str(REPO / "sdk")], log)  # its dependencies
    if sdk.returncode == 0:  # and this checkout's code, even over a reused environment
        sdk = run([*pip, "--no-deps", "--force-reinstall", str(REPO / "sdk")], log)
    if sdk.returncode != 0:
        return None, f"jitgate SDK: {pip_error(sdk)}"
    return python, ""


def start_server(server_python: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [server_python, str(REPO / "tests" / "sdk" / "live_server.py")],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("could not start the jitgate server (see tests/sdk/live_server.py)")
    info = json.loads(line)
    return proc, {k: str(v) for k, v in info.items() if k.startswith("JITGATE_")}


def run_tests(name: str, python: Path, server: dict[str, str], log: Path) -> tuple[bool, str]:
    env = {**os.environ, **QUIET_ENV, **server}
    env.pop("PYTHONPATH", None)
    cmd = [
        str(python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(REPO),
        "--confcutdir",
        str(REPO / "tests" / "adapters"),
        str(REPO / "tests" / "adapters" / f"test_{name}.py"),
    ]
    # Run from the venv, so the tests import the installed SDK rather than the source tree.
    result = run(cmd, log, env=env, cwd=python.parent.parent, timeout=900)
    summary = [ln for ln in result.stdout.splitlines() if re.search(r"\d+ (passed|failed)", ln)]
    return result.returncode == 0, (summary[-1].strip("= ") if summary else "no summary")


def prepare_all(names: list[str], venvs: Path, base_python: str) -> int:
    """Build every venv and say how it went; a failure here is reported by the real run, which
    tries again, so this always succeeds."""
    for name in names:
        log = venvs / f"{name}.prepare.log"
        log.write_text("")
        started = time.monotonic()
        python, error = prepare(name, venvs, base_python, log)
        print(f"{name}: {'ready' if python else error} ({time.monotonic() - started:.0f}s)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated frameworks")
    parser.add_argument("--server-python", default=sys.executable)
    parser.add_argument(
        "--venv-python",
        default=sys.executable,
        help="interpreter the framework venvs are created from",
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="only build the venvs (CI does it while the main suites run), test nothing",
    )
    args = parser.parse_args()
    names = [n for n in (args.only.split(",") if args.only else FRAMEWORKS) if n]
    venvs = Path(os.environ.get("JITGATE_ADAPTER_VENVS", "/tmp/jitgate-adapter-venvs"))
    venvs.mkdir(parents=True, exist_ok=True)
    if args.prepare_only:
        return prepare_all(names, venvs, args.venv_python)
    proc, server = start_server(args.server_python)
    # The MCP tests run `jitgate mcp-proxy` with it (the framework's own `mcp` may be 1.x).
    server["JITGATE_TEST_SERVER_PYTHON"] = args.server_python
    rows: list[tuple[str, str, str]] = []
    counts = {"passed": 0, "failed": 0}
    try:
        for name in names:
            log = venvs / f"{name}.test.log"
            log.write_text("")
            started = time.monotonic()
            python, error = prepare(name, venvs, args.venv_python, log)
            if python is None:
                rows.append((name, "not installable", error))
                continue
            ok, summary = run_tests(name, python, server, log)
            counts["passed" if ok else "failed"] += 1
            took = f"{time.monotonic() - started:.0f}s"
            rows.append((name, "passed" if ok else "FAILED", f"{summary} ({took}; log {log})"))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    width = max([len("framework"), *(len(n) for n, _, _ in rows)])
    print(f"\n{'framework'.ljust(width)}  result           details")
    for name, result, details in rows:
        print(f"{name.ljust(width)}  {result.ljust(15)}  {details}")
    print(f"adapters: {counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
