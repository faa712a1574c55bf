"""Insert a batch of rows; on SQLite with one multi-row INSERT per chunk, not one step per row.

The batch writers (audit events, token records) run in a thread of a web process. sqlite3's
executemany runs each row's step with the GIL let go and takes it back after: on a process busy
answering requests, taking it back waits for the event loop to hand it over (up to the 5 ms
switch interval), once per row. Beside a busy thread a batch of 150 rows took 350-860 ms that
way against 22 ms as one statement (`python bench/gil_convoy.py`), and a web process under the
token load made ~17% fewer context switches per token with one statement per chunk. Without
contention it is cheaper too: 11.7 vs 16.0 µs per token record, 20.9 vs 26.5 µs per audit event
(a transaction of 150 rows, this machine).

The values go through each column's bind processor (dates, JSON), as SQLAlchemy's insert would;
a column the rows leave out gets its scalar default (or NULL). Rows whose keys differ, a table
with a default that is not a plain value among the columns left out, and other databases take
SQLAlchemy's insert.
"""

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


_shapes: dict[tuple[Dialect, Table, tuple[str, ...]], _Shape | None] = {}


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that have the same keys, in the connection's transaction."""
    if not rows:
        return
    keys = tuple(rows[0])
    shape = None
    if connection.dialect.name == "sqlite" and all(len(row) == len(keys) for row in rows):
        shape = _shape(connection.dialect, table, keys)
    if shape is None:
        connection.execute(insert(table), list(rows))
        return
    step = shape.rows_per_statement
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        values: list[Any] = []
        for row in chunk:
            for key, process in zip(keys, shape.processors, strict=True):
                value = row[key]  # a row with other keys than the first's: KeyError, no write
                values.append(value if process is None else process(value))
            values.extend(shape.defaults)
        connection.exec_driver_sql(shape.statement(len(chunk)), tuple(values))


def _shape(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Shape | None:
    cache_key = (dialect, table, keys)
    if cache_key not in _shapes:
        _shapes[cache_key] = _new_shape(dialect, table, keys)
    return _shapes[cache_key]


def _new_shape(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Shape | None:
    if not all(key in table.c for key in keys):
        return None
    left_out: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.name in keys or column.default is None:
            continue
        if not column.default.is_scalar:  # a callable or SQL default: SQLAlchemy's insert runs it
            return None
        left_out.append((column.name, column.default.arg))  # type: ignore[attr-defined]
    defaults = []
    for name, value in left_out:
        process = table.c[name].type.bind_processor(dialect)
        defaults.append(value if process is None else process(value))
    quote = dialect.identifier_preparer.quote
    return _Shape(
        table=quote(table.name),
        columns=[quote(name) for name in (*keys, *(name for name, _ in left_out))],
        processors=[table.c[key].type.bind_processor(dialect) for key in keys],
        defaults=defaults,
    )
