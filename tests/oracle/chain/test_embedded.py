"""The embedded backend: the full scenario in process, and a restart that keeps it all."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair

from oracle.chain import ChainBackend, ChainError, ManualTime, TransactionRejected, open_chain
from oracle.chain.embedded import EmbeddedBackend
from oracle.settings import ChainSettings
from tests.oracle.chain.conftest import transfer_tx
from tests.oracle.chain.scenario import check_survived, run_scenario


async def test_scenario_and_restart(tmp_path: Path, clock: ManualTime) -> None:
    settings = ChainSettings(state_dir=tmp_path / "chain")
    chain = open_chain(settings, time_source=clock)
    assert isinstance(chain, EmbeddedBackend)
    assert isinstance(chain, ChainBackend)
    outcome = await run_scenario(chain)
    before = await chain.clock()
    await chain.close()

    clock.advance(5)
    chain = open_chain(settings, time_source=clock)
    after = await chain.clock()
    # the lookup-table transactions each ended a slot early; 5 s on, time leads again
    assert before.slot == 3
    assert after.slot == 12 and after.unix_timestamp == before.unix_timestamp + 5
    await check_survived(chain, outcome)
    await chain.close()


async def test_the_clock_programs_see_moves_with_time(clock: ManualTime) -> None:
    chain = EmbeddedBackend.open(None, time_source=clock)
    first = await chain.clock()
    clock.advance(900)  # one 15-minute market epoch
    later = await chain.clock()
    assert later.unix_timestamp - first.unix_timestamp == 900
    assert later.slot - first.slot == 2250
    await chain.close()


async def test_preflight_refuses_what_would_fail(clock: ManualTime) -> None:
    chain = EmbeddedBackend.open(None, time_source=clock)
    payer = Keypair()
    await chain.request_airdrop(payer.pubkey(), 10_000_000)
    latest = await chain.latest_blockhash()
    tx = transfer_tx(payer, Keypair().pubkey(), 10**12, latest.blockhash)
    with pytest.raises(TransactionRejected) as info:
        await chain.send_transaction(tx, skip_preflight=False)
    assert info.value.err.custom_code == 1
    assert any("insufficient lamports" in line for line in info.value.logs)
    assert await chain.signature_statuses([tx.signatures[0]]) == [None]
    assert await chain.get_balance(payer.pubkey()) == 10_000_000
    # without preflight it lands, fails, and pays its fee
    signature = await chain.send_transaction(tx)
    status = await chain.confirm_transaction(signature)
    assert status is not None and not status.ok and status.err is not None
    assert status.err.instruction_index == 0
    assert await chain.get_balance(payer.pubkey()) == 10_000_000 - 5_000
    simulation = await chain.simulate_transaction(tx)
    assert simulation.err is not None and simulation.logs
    await chain.close()


async def test_token_balance_of_a_non_token_account(clock: ManualTime) -> None:
    chain = EmbeddedBackend.open(None, time_source=clock)
    payer = Keypair()
    await chain.request_airdrop(payer.pubkey(), 10_000_000)
    with pytest.raises(ChainError, match="not an SPL token account"):
        await chain.get_token_account_balance(payer.pubkey())
    await chain.close()


def test_open_chain_needs_a_state_dir() -> None:
    with pytest.raises(ChainError, match="state_dir"):
        open_chain(ChainSettings())


async def test_a_closed_chain_says_so(tmp_path: Path, clock: ManualTime) -> None:
    chain = EmbeddedBackend.open(tmp_path / "c", time_source=clock)
    await chain.close()
    with pytest.raises(ChainError, match="closed"):
        await chain.request_airdrop(Keypair().pubkey(), 1)
    with pytest.raises(ChainError, match="closed"):
        await chain.signature_statuses([])
    # and the state dir is free for the next process
    again = EmbeddedBackend.open(tmp_path / "c", time_source=clock)
    await again.close()
