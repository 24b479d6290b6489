"""``gridmirror verify READING``: check a stored reading's proof against the chain."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gateway.db import Database
    from gridmirror.cli import Context
    from gridmirror.config import Settings
    from oracle.verify import Verdict


@click.command("verify")
@click.argument("reading")
@click.pass_obj
def verify(obj: Context, reading: str) -> None:
    """Is READING on chain, provably? READING is an id or LFDI@TIME (unix seconds or ISO).

    Fetches the transaction, decodes the Oracle's event, recomputes the reading's Merkle
    leaf from the database and checks its proof up to the event's root. Prints yes or no
    with why; exits 0 for yes, 1 for no.
    """
    from gridmirror.commands.chain import _database

    settings = obj.settings
    database = _database(settings)
    try:
        verdict = asyncio.run(_verify(settings, database, reading))
    finally:
        database.dispose()
    for key, value in verdict.facts.items():
        click.echo(f"  {key}: {value}")
    click.echo(("yes: " if verdict.ok else "no: ") + verdict.reason)
    if not verdict.ok:
        raise SystemExit(1)


async def _verify(settings: Settings, database: Database, reading: str) -> Verdict:
    from oracle.chain import ChainError, open_chain
    from oracle.program import OracleProgram
    from oracle.verify import verify_reading

    try:
        chain = open_chain(settings.chain)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        return await verify_reading(database.write, chain, OracleProgram(), reading)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await chain.close()
