"""Durations as people write them: "10m", "90s", "1h", or a number of seconds."""

import re

from app.core.errors import RuleViolation

_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object, *, field: str, minimum: int = 1, maximum: int) -> int:
    if isinstance(value, bool):
        raise RuleViolation(f"{field} must be a duration like '10m', '90s' or a number of seconds")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = int(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise RuleViolation(f"{field} must be a duration like '10m', '90s' or a number of seconds")
    if not minimum <= seconds <= maximum:
        raise RuleViolation(f"{field} must be between {minimum} and {maximum} seconds")
    return seconds
