"""One timestamp format on every wire: RFC 3339 in UTC with a `Z` (`2026-12-07T00:40:00.123456Z`).

Rows come back naive from SQLite and aware from PostgreSQL; both mean UTC here.
"""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def rfc3339(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


# For pydantic response models: serialised with the same format as every other timestamp.
UtcDatetime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]
