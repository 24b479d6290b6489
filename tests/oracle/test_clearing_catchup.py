"""A fleet that delivers a past window late (catching up, or replaying a day) is settled
epoch by epoch as its readings arrive, not all in the first epoch cleared after them,
however long after the epochs' ends that is; a fleet that falls silent (or stops moving
forward) holds nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import sqlalchemy
from sqlmodel import Session, select

from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.timesource import ManualTime
from oracle.clearing import FRONTIER_TTL_S, delivery_frontier
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
    settings = bridge_settings(tmp_path, clearing_silence_s=120)
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

    # hours after these epochs ended (the old 600 s catch-up limit is long past) they
    # still wait for the meters, which keep delivering
    clock.advance(3 * 3600)
    ahead[0] += FRONTIER_TTL_S
    await bridge.clearer.crank(bridge.worker.id)
    assert cleared(engine) == [0]

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
    now_epoch = (START + 7 * 3600 - 20) // 900 - 1 - E0
    assert await bridge.clearer.crank(bridge.worker.id) == [E0 + e for e in range(3, now_epoch + 1)]


async def test_a_meter_not_moving_forward_holds_nothing(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    # meters whose clocks are stuck: the gateway stores a new reading of each now, but it
    # is older than the newest one it stored of them (ten minutes ago)
    clock.advance(3 * 3600)
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path, clearing_silence_s=120))
    Fleet(2).post(engine, START + 15, 60, now=lambda: time.time() - 600)
    with Session(engine) as s, s.begin():
        for row in list(s.exec(select(OutboxEntry).where(OutboxEntry.timestamp == START + 30))):
            fresh = {**row.model_dump(exclude={"id"}), "timestamp": START + 31}
            s.add(OutboxEntry(**{**fresh, "accepted_at": time.time()}))
    assert delivery_frontier(engine, since=time.time() - 120) is None
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)  # it cranks too
    assert len(cleared(engine)) > 3
    # the same meters moving forward would hold every epoch past their newest reading
    Fleet(2, seed=8).post(engine, START + 915 + 7_200, 1)
    assert delivery_frontier(engine, since=time.time() - 120) == START + 915 + 7_200


async def test_once_the_meters_are_silent_every_ended_epoch_is_cleared_at_once(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    clock.advance(3 * 3600)
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path))  # silence: 1 ms
    Fleet(2).post(engine, START + 15, 60)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    assert len(cleared(engine)) > 3
    with Session(engine) as s:
        assert len(list(s.exec(select(Settlement)))) == 2  # epoch 0's meters, once each
