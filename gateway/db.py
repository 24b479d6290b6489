"""The database: engines, SQLite pragmas, sessions and schema creation.

SQLite (the default) runs in WAL mode, so readers never wait for the writer, with
``synchronous`` FULL (a commit survives a power cut) or NORMAL (a commit survives a killed
process; the last commits may be lost in a power cut), as configured. pysqlite's own
transaction handling is switched off and we emit ``BEGIN`` ourselves: ``BEGIN IMMEDIATE``
on the write engine, so a writer takes SQLite's write lock before it reads and never fails
half-way on a lock upgrade (another process, e.g. ``register-device``, simply waits up
to ``busy_timeout``), and a plain deferred ``BEGIN`` on the read engine, so a GET sees one
consistent snapshot. PostgreSQL needs none of this; both engines are then the same.

The schema is made and changed by migrations only (``gateway.migrations``): at start an
empty database is created at the code's revision, and a database behind it is refused
with the command that upgrades it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from gateway import migrations

BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """The database URL cannot be used; one line for the CLI."""


@dataclass
class Database:
    """The engines of one database: ``write`` for the single writer, ``read`` for GETs."""

    url: str
    write: Engine
    read: Engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write.dialect.name

    def ensure_schema(self) -> None:
        """Create an empty database at the code's revision, or check that it is there.

        Raises :class:`DatabaseError` (one line, naming ``gridmirror db upgrade``) when the
        database is behind or ahead of the code.
        """
        try:
            migrations.ensure_current(self.write)
        except migrations.SchemaError as exc:
            raise DatabaseError(str(exc)) from None

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads: one snapshot, rolled back at the end."""
        with Session(self.read, autoflush=False, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session in one transaction, committed at the end (rolled back on error)."""
        with Session(self.write, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def open_database(
    url: str,
    *,
    synchronous: Literal["normal", "full"] = "full",
    pool_size: int = 8,
) -> Database:
    """Engines for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"bad database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise DatabaseError("an in-memory SQLite database cannot be shared; give a file")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        write = _sqlite_engine(url, synchronous, begin="BEGIN IMMEDIATE", pool_size=2)
        read = _sqlite_engine(url, synchronous, begin="BEGIN", pool_size=pool_size)
        return Database(url, write, read)
    if backend == "postgresql":
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        return Database(url, engine, engine)
    raise DatabaseError(f"the gateway stores in SQLite or PostgreSQL, not {backend}")


def _sqlite_engine(url: str, synchronous: str, *, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine
