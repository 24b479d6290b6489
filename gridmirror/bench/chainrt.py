"""What the embedded chain's bookkeeping and persistence cost per transaction.

Four ways to run the same signed transactions, side by side in one process:

- ``litesvm``: bare ``LiteSVM.send_transaction`` (no clock, no records, nothing on disk);
- ``memory``: the embedded chain with its clock, blockhash window, duplicate check and
  transaction records, in an in-memory SQLite;
- ``disk``: the same persisted to its SQLite file (WAL, synchronous=NORMAL, the default:
  survives a killed process);
- ``disk-full``: synchronous=FULL (an fsync per transaction: survives a power cut).

Two workloads: ``transfer`` (one system transfer, two writable accounts) and ``batch``
(one v0 transaction paying ``batch`` recipients named through an address lookup table,
like a submit_readings transaction touching that many meter accounts).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from solders.address_lookup_table_account import (
    ID as ADDRESS_LOOKUP_TABLE_PROGRAM,
)
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.local import LocalChain
from oracle.chain.timesource import ManualTime

MODES = ("litesvm", "memory", "disk", "disk-full")


CHUNK = 100  # transactions timed together; the median chunk damps other load on the machine


@dataclass(frozen=True)
class Figure:
    """One measured mode of one workload."""

    workload: str
    mode: str
    transactions: int
    micros: float  # per transaction, median over chunks of CHUNK

    @property
    def per_second(self) -> float:
        """Transactions per second at the median pace."""
        return 1e6 / self.micros


def _timed(send: Callable[[VersionedTransaction], None], txs: list[VersionedTransaction]) -> float:
    """Median microseconds per transaction over consecutive chunks."""
    paces = []
    for start in range(0, len(txs), CHUNK):
        chunk = txs[start : start + CHUNK]
        began = time.perf_counter()
        for tx in chunk:
            send(tx)
        paces.append((time.perf_counter() - began) / len(chunk) * 1e6)
    return statistics.median(paces)


def _transactions(
    payer: Keypair,
    recipients: list[Pubkey],
    table: AddressLookupTableAccount | None,
    blockhash: Hash,
    count: int,
) -> list[VersionedTransaction]:
    """``count`` distinct signed transactions (amounts differ, so signatures do)."""
    out = []
    for n in range(count):
        ixs: list[Instruction] = [
            transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=r, lamports=1_000_000 + n)
            )
            for r in recipients
        ]
        tables = [table] if table is not None else []
        message = MessageV0.try_compile(payer.pubkey(), ixs, tables, blockhash)
        out.append(VersionedTransaction(message, [payer]))
    return out


async def _prepare(chain: EmbeddedBackend, payer: Keypair, recipients: list[Pubkey]) -> Pubkey:
    await chain.request_airdrop(payer.pubkey(), 10**15)
    table = await chain.create_lookup_table(payer, payer)
    await chain.extend_lookup_table(table, payer, payer, recipients)
    return table


def _run_chain(
    mode: str, directory: Path, payer: Keypair, recipients: list[Pubkey], count: int
) -> tuple[float, LocalChain]:
    state_dir = None if mode == "memory" else directory / mode / str(len(recipients))
    backend = EmbeddedBackend.open(
        state_dir,
        time_source=ManualTime(),  # time stands still: one blockhash serves the whole run
        synchronous="full" if mode == "disk-full" else "normal",
    )
    table_key = asyncio.run(_prepare(backend, payer, recipients))
    table = asyncio.run(backend.get_lookup_table(table_key)) if len(recipients) > 1 else None
    blockhash, _ = backend.chain.latest_blockhash()
    txs = _transactions(payer, recipients, table, blockhash, count)

    def send(tx: VersionedTransaction) -> None:
        if backend.chain.execute(tx).err is not None:
            raise RuntimeError("benchmark transaction failed")

    return _timed(send, txs), backend.chain


def _run_litesvm(
    template: LocalChain, payer: Keypair, recipients: list[Pubkey], count: int
) -> float:
    """Bare LiteSVM, given the payer and lookup table the chain run set up."""
    svm = LiteSVM().with_transaction_history(0)
    svm.warp_to_slot(template.slot + 1)
    table = None
    for key, account in template.program_accounts(ADDRESS_LOOKUP_TABLE_PROGRAM):
        svm.set_account(key, account)
        table = key
    payer_account = template.account(payer.pubkey())
    assert payer_account is not None
    svm.set_account(payer.pubkey(), payer_account)
    alt = None
    if len(recipients) > 1 and table is not None:
        data = svm.get_account(table)
        assert data is not None
        alt = AddressLookupTableAccount(
            table, AddressLookupTable.deserialize(bytes(data.data)).addresses
        )
    txs = _transactions(payer, recipients, alt, svm.latest_blockhash(), count)

    def send(tx: VersionedTransaction) -> None:
        if not isinstance(svm.send_transaction(tx), TransactionMetadata):
            raise RuntimeError("benchmark transaction failed on bare LiteSVM")

    return _timed(send, txs)


def run(transactions: int, batch: int, echo: Callable[[str], None] = print) -> list[Figure]:
    """Measure every mode on both workloads and print a table; the figures."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="gm-bench-chainrt-") as tmp:
        for workload, width in (("transfer", 1), (f"batch{batch}", batch)):
            recipients = [Keypair().pubkey() for _ in range(width)]
            rows: list[Figure] = []
            template: LocalChain | None = None
            for mode in MODES[1:]:
                micros, chain = _run_chain(mode, Path(tmp), Keypair(), recipients, transactions)
                rows.append(Figure(workload, mode, transactions, micros))
                if mode == "memory":
                    template = chain
                else:
                    chain.close()
            assert template is not None
            # The bare run starts from the in-memory chain's lookup table and a funded payer.
            payer = Keypair()
            template.airdrop(payer.pubkey(), 10**15)
            micros = _run_litesvm(template, payer, recipients, transactions)
            template.close()
            figures += [Figure(workload, "litesvm", transactions, micros), *rows]
    echo(f"chain runtime: {transactions} transactions per run, median of chunks of {CHUNK}")
    echo(f"{'workload':<10} {'mode':<10} {'tx/s':>9} {'us/tx':>9} {'x litesvm':>10}")
    for workload in dict.fromkeys(f.workload for f in figures):
        rows = [f for f in figures if f.workload == workload]
        base = next(f for f in rows if f.mode == "litesvm")
        for f in rows:
            echo(
                f"{f.workload:<10} {f.mode:<10} {f.per_second:>9.0f} {f.micros:>9.1f}"
                f" {f.micros / base.micros:>10.2f}"
            )
    return figures
