"""The OpenAPI document stays as it was (tests/openapi.json, taken from main before issue 11's
moves): refactors change no path, body, parameter or description. An intended API change
refreshes the snapshot with `python scripts/openapi_snapshot.py --write` in the same commit."""

import difflib
import json
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent / "openapi.json"


def test_the_openapi_document_matches_the_snapshot(app):
    now = json.dumps(app.openapi(), indent=1, sort_keys=True) + "\n"
    before = SNAPSHOT.read_text()
    diff = difflib.unified_diff(before.splitlines(), now.splitlines(), "snapshot", "now", n=1)
    assert now == before, "\n".join(list(diff)[:60])
