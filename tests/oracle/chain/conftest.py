"""Fixtures of the chain tests: a hand-driven clock, keys, and a real sBPF program."""

from __future__ import annotations

import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from oracle.chain.timesource import ManualTime

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


@pytest.fixture
def clock() -> ManualTime:
    """Time that moves only when the test says so."""
    return ManualTime()


@pytest.fixture(scope="session")
def memo_elf() -> bytes:
    """A real sBPF program: the SPL Memo ELF that LiteSVM ships, to deploy elsewhere."""
    account = LiteSVM().get_account(MEMO_PROGRAM)
    assert account is not None
    return bytes(account.data)


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> VersionedTransaction:
    """A signed v0 system transfer."""
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])


def signed(
    payer: Keypair, ixs: list[Instruction], blockhash: Hash, *others: Keypair
) -> VersionedTransaction:
    """A signed v0 transaction of ``ixs`` paid by ``payer``."""
    message = MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash)
    return VersionedTransaction(message, [payer, *others])
