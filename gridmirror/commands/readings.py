"""``gridmirror readings``: the register pairs the gateway stored, newest first, with what
the chain made of them; the ids and ``LFDI@TIME`` names ``gridmirror verify`` takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gridmirror.cli import Context

# oracle.outbox.OutboxState, spelled out so `--help` need not import the models.
STATES = ("pending", "in_flight", "confirmed", "duplicate", "rejected", "dead")


@click.command("readings")
@click.option("--lfdi", help="Only this meter's readings (40 hex digits).")
@click.option("--state", type=click.Choice(STATES), help="Only readings in this state.")
@click.option(
    "--limit", default=10, show_default=True, type=click.IntRange(1, 10_000), help="How many."
)
@click.pass_obj
def readings(obj: Context, lfdi: str | None, state: str | None, limit: int) -> None:
    """The newest register pairs (import/export Wh at one time) in the outbox.

    One line each: the id, LFDI@time (both are what `gridmirror verify` takes), the
    registers, and the outbox state with the transaction's slot once on chain.
    """
    from sqlmodel import Session, col, select

    from gridmirror.commands.chain import _database
    from oracle.outbox import OutboxEntry
    from sep2.identity import IdentityError, normalise_lfdi

    query = select(OutboxEntry)
    if lfdi is not None:
        try:
            query = query.where(OutboxEntry.lfdi == normalise_lfdi(lfdi))
        except IdentityError as exc:
            raise click.BadParameter(str(exc), param_hint="--lfdi") from None
    if state is not None:
        query = query.where(OutboxEntry.state == state)
    query = query.order_by(col(OutboxEntry.timestamp).desc(), col(OutboxEntry.id).desc())
    database = _database(obj.settings)
    try:
        with Session(database.read) as session:
            rows = list(session.exec(query.limit(limit)))
    finally:
        database.dispose()
    if not rows:
        click.echo("no readings stored yet" if lfdi is None and state is None else "none match")
        return
    for row in rows:
        at = datetime.fromtimestamp(row.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        where = f" slot {row.slot}" if row.slot is not None else ""
        click.echo(
            f"{row.id}  {row.lfdi}@{at}  import {row.import_wh} Wh  export {row.export_wh} Wh"
            f"  {row.state}{where}"
        )
