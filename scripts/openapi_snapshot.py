"""The OpenAPI document as tests/openapi.json keeps it (sorted keys), to compare or to refresh.

    python scripts/openapi_snapshot.py            # exit 1 and a unified diff when it changed
    python scripts/openapi_snapshot.py --write    # an intended API change: refresh the snapshot

tests/test_openapi_snapshot.py runs the comparison: a move or a refactor must leave the document
as it was (issue 11); a change to the API is a deliberate --write in the same commit.
"""

import difflib
import json
import os
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "tests" / "openapi.json"


def current() -> str:
    os.environ.setdefault("JITGATE_ENV", "test")
    os.environ.setdefault("JITGATE_SECRET_KEY", "openapi-snapshot-secret-0123456789")
    sys.path.insert(0, str(SNAPSHOT.parent.parent))
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    now = current()
    if "--write" in sys.argv:
        SNAPSHOT.write_text(now)
        return 0
    diff = list(
        difflib.unified_diff(
            SNAPSHOT.read_text().splitlines(),
            now.splitlines(),
            "tests/openapi.json",
            "now",
            lineterm="",
        )
    )
    print("\n".join(diff) if diff else "the OpenAPI document is unchanged")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
