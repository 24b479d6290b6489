"""Settlements as the chain has them, whoever cranked ``clear_epoch``.

Anyone may clear an epoch (docs/chain-abi.md), so the ``settlement`` table cannot be
filled only from the worker's own transactions: a third party's crank moves a meter's
watermarks and mints to its owner, and the worker then sees only "already cleared". The
database therefore follows the Meter accounts. Each account counts its settlements and
keeps its last one as its MeterSettled event said it (epoch, registers, deltas, minted);
the settlement rows of a meter count the settlements they stand for. When the account
is ahead of the database:

- by one settlement: that settlement is recorded exactly, from the account;
- by several (they happened while nobody looked): one row for the last of them carries
  all of them together: registers and minted exact, deltas from the last recorded row
  (or the baseline) to the account's watermarks; ``settlements`` says how many it stands
  for. Totals stay exact; only the attribution to epochs of the unseen ones is lost.

The worker looks before every clearing round, so a third party's crank is normally
seen one at a time. Rows from accounts carry no signature (the account does not name
the transaction); rows from the worker's own clearings come from its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from anchor.abi import NO_EPOCH
from anchor.accounts import MeterAccount
from oracle.records import Settlement, SettlementSource, add_settlements


@dataclass(frozen=True)
class RecordedMeter:
    """What the settlement rows of one meter add up to."""

    settlements: int
    minted_wh: int
    withheld_wh: int
    last_epoch: int  # NO_EPOCH: no row
    import_wh: int  # registers of the last row
    export_wh: int


def recorded(engine: Engine, lfdis: Sequence[str]) -> dict[str, RecordedMeter]:
    """The settlement rows' totals and last registers, per meter (meters with rows)."""
    if not lfdis:
        return {}
    with Session(engine) as session:
        totals = session.execute(
            columns(
                col(Settlement.lfdi),
                func.sum(Settlement.settlements),
                func.sum(Settlement.minted_wh),
                func.sum(Settlement.withheld_wh),
                func.max(Settlement.epoch),
            )
            .where(col(Settlement.lfdi).in_(list(lfdis)))
            .group_by(col(Settlement.lfdi))
        ).all()
        out: dict[str, RecordedMeter] = {}
        for lfdi, count, minted, withheld, last in totals:
            row = session.exec(
                select(Settlement).where(
                    col(Settlement.lfdi) == lfdi, col(Settlement.epoch) == last
                )
            ).one()
            out[lfdi] = RecordedMeter(
                int(count), int(minted), int(withheld), int(last), row.import_wh, row.export_wh
            )
    return out


def unseen_settlement(
    lfdi: str, meter: MeterAccount, known: RecordedMeter | None, *, now: float
) -> dict[str, object] | None:
    """The settlement row the account shows and the database lacks, or None."""
    count = 0 if known is None else known.settlements
    missing = meter.settlements - count
    if missing <= 0 or meter.last_cleared_epoch == NO_EPOCH:
        return None
    if known is not None and meter.last_cleared_epoch <= known.last_epoch:
        return None  # cannot happen (epochs only move forward); never overwrite a row
    if missing == 1:
        import_delta, export_delta = meter.last_import_delta_wh, meter.last_export_delta_wh
        minted = meter.last_minted_wh
    else:
        before = (
            (meter.baseline_import_wh, meter.baseline_export_wh)
            if known is None
            else (known.import_wh, known.export_wh)
        )
        import_delta = meter.settled_import_wh - before[0]
        export_delta = meter.settled_export_wh - before[1]
        minted = meter.minted_wh - (0 if known is None else known.minted_wh)
    withheld = meter.withheld_wh - (0 if known is None else known.withheld_wh)
    return {
        "epoch": meter.last_cleared_epoch,
        "lfdi": lfdi,
        "owner": str(meter.owner),
        "import_wh": meter.settled_import_wh,
        "export_wh": meter.settled_export_wh,
        "import_delta_wh": import_delta,
        "export_delta_wh": export_delta,
        "net_export_wh": export_delta - import_delta,
        "minted_wh": minted,
        "withheld_wh": withheld,
        "settlements": missing,
        "source": SettlementSource.ACCOUNT.value,
        "signature": None,
        "slot": None,
        "recorded_at": now,
    }


def follow(engine: Engine, meters: Sequence[tuple[str, MeterAccount]], *, now: float) -> int:
    """Record the settlements the Meter accounts show and the database lacks; how many
    rows were added."""
    known = recorded(engine, [lfdi for lfdi, _ in meters])
    rows = [
        row
        for lfdi, meter in meters
        if (row := unseen_settlement(lfdi, meter, known.get(lfdi), now=now)) is not None
    ]
    if not rows:
        return 0
    with Session(engine) as session, session.begin():
        add_settlements(session, rows)
    return len(rows)
