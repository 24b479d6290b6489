"""The embedded chain itself: its clock, blockhashes, records, and what survives a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor.abi import BPF_LOADER_UPGRADEABLE_ID
from anchor.loader import program_elf, program_state, upgrade_authority
from anchor.pda import program_data_address
from oracle.chain.backend import ChainError, StateDirLocked, TransactionRejected
from oracle.chain.ledger import Ledger
from oracle.chain.local import MAX_PROCESSING_AGE, STATE_FILE, LocalChain
from oracle.chain.timesource import ManualTime
from tests.oracle.chain.conftest import signed, transfer_tx


@pytest.fixture
def chain(tmp_path: Path, clock: ManualTime) -> LocalChain:
    c = LocalChain(tmp_path / "chain", time_source=clock)
    yield c
    c.close()


def funded(chain: LocalChain, lamports: int = 10**10) -> Keypair:
    kp = Keypair()
    chain.airdrop(kp.pubkey(), lamports)
    return kp


def test_clock_follows_the_time_source(chain: LocalChain, clock: ManualTime) -> None:
    start = chain.clock()
    assert start.unix_timestamp == int(clock.now)
    clock.advance(10)
    now = chain.clock()
    assert now.unix_timestamp == start.unix_timestamp + 10
    assert now.slot == start.slot + 25  # 400 ms slots
    # what programs read is the same clock
    acct = chain.account(Pubkey.from_string("SysvarC1ock11111111111111111111111111111111"))
    assert acct is not None
    assert int.from_bytes(bytes(acct.data)[32:40], "little", signed=True) == now.unix_timestamp


def test_clock_never_runs_backwards(tmp_path: Path) -> None:
    t = ManualTime()
    c = LocalChain(tmp_path / "c", time_source=t)
    t.advance(100)
    seen = c.clock()
    t.now -= 50  # the machine's clock is set back
    assert c.clock() == seen
    c.close()


def test_transfer_lands_with_fee_and_balances(chain: LocalChain) -> None:
    payer, to = funded(chain), Keypair().pubkey()
    blockhash, _ = chain.latest_blockhash()
    record = chain.execute(transfer_tx(payer, to, 2_000_000, blockhash))
    assert record.err is None
    assert record.fee == 5_000
    assert chain.balance(to) == 2_000_000
    assert record.pre_balances[0] - record.post_balances[0] == 2_000_000 + record.fee
    assert record.post_balances[1] == 2_000_000
    assert any("success" in line for line in record.logs)
    assert record.compute_units == 150
    assert chain.statuses([record.signature]) == [(record.slot, None)]


def test_a_transaction_is_executed_once(chain: LocalChain) -> None:
    payer, to = funded(chain), Keypair().pubkey()
    blockhash, _ = chain.latest_blockhash()
    tx = transfer_tx(payer, to, 1_000_000, blockhash)
    first = chain.execute(tx)
    again = chain.execute(tx)
    assert again == first
    assert chain.balance(to) == 1_000_000


def test_failed_execution_lands_and_pays_the_fee(chain: LocalChain) -> None:
    payer, to = funded(chain, 10_000_000), Keypair().pubkey()
    blockhash, _ = chain.latest_blockhash()
    before = chain.balance(payer.pubkey())
    record = chain.execute(transfer_tx(payer, to, 10**12, blockhash))
    assert record.err == {"InstructionError": [0, {"Custom": 1}]}
    assert chain.balance(payer.pubkey()) == before - record.fee
    assert chain.statuses([record.signature])[0] == (record.slot, record.err)


def test_refused_transactions_change_nothing(chain: LocalChain) -> None:
    broke, to = Keypair(), Keypair().pubkey()
    blockhash, _ = chain.latest_blockhash()
    tx = transfer_tx(broke, to, 1, blockhash)
    with pytest.raises(TransactionRejected) as info:
        chain.execute(tx)
    assert info.value.err.detail == "AccountNotFound"
    assert chain.statuses([tx.signatures[0]]) == [None]
    assert chain.transaction_count == 0
    assert chain.transaction(tx.signatures[0]) is None


def test_blockhashes_expire_after_150_slots(chain: LocalChain, clock: ManualTime) -> None:
    payer = funded(chain)
    blockhash, last_valid = chain.latest_blockhash()
    assert last_valid == chain.slot + MAX_PROCESSING_AGE
    clock.advance(MAX_PROCESSING_AGE * 0.4)
    assert chain.is_blockhash_valid(blockhash)
    ok = chain.execute(transfer_tx(payer, Keypair().pubkey(), 1_000_000, blockhash))
    assert ok.err is None
    clock.advance(0.4)
    assert not chain.is_blockhash_valid(blockhash)
    with pytest.raises(TransactionRejected, match="BlockhashNotFound"):
        chain.execute(transfer_tx(payer, Keypair().pubkey(), 1_000_001, blockhash))
    fresh, _ = chain.latest_blockhash()
    assert fresh != blockhash


def test_two_airdrops_alike_are_two_transactions(chain: LocalChain) -> None:
    to = Keypair().pubkey()
    a = chain.airdrop(to, 5_000_000)
    b = chain.airdrop(to, 5_000_000)
    assert a.signature != b.signature
    assert chain.balance(to) == 10_000_000


def test_everything_survives_a_restart(tmp_path: Path, clock: ManualTime, memo_elf: bytes) -> None:
    state = tmp_path / "chain"
    chain = LocalChain(state, time_source=clock)
    payer, to = funded(chain), Keypair().pubkey()
    program, authority = Keypair().pubkey(), Keypair().pubkey()
    chain.deploy(program, memo_elf, authority)
    blockhash, _ = chain.latest_blockhash()
    sent_tx = transfer_tx(payer, to, 3_000_000, blockhash)
    sent = chain.execute(sent_tx)
    failed = chain.execute(transfer_tx(payer, to, 10**15, blockhash))
    clock.advance(30)
    before = (chain.clock(), chain.genesis_hash, chain.transaction_count)
    chain.close()

    chain = LocalChain(state, time_source=clock)
    assert (chain.clock(), chain.genesis_hash, chain.transaction_count) == before
    assert chain.balance(to) == 3_000_000
    assert chain.transaction(sent.signature) == sent
    assert chain.statuses([failed.signature])[0] == (failed.slot, failed.err)
    # the deployed program runs after the restart
    blockhash, _ = chain.latest_blockhash()
    ix = Instruction(program, b"after restart", [AccountMeta(payer.pubkey(), True, False)])
    memo = chain.execute(signed(payer, [ix], blockhash))
    assert memo.err is None
    assert any('"after restart"' in line for line in memo.logs)
    # still under the upgradeable loader, with its upgrade authority
    account = chain.account(program)
    assert account is not None and account.owner == BPF_LOADER_UPGRADEABLE_ID
    data = chain.account(program_data_address(program))
    assert data is not None and upgrade_authority(bytes(data.data)) == authority
    # resending a transaction from before the restart does not execute it again
    assert chain.execute(sent_tx) == sent
    assert chain.balance(to) == 3_000_000
    chain.close()


def test_downtime_moves_the_clock(tmp_path: Path, clock: ManualTime) -> None:
    chain = LocalChain(tmp_path / "c", time_source=clock)
    slot = chain.slot
    chain.close()
    clock.advance(60)
    chain = LocalChain(tmp_path / "c", time_source=clock)
    assert chain.slot == slot + 150
    chain.close()


def test_one_state_dir_one_process(chain: LocalChain, clock: ManualTime) -> None:
    assert chain.state_dir is not None
    with pytest.raises(StateDirLocked, match="in use by pid"):
        LocalChain(chain.state_dir, time_source=clock)


def test_a_failed_write_stores_nothing_and_stops_the_chain(
    tmp_path: Path, clock: ManualTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "chain"
    chain = LocalChain(state, time_source=clock)
    payer, to = funded(chain), Keypair().pubkey()
    count = chain.transaction_count

    def crash(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    # the transaction row is written, then the accounts fail: all must roll back
    monkeypatch.setattr(Ledger, "_put_accounts", staticmethod(crash))
    blockhash, _ = chain.latest_blockhash()
    tx = transfer_tx(payer, to, 4_000_000, blockhash)
    with pytest.raises(ChainError, match="restart to reload"):
        chain.execute(tx)
    with pytest.raises(ChainError, match="unavailable"):
        chain.execute(transfer_tx(payer, to, 4_000_001, blockhash))
    monkeypatch.undo()
    chain.close()

    chain = LocalChain(state, time_source=clock)
    assert chain.transaction_count == count
    assert chain.transaction(tx.signatures[0]) is None
    assert chain.balance(to) == 0
    # the worker's resend then lands normally
    assert chain.execute(tx).err is None
    assert chain.balance(to) == 4_000_000
    chain.close()


def test_a_program_the_loader_refuses(chain: LocalChain) -> None:
    authority = Keypair().pubkey()
    with pytest.raises(ChainError, match="not an ELF"):
        chain.deploy(Keypair().pubkey(), b"garbage", authority)
    with pytest.raises(ChainError, match="refused"):
        chain.deploy(Keypair().pubkey(), b"\x7fELF" + bytes(60), authority)


def test_programs_deploy_through_the_upgradeable_loader(chain: LocalChain, memo_elf: bytes) -> None:
    program, authority = Keypair().pubkey(), Keypair().pubkey()
    chain.deploy(program, memo_elf, authority)
    account = chain.account(program)
    assert account is not None and account.executable
    assert account.owner == BPF_LOADER_UPGRADEABLE_ID
    assert bytes(account.data) == program_state(program)
    data = chain.account(program_data_address(program))
    assert data is not None and data.owner == BPF_LOADER_UPGRADEABLE_ID
    assert upgrade_authority(bytes(data.data)) == authority
    assert program_elf(bytes(data.data)) == memo_elf
    # an upgrade keeps the authority the program has
    chain.deploy(program, memo_elf + bytes(8), Keypair().pubkey())
    data = chain.account(program_data_address(program))
    assert data is not None and upgrade_authority(bytes(data.data)) == authority
    assert program_elf(bytes(data.data)) == memo_elf + bytes(8)


def test_state_file_of_another_format(tmp_path: Path) -> None:
    state = tmp_path / "c"
    LocalChain(state).close()
    db = sqlite3.connect(state / STATE_FILE)
    db.execute("UPDATE chain SET format = 99")
    db.commit()
    db.close()
    with pytest.raises(ChainError, match="format 99"):
        LocalChain(state)
