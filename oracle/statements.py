"""SQL written once for SQLite and PostgreSQL, and the one primitive that runs it.

The write paths (the gateway's ingest, the outbox, the worker's leases and settlements)
run a few statements many times. Through SQLAlchemy each costs about 60 µs of Python
before SQLite spends 5 µs on it; on the driver's own connection, inside the session's
transaction (``session.connection().connection.driver_connection``), the statement costs
next to nothing. So these statements are SQL text with ``:name`` parameters, rewritten
once to ``%(name)s`` for psycopg. Both databases take the same ``INSERT ... ON CONFLICT``
(SQLite since 3.24), so an upsert has no dialect switch: :func:`upsert` writes it once.

:func:`run` and :func:`run_many` are the only way to such a connection. A statement knows
from its text whether it writes (anything but a ``SELECT``), and running one that does
records it in the connection's info (:func:`record_write`), where the gateway's group
committer looks (:func:`writes`) to tell a job that refused before writing (the batch
goes on) from one that refused after (the batch is rolled back). No call site counts, so
a new write cannot forget to; statements SQLAlchemy runs are recorded by the committer's
cursor hook through the same :func:`record_write`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from sqlmodel import Session

_PARAM = re.compile(r":(\w+)")
_WROTE = "gridmirror.wrote"  # Connection.info key: writing statements run so far
_DRIVER = "gridmirror.driver"  # Session.info key: (transaction, driver, dialect, info)


def is_write(sql: str) -> bool:
    """Whether a statement changes the database (anything but SELECT, BEGIN, PRAGMA)."""
    return not sql.lstrip()[:6].upper().startswith(("SELECT", "BEGIN", "PRAGMA"))


def record_write(info: MutableMapping[str, Any]) -> None:
    """Record in a connection's ``info`` that its transaction ran a writing statement."""
    info[_WROTE] = info.get(_WROTE, 0) + 1


def writes(info: Mapping[str, Any]) -> int:
    """How many writing statements have been recorded in a connection's ``info``."""
    return int(info.get(_WROTE, 0))


class Statement:
    """One statement in both parameter styles, and whether it writes."""

    __slots__ = ("postgresql", "sqlite", "writes")

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = _PARAM.sub(r"%(\1)s", sql)
        self.writes = is_write(sql)

    def text(self, dialect: str) -> str:
        """The statement for ``dialect`` (``sqlite`` or ``postgresql``)."""
        return self.postgresql if dialect == "postgresql" else self.sqlite


def upsert(
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    *,
    update: Sequence[str] | None = None,
    where: str | None = None,
) -> Statement:
    """``INSERT`` of ``columns`` (parameters of the same names) that, on a row with the
    same ``key``, overwrites ``update`` (default: every column not in the key) when
    ``where`` holds; ``update=()``: keeps the row there (``DO NOTHING``)."""
    if update is None:
        update = [c for c in columns if c not in key]
    # Built from the callers' constant names only; values always travel as parameters.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) "
    )
    if not update:
        return Statement(sql + "DO NOTHING")
    sql += "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
    return Statement(sql + (f" WHERE {where}" if where else ""))


_IN_LISTS_KEPT = 64


class InList:
    """A statement with an ``IN`` list of ``n`` parameters (``prefix`` 0 to n-1), built once
    per n."""

    __slots__ = ("_built", "_prefix", "_template")

    def __init__(self, template: str, prefix: str) -> None:
        self._template = template  # with {in_list} where the parameters go
        self._prefix = prefix
        self._built: dict[int, tuple[Statement, tuple[str, ...]]] = {}

    def get(self, n: int) -> tuple[Statement, tuple[str, ...]]:
        """The statement for ``n`` values and the names of their parameters."""
        built = self._built.get(n)
        if built is None:
            names = tuple(f"{self._prefix}{i}" for i in range(n))
            sql = self._template.format(in_list=", ".join(":" + x for x in names))
            built = (Statement(sql), names)
            if n <= _IN_LISTS_KEPT:  # the usual few lengths; a rare long list is built anew
                self._built[n] = built
        return built


def dialect_of(session: Session) -> str:
    """``sqlite`` or ``postgresql``: the database of the session's transaction."""
    return _driver(session)[1]


def run(session: Session, statement: Statement, params: Mapping[str, Any]) -> list[Any]:
    """Run ``statement`` once in the session's transaction; its rows (none for a write
    without RETURNING)."""
    driver, dialect, info = _driver(session)
    if statement.writes:
        record_write(info)  # before: a write that fails half-way has still begun
    cursor = driver.execute(statement.text(dialect), params)
    return cursor.fetchall() if cursor.description is not None else []


def run_many(session: Session, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a writing ``statement`` for each of ``rows`` in the session's transaction."""
    if not rows:
        return
    driver, dialect, info = _driver(session)
    if statement.writes:
        record_write(info)
    cursor = driver.cursor()
    try:
        cursor.executemany(statement.text(dialect), rows)
    finally:
        cursor.close()


def _driver(session: Session) -> tuple[Any, str, dict[str, Any]]:
    """The DBAPI connection of the session's transaction, its dialect and its info."""
    # Remembered for the transaction: Session.connection() costs more than most of the
    # statements it serves, and a readings POST asks several times.
    transaction = session.get_transaction()
    cached = session.info.get(_DRIVER)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2], cached[3]
    connection = session.connection()
    found = connection.connection.driver_connection, connection.dialect.name, connection.info
    session.info[_DRIVER] = (session.get_transaction(), *found)
    return found
