"""The worker on the embedded chain: outbox rows to confirmed, provable, settled readings."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
import sqlalchemy
from sqlmodel import Session, select

from anchor.abi import ReadingStatus
from oracle import submissions
from oracle.chain.keyfile import load_keypair
from oracle.chain.timesource import ManualTime
from oracle.claims import claim_meters
from oracle.deployment import ADMIN_KEY
from oracle.outbox import OutboxEntry, OutboxState, enqueue
from oracle.records import ChainMeter, EpochClearing, Settlement, TxKind
from oracle.transact import land
from tests.oracle.harness import (
    START,
    Bridge,
    Fleet,
    check_converged,
    check_settlements,
    lfdi_of,
    state_counts,
)

pytestmark = pytest.mark.timeout(120)
E0 = START // 900  # the epoch starting at START


async def drain(bridge: Bridge, timeout: float = 60) -> None:
    await asyncio.wait_for(bridge.worker.run(drain=True), timeout)


def rows_of(engine: sqlalchemy.Engine, lfdi: str) -> list[OutboxEntry]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(OutboxEntry).where(OutboxEntry.lfdi == lfdi).order_by(OutboxEntry.timestamp)
            )
        )


async def test_rows_confirmed_registers_equal_proofs_verify_settlements_minted(
    bridge: Bridge, clock: ManualTime
) -> None:
    fleet = Fleet(6)
    # 10 minutes of readings ending just before the chain's clock (START + 3600)
    posted = fleet.post(bridge.engine, START + 3000, 40)
    await drain(bridge)
    states = await check_converged(bridge)
    assert states == {"confirmed": posted}
    assert bridge.stats.readings["confirmed"] == posted
    assert bridge.stats.readings_per_transaction >= 24  # full transactions
    # every meter was registered on the way, into a lookup table, with a generated wallet
    with Session(bridge.engine) as s:
        meters = list(s.exec(select(ChainMeter)))
    assert {m.lfdi for m in meters} == set(fleet.lfdis)
    assert all(m.lookup_table and m.owner_source == "generated" for m in meters)
    wallet = bridge.settings.keys_dir / "owners" / f"{fleet.lfdis[0]}.json"  # type: ignore[operator]
    assert stat.S_IMODE(wallet.stat().st_mode) == 0o600

    # the next quarter hour, then clearing of both epochs
    clock.advance(1800)
    posted += fleet.post(bridge.engine, START + 3600, 60)
    await drain(bridge)
    states = await check_converged(bridge)
    assert states == {"confirmed": posted}
    await bridge.clearer.crank(bridge.worker.id)  # the worker may have cleared them already
    settlements = await check_settlements(bridge)
    assert {s.epoch - E0 for s in settlements} == {3, 4}
    assert any(s.minted_wh > 0 for s in settlements)
    # attribution: each epoch settles the registers of its last reading, from the previous
    for lfdi in fleet.lfdis:
        rows = rows_of(bridge.engine, lfdi)
        at = {e: [r for r in rows if (r.timestamp - 1) // 900 - E0 <= e][-1] for e in (3, 4)}
        mine = {s.epoch - E0: s for s in settlements if s.lfdi == lfdi}
        base = rows[0]
        for epoch, previous in ((3, base), (4, at[3])):
            s = mine[epoch]
            assert (s.import_wh, s.export_wh) == (at[epoch].import_wh, at[epoch].export_wh)
            assert s.import_delta_wh == at[epoch].import_wh - previous.import_wh
            assert s.export_delta_wh == at[epoch].export_wh - previous.export_wh
    with Session(bridge.engine) as s:
        epochs = {e.epoch - E0: e for e in s.exec(select(EpochClearing))}
    assert sorted(epochs) == [3, 4]  # epoch 5 ends at START + 5400: clearing waits 20 s more
    assert epochs[4].settled == len(fleet.lfdis) and epochs[4].transactions == 1
    clock.advance(20)
    assert await bridge.clearer.crank(bridge.worker.id) == [E0 + 5]
    with Session(bridge.engine) as s:
        assert s.get(EpochClearing, E0 + 5).transactions == 0  # type: ignore[union-attr]
    # cranking again clears nothing new
    assert await bridge.clearer.crank(bridge.worker.id) == []


async def test_readings_ahead_of_the_chain_wait_for_it(bridge: Bridge, clock: ManualTime) -> None:
    fleet = Fleet(2)
    # stamped up to 5 minutes ahead of the chain's clock: the program allows 60 s
    fleet.post(bridge.engine, START + 3600 - 60, 24)
    for _ in range(5):
        await bridge.worker.step()
    counts = state_counts(bridge.engine)
    assert counts["confirmed"] == 2 * 9  # up to START + 3660
    assert counts["pending"] == 2 * 15
    clock.advance(300)
    await drain(bridge)
    await check_converged(bridge)


async def test_program_rejections_are_final_and_do_not_block(bridge: Bridge) -> None:
    meter = lfdi_of(1)
    t = START + 3000
    with Session(bridge.engine) as s, s.begin():
        for i, (imp, exp) in enumerate(
            [(100, 5), (110, 6), (105, 7), (112, 7), (10**9, 7), (120, 9)]
        ):
            enqueue(s, lfdi=meter, timestamp=t + 15 * i, import_wh=imp, export_wh=exp, now=1.0)
    await drain(bridge)
    rows = rows_of(bridge.engine, meter)
    assert [r.state for r in rows] == [
        "confirmed",
        "confirmed",
        "rejected",
        "confirmed",
        "rejected",
        "confirmed",
    ]
    assert rows[2].chain_status == ReadingStatus.REGISTER_DECREASED
    assert rows[4].chain_status == ReadingStatus.EXCEEDS_RATED_POWER
    assert "register_decreased" in (rows[2].last_error or "")
    await check_converged(bridge)


async def test_failing_transactions_go_dead_then_redrive_in_order(
    bridge: Bridge, tmp_path: Path
) -> None:
    bridge.worker.retry = submissions.Retry(max_attempts=2, base_s=0.0, cap_s=0.0)
    fleet = Fleet(3)
    fleet.post(bridge.engine, START + 3000, 4)
    await drain(bridge)
    admin = load_keypair(bridge.settings.keys_dir / ADMIN_KEY)  # type: ignore[operator]
    program = bridge.oracle.program

    async def set_active(active: bool) -> None:
        ix = program.instruction(
            "set_active", {"active": active}, {"admin": admin.pubkey(), "config": program.config}
        )
        await land(bridge.chain, admin, [ix])

    await set_active(False)
    fleet.post(bridge.engine, START + 3060, 4)
    for _ in range(6):
        await bridge.worker.step()
    counts = state_counts(bridge.engine)
    assert counts == {"confirmed": 12, "dead": 12}
    with Session(bridge.engine) as s:
        dead = list(s.exec(select(OutboxEntry).where(OutboxEntry.state == "dead")))
    assert all("OracleInactive" in (r.last_error or "") and r.attempts == 2 for r in dead)
    assert bridge.stats.submissions["failed"] >= 2

    # later readings of a meter wait behind its dead letters: parked, not sent
    await set_active(True)
    fleet.post(bridge.engine, START + 3120, 2)
    for _ in range(3):
        await bridge.worker.step()
    assert state_counts(bridge.engine) == {"confirmed": 12, "dead": 12, "pending": 6}

    # redrive one meter, then the rest: each meter's readings land in time order
    assert submissions.redrive(bridge.engine, lfdis=[fleet.lfdis[0]]) == 4
    await drain(bridge)
    assert state_counts(bridge.engine) == {"confirmed": 18, "dead": 8, "pending": 4}
    assert submissions.redrive(bridge.engine, every=True) == 8
    await drain(bridge)
    await check_converged(bridge)


async def test_a_meter_first_seen_later_is_registered_before_its_first_reading(
    bridge: Bridge,
) -> None:
    Fleet(2).post(bridge.engine, START + 3000, 3)
    await drain(bridge)
    newcomer = Fleet(0)
    newcomer.registers = {lfdi_of(7): [5, 5]}
    newcomer.post(bridge.engine, START + 3000, 3)
    await drain(bridge)
    await check_converged(bridge)
    assert bridge.registry.meter(lfdi_of(7)) is not None


def test_a_corrected_pending_pair_is_not_sent_stale(sqlite_engine: sqlalchemy.Engine) -> None:
    engine = sqlite_engine
    with Session(engine) as s, s.begin():
        enqueue(s, lfdi=lfdi_of(1), timestamp=START, import_wh=1, export_wh=2, now=1.0)
    (held,) = claim_meters(engine, "w", 10.0, lease_s=30, limit=10)
    run = submissions.due_runs(engine, [held], 10.0, per_meter=10)[held]
    with Session(engine) as s, s.begin():  # the meter re-posts the reading, corrected
        enqueue(s, lfdi=lfdi_of(1), timestamp=START, import_wh=1, export_wh=3, now=2.0)
    stale = submissions.PreparedTx(TxKind.READINGS, "sig", b"raw", 1, run)
    with pytest.raises(submissions.RowsChanged):
        submissions.record_sent(engine, "w", [stale], 11.0, lease_s=30, lease_keys=[held])
    (row,) = rows_of(engine, lfdi_of(1))
    assert (row.state, row.export_wh, row.tx_id) == (OutboxState.PENDING, 3, None)
    with Session(engine) as s:
        assert list(s.exec(select(Settlement))) == []


async def test_clearing_waits_for_the_epochs_readings(bridge: Bridge, clock: ManualTime) -> None:
    fleet = Fleet(2)
    fleet.post(bridge.engine, START + 3000, 10)
    await drain(bridge)
    clock.advance(1800)
    fleet.post(bridge.engine, START + 3150, 20)  # the rest of epoch 3, not yet on chain
    assert await bridge.clearer.crank("me") == []  # readings of epoch 3 are still flowing
    await drain(bridge)
    await bridge.clearer.crank("me")
    with Session(bridge.engine) as s:
        assert [e.epoch - E0 for e in s.exec(select(EpochClearing))] == [3, 4]
        (settled,) = {
            r.import_wh for r in s.exec(select(Settlement).where(Settlement.lfdi == fleet.lfdis[0]))
        }
    assert settled == rows_of(bridge.engine, fleet.lfdis[0])[-1].import_wh  # all of epoch 3
    await check_settlements(bridge)
