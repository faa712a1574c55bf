#!/usr/bin/env bash
# Framework adapter suites, one virtual environment each: see scripts/test_adapters.py.
# Usage: scripts/test_adapters.sh [SERVER_PYTHON] [--only langchain,crewai]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-$(command -v python3)}"
shift || true
exec "$PY" scripts/test_adapters.py --server-python "$PY" --venv-python "$PY" "$@"
