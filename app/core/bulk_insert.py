"""Insert a batch of rows; on SQLite with one multi-row INSERT per chunk, not one step per row.

The batch writers (audit events, token records) run in a thread of a web process. sqlite3's
executemany runs each row's step with the GIL let go and takes it back after: on a process busy
answering requests, taking it back waits for the event loop to hand it over (up to the 5 ms
switch interval), once per row. Beside a busy thread a batch of 150 rows took 300-860 ms that
way against 22-24 ms as one statement (`python bench/gil_convoy.py`). A batch goes in statements
of as many rows as fit, then powers of two (150 rows: 128 + 16 + 4 + 2), so a table has a few
statement texts whatever the batch sizes (sqlite3 keeps 128 prepared per connection). Without
contention it costs a little less too: 11.0-11.4 vs 14.0 µs per token record, 21.0-21.6 vs
23.0-24.3 µs per audit event (the fastest of 40 transactions of 150 rows, both ways).

The values go through each column's bind processor (dates, JSON), as SQLAlchemy's insert would;
a column the rows leave out gets its scalar default (or NULL). Rows whose keys differ, a table
with a default that is not a plain value among the columns left out, and other databases take
SQLAlchemy's insert.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect

# SQLite before 3.32 allowed 999 host parameters in a statement (newer ones 32,766).
MAX_PARAMETERS = 999


@dataclass
class _Shape:
    """How rows with these keys are inserted into this table: the columns, in order, each key's
    bind processor, and the values of the defaults the rows leave out."""

    keys: tuple[str, ...]
    table: str
    columns: list[str]
    processors: list[Callable[[Any], Any] | None]
    defaults: list[Any]
    statements: dict[int, str] = field(default_factory=dict)

    @property
    def rows_per_statement(self) -> int:
        return max(1, MAX_PARAMETERS // len(self.columns))

    def statement(self, rows: int) -> str:
        found = self.statements.get(rows)
        if found is None:
            row = "(" + ",".join("?" * len(self.columns)) + ")"
            found = self.statements[rows] = (
                f"INSERT INTO {self.table} ({','.join(self.columns)}) "  # noqa: S608
                f"VALUES {','.join([row] * rows)}"  # names are the table's, quoted; values bound
            )
        return found


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that have the same keys, in the connection's transaction."""
    if not rows:
        return
    first = rows[0].keys()
    shape = None
    if connection.dialect.name == "sqlite" and all(row.keys() == first for row in rows):
        shape = _shape(connection.dialect, table, tuple(first))
    if shape is None:
        connection.execute(insert(table), list(rows))
        return
    start = 0
    while start < len(rows):
        chunk = rows[start : start + _chunk_size(len(rows) - start, shape.rows_per_statement)]
        start += len(chunk)
        values: list[Any] = []
        for row in chunk:
            for key, process in zip(shape.keys, shape.processors, strict=True):
                value = row[key]
                values.append(value if process is None else process(value))
            values.extend(shape.defaults)
        connection.exec_driver_sql(shape.statement(len(chunk)), tuple(values))


def _chunk_size(left: int, most: int) -> int:
    """The rows of the next statement: as many as fit, else a power of two, so that a shape has
    a few statement texts (sqlite3 keeps 128 prepared per connection) whatever the batch sizes."""
    if left >= most:
        return most
    return 1 << (left.bit_length() - 1)


# One per engine, table and set of row keys: a few per table (token records with and without
# their assertion's claim; one for audit events).
@functools.cache
def _shape(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Shape | None:
    if not all(key in table.c for key in keys):
        return None
    left_out: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:  # a callable or SQL default: SQLAlchemy's insert runs it
            return None
        left_out.append((column.key, column.default.arg))  # type: ignore[attr-defined]
    defaults = []
    for name, value in left_out:
        process = _processor(dialect, table, name)
        defaults.append(value if process is None else process(value))
    preparer = dialect.identifier_preparer
    return _Shape(
        keys=keys,
        table=preparer.format_table(table),  # with its schema, if any
        columns=[preparer.quote(table.c[key].name) for key in (*keys, *(n for n, _ in left_out))],
        processors=[_processor(dialect, table, key) for key in keys],
        defaults=defaults,
    )


def _processor(dialect: Dialect, table: Table, key: str) -> Callable[[Any], Any] | None:
    # The dialect's own type, as SQLAlchemy's insert binds: on SQLite a DateTime is stored as
    # text in SQLAlchemy's format; the generic type's processor is None (sqlite3's adapter
    # would write another text, "+00:00" and all, that no longer sorts with the stored ones).
    return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
