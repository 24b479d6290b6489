"""Schema migrations (alembic): the one way the database's tables change.

The revisions live in ``versions/``; the first, ``0001_baseline``, is the schema every
database had before migrations existed. A database is in one of these states:

| state   | what is there                                | start-up        | ``db upgrade``    |
|---------|----------------------------------------------|-----------------|-------------------|
| empty   | none of our tables                           | created at head | created at head   |
| legacy  | the baseline's tables, no revision recorded  | refused         | stamped, upgraded |
| behind  | a revision older than the code's head        | refused         | upgraded          |
| current | the code's head                              | runs            | nothing to do     |
| ahead   | a revision this code does not know (newer)   | refused         | refused           |

Start-up creates an *empty* database itself, so the defaults just work, but never alters
an existing one behind the operator's back: that is ``gridmirror db upgrade``'s job (take
a backup first). Both run in one transaction: PostgreSQL rolls a failed migration back
whole (its DDL is transactional) and holds an advisory lock, so two processes starting
on one database cannot both create it; SQLite's ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from gateway.schema import TABLES

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"
UPGRADE_COMMAND = "gridmirror db upgrade"
# pg_advisory_xact_lock key: "gridmirror schema" in a bigint
_PG_LOCK = 0x67_72_69_64_73_63_68


class SchemaState(StrEnum):
    """Where a database's schema stands against this code (see the module's table)."""

    EMPTY = "empty"
    LEGACY = "legacy"
    BEHIND = "behind"
    CURRENT = "current"
    AHEAD = "ahead"


class SchemaError(Exception):
    """The database cannot be used by this code as it is; the message is one line."""


@dataclass(frozen=True)
class Revision:
    """What a database holds and what this code expects."""

    state: SchemaState
    current: str | None
    head: str


def alembic_config(connection: Connection | None = None) -> Config:
    """alembic's configuration for our revisions, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this code knows."""
    found = _scripts().get_current_head()
    if found is None:  # pragma: no cover - the baseline always exists
        raise SchemaError("no migrations found")
    return found


def inspect_revision(connection: Connection) -> Revision:
    """The state of the database on ``connection``."""
    current = MigrationContext.configure(connection).get_current_revision()
    newest = head()
    if current is None:
        present = set(inspect(connection).get_table_names())
        ours = {table.name for table in TABLES}
        if not present & ours:
            return Revision(SchemaState.EMPTY, None, newest)
        return Revision(SchemaState.LEGACY, None, newest)
    if current == newest:
        return Revision(SchemaState.CURRENT, current, newest)
    try:
        known = {script.revision for script in _scripts().walk_revisions()}
    except Exception:  # pragma: no cover - a broken revision graph is a packaging error
        known = set()
    if current in known:
        return Revision(SchemaState.BEHIND, current, newest)
    return Revision(SchemaState.AHEAD, current, newest)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})


def _legacy_is_baseline(connection: Connection) -> None:
    """Refuse to stamp a revision-less database that does not hold the baseline's tables."""
    present = set(inspect(connection).get_table_names())
    missing = sorted({table.name for table in TABLES} - present)
    # Tables added after the baseline may be missing; the baseline's own may not.
    baseline_tables = _baseline_tables()
    lacking = sorted(set(missing) & baseline_tables)
    if lacking:
        raise SchemaError(
            "the database has some of gridmirror's tables but not "
            f"{', '.join(lacking)} and no schema revision: it was not made by gridmirror"
        )


@cache
def _baseline_tables() -> frozenset[str]:
    module = _scripts().get_revision(BASELINE).module
    return frozenset(module.TABLE_NAMES)


def ensure_current(engine: Engine) -> Revision:
    """At start-up: create an empty database at head, accept a current one, refuse others.

    Raises :class:`SchemaError` with the command to run when the database is behind.
    """
    with engine.begin() as connection:
        _lock(connection)
        revision = inspect_revision(connection)
        if revision.state is SchemaState.EMPTY:
            command.upgrade(alembic_config(connection), "head")
            return Revision(SchemaState.CURRENT, revision.head, revision.head)
        if revision.state is SchemaState.CURRENT:
            return revision
    raise SchemaError(refusal(revision))


def refusal(revision: Revision) -> str:
    """The one line that says why a database cannot be used as it is, and what to do."""
    if revision.state is SchemaState.LEGACY:
        return (
            "the database was made before schema migrations (no revision recorded): "
            f"run `{UPGRADE_COMMAND}` first"
        )
    if revision.state is SchemaState.BEHIND:
        return (
            f"the database schema is at revision {revision.current}, this gridmirror "
            f"needs {revision.head}: run `{UPGRADE_COMMAND}` first"
        )
    return (
        f"the database schema is at revision {revision.current}, which this gridmirror "
        f"does not know (its newest is {revision.head}): it was upgraded by a newer "
        "gridmirror; run that one"
    )


def upgrade(engine: Engine) -> tuple[Revision, Revision]:
    """Bring the database to head (``gridmirror db upgrade``); the states before and after."""
    with engine.begin() as connection:
        _lock(connection)
        before = inspect_revision(connection)
        if before.state is SchemaState.AHEAD:
            raise SchemaError(refusal(before))
        config = alembic_config(connection)
        if before.state is SchemaState.LEGACY:
            _legacy_is_baseline(connection)
            command.stamp(config, BASELINE)
        if before.state is not SchemaState.CURRENT:
            command.upgrade(config, "head")
        after = inspect_revision(connection)
    return before, after
