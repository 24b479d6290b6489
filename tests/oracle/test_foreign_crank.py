"""Someone else cranks clear_epoch: the database still records every settlement.

The drill of issue 17.2: a third party's key clears an epoch while PV energy is pending;
the worker then sees only "already cleared". The settlement table must follow the chain
(oracle/settled.py), and reconciliation (oracle/reconcile.py) proves that the database,
the Meter accounts, the token accounts and the mint agree.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy
from solders.keypair import Keypair
from sqlmodel import Session, select

from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.timesource import ManualTime
from oracle.reconcile import reconcile
from oracle.records import EpochClearing, Settlement, SettlementSource
from oracle.transact import land
from tests.oracle.harness import (
    START,
    Bridge,
    Fleet,
    bridge_settings,
    check_converged,
    check_settlements,
    open_bridge,
)

E0 = START // 900


async def deliver_without_clearing(bridge: Bridge) -> None:
    """The worker submits the outbox but leaves clearing to someone else."""
    clearer, bridge.worker.clearer = bridge.worker.clearer, None
    try:
        await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    finally:
        bridge.worker.clearer = clearer


async def foreign_crank(bridge: Bridge, epoch: int) -> None:
    """A stranger's key clears ``epoch`` for every registered meter."""
    stranger = Keypair()
    chain = bridge.chain
    await chain.confirm_transaction(await chain.request_airdrop(stranger.pubkey(), 10**10))
    meters = await bridge.registry.load()
    ix = bridge.oracle.program.clear_epoch(
        epoch, bridge.oracle.mint, [(m.address, m.token_account) for m in meters]
    )
    await land(chain, stranger, [ix], what="a stranger's clear_epoch")


def settlements(engine: sqlalchemy.Engine) -> list[Settlement]:
    with Session(engine) as s:
        return list(s.exec(select(Settlement).order_by(Settlement.epoch, Settlement.lfdi)))


async def test_a_foreign_crank_is_recorded_and_reconciles(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path))
    fleet = Fleet(4)  # every other meter a producer: PV energy pending in their registers
    posted = fleet.post(engine, START + 15, 60)  # through START + 900: epoch 0
    clock.advance(900 + 60)
    await deliver_without_clearing(bridge)
    await foreign_crank(bridge, E0)
    minted_on_chain = {}
    for m in await bridge.registry.load():
        account = await bridge.chain.get_account(m.address)
        assert account is not None
        minted_on_chain[m.lfdi] = bridge.oracle.program.decode_meter(bytes(account.data)).minted_wh
    assert sum(minted_on_chain.values()) > 0  # the stranger's crank minted
    assert settlements(engine) == []  # the worker knows nothing of it yet

    cleared = await bridge.clearer.crank(bridge.worker.id)
    assert E0 in cleared
    rows = settlements(engine)
    assert {r.lfdi: r.minted_wh for r in rows} == minted_on_chain
    assert all(r.source == SettlementSource.ACCOUNT and r.epoch == E0 for r in rows)
    assert all(r.settlements == 1 and r.signature is None for r in rows)
    with Session(engine) as s:
        epoch_row = s.get(EpochClearing, E0)
    assert epoch_row is not None
    assert (epoch_row.settled, epoch_row.minted_wh) == (len(rows), sum(minted_on_chain.values()))
    await check_settlements(bridge)  # rows = Config = mint supply = owners' balances
    assert await check_converged(bridge) == {"confirmed": posted}
    report = await reconcile(engine, bridge.chain, bridge.oracle, bridge.registry)
    assert report.differences == [] and report.minted_wh == sum(minted_on_chain.values())

    # the next settlements are the worker's again: rows from its events, with signatures
    fleet.post(engine, START + 915, 60)
    clock.advance(900)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    own = [r for r in settlements(engine) if r.epoch > E0]
    assert own and all(r.source == SettlementSource.EVENT and r.signature for r in own)
    assert (await reconcile(engine, bridge.chain, bridge.oracle, bridge.registry)).agrees


async def test_several_unseen_cranks_are_one_row_with_exact_totals(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path))
    fleet = Fleet(2)
    fleet.post(engine, START + 15, 60)
    clock.advance(900 + 60)
    await deliver_without_clearing(bridge)
    await foreign_crank(bridge, E0)
    fleet.post(engine, START + 915, 60)
    clock.advance(900)
    await deliver_without_clearing(bridge)
    await foreign_crank(bridge, E0 + 1)  # two settlements per meter nobody recorded

    assert await bridge.clearer.follow() == 2
    rows = settlements(engine)
    assert {(r.epoch, r.settlements) for r in rows} == {(E0 + 1, 2)}
    await check_settlements(bridge)
    assert (await reconcile(engine, bridge.chain, bridge.oracle, bridge.registry)).agrees


async def test_reconcile_reports_each_difference(
    engine: sqlalchemy.Engine, embedded: EmbeddedBackend, clock: ManualTime, tmp_path: Path
) -> None:
    bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path))
    Fleet(2).post(engine, START + 15, 60)
    clock.advance(900 + 60)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    await bridge.clearer.crank(bridge.worker.id)
    assert (await reconcile(engine, bridge.chain, bridge.oracle, bridge.registry)).agrees
    producer = next(r for r in settlements(engine) if r.minted_wh > 0)
    with Session(engine) as s, s.begin():
        row = s.get(Settlement, producer.id)
        assert row is not None
        row.minted_wh += 5  # the database claims more than the chain minted
        s.add(row)
    report = await reconcile(engine, bridge.chain, bridge.oracle, bridge.registry)
    assert len(report.differences) == 3, report.differences  # the meter, its token account, total
    assert any(line.startswith(f"meter {producer.lfdi}: minted") for line in report.differences)
    assert any(line.startswith("token account ") for line in report.differences)
    assert any(line.startswith("total: ") for line in report.differences)
