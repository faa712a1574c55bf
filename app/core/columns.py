"""Column helpers shared by the table modules."""

import secrets
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import JSON, Column, DateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def new_id(prefix: str) -> str:
    """A public identifier: a type prefix and 16 random bytes, URL-safe."""
    return f"{prefix}{secrets.token_hex(12)}"


def json_column() -> Any:
    return Column(JSON, nullable=False)


def json_column_nullable() -> Any:
    return Column(JSON, nullable=True)


def tz_column(nullable: bool = False, index: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)
