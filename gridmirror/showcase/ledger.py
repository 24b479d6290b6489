"""What the gateway's database says about the way to the chain, read in one go.

The demo's view needs, per meter, how many register pairs the chain confirmed and how
much energy was minted for it, and overall the outbox by state and the epochs cleared.
Three grouped queries over the outbox, the settlements and the clearings; no writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from oracle.outbox import OutboxEntry, OutboxState
from oracle.records import EpochClearing, Settlement


@dataclass(frozen=True)
class Ledger:
    """The database's figures at one moment (register pairs, Wh)."""

    states: dict[str, int] = field(default_factory=dict)
    """Outbox rows per state (every OutboxState present)."""
    confirmed_by_meter: dict[str, int] = field(default_factory=dict)
    """Confirmed register pairs by LFDI."""
    minted_wh_by_meter: dict[str, int] = field(default_factory=dict)
    """Energy tokens minted (Wh) by LFDI."""
    epochs_cleared: int = 0

    @property
    def accepted(self) -> int:
        """Register pairs the gateway stored for the chain."""
        return sum(self.states.values())

    @property
    def confirmed(self) -> int:
        """Register pairs confirmed on chain."""
        return self.states.get(OutboxState.CONFIRMED.value, 0)

    @property
    def open(self) -> int:
        """Register pairs still on their way (pending or in flight)."""
        return self.states.get(OutboxState.PENDING.value, 0) + self.states.get(
            OutboxState.IN_FLIGHT.value, 0
        )

    @property
    def dead(self) -> int:
        """Dead letters (failed too often; `gridmirror chain redrive` puts them back)."""
        return self.states.get(OutboxState.DEAD.value, 0)

    @property
    def minted_wh(self) -> int:
        """Energy tokens minted in all (Wh)."""
        return sum(self.minted_wh_by_meter.values())


def read_ledger(engine: Engine) -> Ledger:
    """The ledger as the database has it now (one read transaction)."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(OutboxEntry.lfdi), col(OutboxEntry.state), func.count()).group_by(
                col(OutboxEntry.lfdi), col(OutboxEntry.state)
            )
        ).all()
        minted = session.execute(
            select(col(Settlement.lfdi), func.sum(col(Settlement.minted_wh))).group_by(
                col(Settlement.lfdi)
            )
        ).all()
        epochs = session.execute(select(func.count()).select_from(EpochClearing)).scalar_one()
    states = {s.value: 0 for s in OutboxState}
    confirmed: dict[str, int] = {}
    for lfdi, state, n in rows:
        states[state] = states.get(state, 0) + int(n)
        if state == OutboxState.CONFIRMED.value:
            confirmed[lfdi] = int(n)
    return Ledger(
        states=states,
        confirmed_by_meter=confirmed,
        minted_wh_by_meter={lfdi: int(wh or 0) for lfdi, wh in minted},
        epochs_cleared=int(epochs),
    )
