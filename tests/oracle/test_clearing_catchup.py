"""A fleet that delivers a past window late (catching up, or replaying a day) is settled
epoch by epoch as its readings arrive, not all in the first epoch cleared after them; a
fleet that falls silent holds nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import sqlalchemy
from sqlmodel import Session, select

from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.timesource import ManualTime
from oracle.clearing import FRONTIER_TTL_S
from oracle.outbox import OutboxEntry
from oracle.records import EpochClearing, Settlement
from tests.oracle.harness import (
    START,
    Fleet,
    bridge_settings,
    check_converged,
    check_settlements,
    open_bridge,
)

E0 = START // 900


def cleared(engine: sqlalchemy.Engine) -> list[int]:
    with Session(engine) as s:
        return sorted(e.epoch - E0 for e in s.exec(select(EpochClearing)))


async def test_a_late_fleet_is_settled_in_the_epochs_it_produced_in(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    clock.advance(3 * 3600)  # the chain is at START + 4 h; the fleet delivers from START
    settings = bridge_settings(tmp_path, clearing_catchup_s=6 * 3600)
    bridge = await open_bridge(engine, embedded, settings)
    # The gateway's clock (pairs are stamped accepted_at by the wall clock), moved by hand
    # past the clearer's FRONTIER_TTL_S so that each crank below reads a fresh frontier.
    ahead = [0.0]
    bridge.clearer.clock = lambda: time.time() + ahead[0]
    fleet = Fleet(3)

    posted = fleet.post(engine, START + 15, 60)  # (START, START + 900]: epoch 0 complete
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    assert cleared(engine) == [0]  # epoch 1 waits: the meters still deliver, behind it

    posted += fleet.post(engine, START + 915, 120)  # up to START + 2700: epochs 1 and 2
    ahead[0] += FRONTIER_TTL_S
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    assert cleared(engine) == [0, 1, 2]
    assert await check_converged(bridge) == {"confirmed": posted}

    # each epoch settled the registers of its own last reading
    settlements = await check_settlements(bridge)
    with Session(engine) as s:
        pairs = {(r.lfdi, r.timestamp): r for r in s.exec(select(OutboxEntry))}
    assert {x.epoch - E0 for x in settlements} == {0, 1, 2}
    for settlement in settlements:
        end = (settlement.epoch + 1) * 900
        row = pairs[(settlement.lfdi, end)]
        assert (settlement.import_wh, settlement.export_wh) == (row.import_wh, row.export_wh)

    # the meters fall silent (nothing stored for ten minutes): the epochs behind the
    # chain's clock are cleared without them
    ahead[0] += 600
    now_epoch = (START + 4 * 3600 - 20) // 900 - 1 - E0
    assert await bridge.clearer.crank(bridge.worker.id) == [E0 + e for e in range(3, now_epoch + 1)]


async def test_without_catch_up_every_ended_epoch_is_cleared_at_once(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    clock.advance(3 * 3600)
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path, clearing_catchup_s=0))
    Fleet(2).post(engine, START + 15, 60)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    assert len(cleared(engine)) > 3
    with Session(engine) as s:
        assert len(list(s.exec(select(Settlement)))) == 2  # epoch 0's meters, once each
