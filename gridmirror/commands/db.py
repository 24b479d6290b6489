"""``gridmirror db``: the database's schema revision, and upgrading it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from gridmirror.cli import Context


@click.group("db")
def db() -> None:
    """The gateway's database: its schema revision and migrations."""


@db.command("status")
@click.pass_obj
def status(obj: Context) -> None:
    """Print the database's schema revision and the one this gridmirror needs."""
    from gateway import migrations

    def show(engine: Engine) -> None:
        with engine.connect() as connection:
            revision = migrations.inspect_revision(connection)
        click.echo(f"database: {revision.current or '-'} ({revision.state.value})")
        click.echo(f"code:     {revision.head}")
        if revision.state not in (migrations.SchemaState.CURRENT, migrations.SchemaState.EMPTY):
            click.echo(migrations.refusal(revision))

    _with_engine(obj, show)


@db.command("upgrade")
@click.pass_obj
def upgrade(obj: Context) -> None:
    """Bring the database's schema to this gridmirror's revision (back it up first)."""
    from gateway import migrations

    def run(engine: Engine) -> None:
        before, after = migrations.upgrade(engine)
        if before.state is migrations.SchemaState.CURRENT:
            click.echo(f"database already at {after.current}: nothing to do")
        elif before.state is migrations.SchemaState.EMPTY:
            click.echo(f"database created at {after.current}")
        else:
            start = before.current or f"no revision (stamped {migrations.BASELINE})"
            click.echo(f"database upgraded: {start} -> {after.current}")

    _with_engine(obj, run)


def _with_engine(obj: Context, action: Callable[[Engine], None]) -> None:
    """Open the database named by the settings and run ``action(engine)``; errors in one line."""
    from gateway import migrations
    from gateway.db import DatabaseError, open_database

    url = obj.settings.gateway.database_url
    assert url is not None  # placed under data_dir by gridmirror.config
    try:
        database = open_database(url, synchronous=obj.settings.gateway.sqlite_synchronous)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        action(database.write)
    except migrations.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    except click.ClickException:
        raise
    except Exception as exc:  # an unreachable database, a failed migration: one line
        raise click.ClickException(f"database {url}: {type(exc).__name__}: {exc}") from None
    finally:
        database.dispose()
