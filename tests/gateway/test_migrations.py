"""Schema migrations: the revisions build the models' schema, and old databases upgrade
without losing a row (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from gateway import migrations
from gateway.db import DatabaseError, open_database
from gateway.migrations import SchemaError, SchemaState
from gateway.schema import metadata
from gridmirror.cli import cli

DATA = Path(__file__).parent / "data"
ROWS_PER_TABLE = 3


def differences(engine: sqlalchemy.Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))


def make_previous_release(engine: sqlalchemy.Engine) -> None:
    """A database as gridmirror 0.1.0 made it: its create_all DDL, no revision recorded."""
    ddl = (DATA / f"schema-0.1.0-{engine.dialect.name}.sql").read_text()
    statements = [s.strip() for s in ddl.split(";")]
    with engine.begin() as connection:
        for statement in statements:
            lines = [ln for ln in statement.splitlines() if not ln.startswith("--")]
            if "".join(lines).strip():
                connection.exec_driver_sql("\n".join(lines))


def _value(column: sqlalchemy.Column[Any], row: int) -> Any:
    """A distinct, valid value for ``column`` in row ``row`` (foreign keys point at the
    parent's row of the same number)."""
    kind = column.type
    if column.foreign_keys or isinstance(kind, sqlalchemy.Integer):
        return row + 1
    if isinstance(kind, sqlalchemy.Boolean):
        return row % 2 == 0
    if isinstance(kind, sqlalchemy.Float):
        return row + 0.25
    if isinstance(kind, sqlalchemy.Numeric):
        return Decimal(f"{row}.125")
    if isinstance(kind, sqlalchemy.LargeBinary):
        return bytes([row]) * 8
    if isinstance(kind, sqlalchemy.String):
        text = f"{column.name[:4]}{row}"
        return text[: kind.length] if kind.length else text
    raise AssertionError(f"no test value for {column} of type {kind!r}")


def fill(engine: sqlalchemy.Engine) -> dict[str, list[dict[str, Any]]]:
    """Rows in every table of the database as it is now; what was written, by table."""
    reflected = sqlalchemy.MetaData()
    reflected.reflect(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as connection:
        for table in reflected.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [
                {column.name: _value(column, row) for column in table.columns}
                for row in range(ROWS_PER_TABLE)
            ]
            connection.execute(table.insert(), rows)
            written[table.name] = rows
    return written


def rows_of(engine: sqlalchemy.Engine, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        quoted = ", ".join(f'"{c}"' for c in columns)
        result = connection.exec_driver_sql(f'SELECT {quoted} FROM "{table}" ORDER BY 1')
        return [tuple(r) for r in result]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def assert_kept(engine: sqlalchemy.Engine, written: dict[str, list[dict[str, Any]]]) -> None:
    """Every row written before the upgrade is there after it, with its values."""
    now = sqlalchemy.inspect(engine)
    present = set(now.get_table_names())
    for table, rows in written.items():
        assert table in present, f"the upgrade dropped table {table}"
        kept = {c["name"] for c in now.get_columns(table)}
        columns = [c for c in rows[0] if c in kept]
        found = rows_of(engine, table, columns)
        expected = sorted(tuple(r[c] for c in columns) for r in rows)
        assert len(found) == len(expected), f"{table}: {len(found)} rows, wrote {len(expected)}"
        for got, want in zip(found, expected, strict=True):
            assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (table, got, want)


# --------------------------------------------------------------------------- the tests


def test_the_migrations_build_exactly_what_the_models_describe(database_url: str) -> None:
    database = open_database(database_url)
    try:
        database.ensure_schema()
        assert differences(database.write) == []
        with database.write.connect() as connection:
            revision = migrations.inspect_revision(connection)
        assert revision.state is SchemaState.CURRENT
        assert revision.current == migrations.head()
    finally:
        database.dispose()


def test_the_checker_sees_a_model_the_migrations_lack(database_url: str) -> None:
    """The comparison above can fail: a column the migrations never added shows."""
    database = open_database(database_url)
    try:
        database.ensure_schema()
        with database.write.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE outbox DROP COLUMN last_error")
        found = differences(database.write)
        assert any("last_error" in repr(d) for d in found), found
    finally:
        database.dispose()


def test_the_previous_release_s_schema_is_the_baseline(database_url: str) -> None:
    """0.1.0's create_all DDL and the baseline revision describe the same tables."""
    database = open_database(database_url)
    try:
        make_previous_release(database.write)
        with database.write.begin() as connection:
            command.stamp(migrations.alembic_config(connection), migrations.BASELINE)
            baseline = migrations._scripts().get_revision(migrations.BASELINE).module
        tables = set(sqlalchemy.inspect(database.write).get_table_names()) - {"alembic_version"}
        assert tables == set(baseline.TABLE_NAMES)
        if migrations.head() == migrations.BASELINE:  # later revisions change the models
            assert differences(database.write) == []
    finally:
        database.dispose()


def test_a_database_of_the_previous_release_upgrades_without_losing_a_row(
    database_url: str,
) -> None:
    database = open_database(database_url)
    try:
        make_previous_release(database.write)
        written = fill(database.write)
        assert sum(len(rows) for rows in written.values()) == ROWS_PER_TABLE * len(written) > 0
        with pytest.raises(DatabaseError, match="gridmirror db upgrade"):
            database.ensure_schema()
        before, after = migrations.upgrade(database.write)
        assert (before.state, after.state) == (SchemaState.LEGACY, SchemaState.CURRENT)
        assert_kept(database.write, written)
        assert differences(database.write) == []
        database.ensure_schema()  # now it starts
    finally:
        database.dispose()


def test_every_revision_upgrades_to_head_keeping_its_rows(database_url: str) -> None:
    """From each revision older than head (none while the baseline is the only one, then
    the previous-release test above is the whole story), rows survive the upgrade."""
    scripts = migrations._scripts()
    older = [s.revision for s in scripts.walk_revisions() if s.revision != migrations.head()]
    for revision in older:
        database = open_database(database_url)
        try:
            with database.write.begin() as connection:
                # dependants first: the previous round's rows hold foreign keys
                present = sqlalchemy.MetaData()
                present.reflect(connection)
                for table in reversed(present.sorted_tables):
                    connection.exec_driver_sql(
                        f'DROP TABLE IF EXISTS "{table.name}" CASCADE'
                        if connection.dialect.name == "postgresql"
                        else f'DROP TABLE IF EXISTS "{table.name}"'
                    )
                command.upgrade(migrations.alembic_config(connection), revision)
            written = fill(database.write)
            with pytest.raises(DatabaseError, match="gridmirror db upgrade"):
                database.ensure_schema()
            migrations.upgrade(database.write)
            assert_kept(database.write, written)
        finally:
            database.dispose()


def test_a_database_from_newer_code_is_refused(database_url: str) -> None:
    database = open_database(database_url)
    try:
        database.ensure_schema()
        with database.write.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
        with pytest.raises(DatabaseError, match=r"9999_future.*newer gridmirror"):
            database.ensure_schema()
        with pytest.raises(SchemaError, match="newer gridmirror"):
            migrations.upgrade(database.write)
    finally:
        database.dispose()


def test_a_foreign_database_is_not_stamped(database_url: str) -> None:
    database = open_database(database_url)
    try:
        with database.write.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE outbox (id INTEGER PRIMARY KEY)")
        with pytest.raises(SchemaError, match="not made by gridmirror"):
            migrations.upgrade(database.write)
        with database.write.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None
    finally:
        database.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_processes_starting_together_create_one_schema(database_url: str) -> None:
    """PostgreSQL's advisory lock (SQLite serialises on BEGIN IMMEDIATE)."""
    errors: list[BaseException] = []
    databases = [open_database(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))

    def start(database: Any) -> None:
        try:
            barrier.wait()
            database.ensure_schema()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert differences(databases[0].write) == []
    finally:
        for d in databases:
            d.dispose()


def test_the_cli_upgrades_and_the_others_refuse_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = open_database(url)
    make_previous_release(database.write)
    written = fill(database.write)
    database.dispose()
    env = {"GRIDMIRROR_DATA_DIR": str(tmp_path / "data"), "GRIDMIRROR_GATEWAY__DATABASE_URL": url}
    runner = CliRunner()
    for args in (["chain", "status"], ["gateway", "register-device", "--lfdi", "AB" * 20]):
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert "run `gridmirror db upgrade` first" in result.output
        assert "Traceback" not in result.output
    result = runner.invoke(cli, ["db", "status"], env=env)
    assert result.exit_code == 0 and "(legacy)" in result.output, result.output
    result = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert f"stamped {migrations.BASELINE}" in result.output
    result = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert "nothing to do" in result.output
    database = open_database(url)
    try:
        assert_kept(database.write, written)
    finally:
        database.dispose()
    result = runner.invoke(cli, ["chain", "status"], env=env)
    assert result.exit_code == 0, result.output


def test_db_upgrade_on_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {
        "GRIDMIRROR_DATA_DIR": str(tmp_path),
        "GRIDMIRROR_GATEWAY__DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert (
        result.output.startswith("Error: database postgresql") and "Traceback" not in result.output
    )
