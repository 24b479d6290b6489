"""What the Oracle program costs on chain: compute units per reading, readings per tx.

Side by side in one run, on LiteSVM with the committed oracle.so:

- ``batch``: full submit_readings transactions, v0 with an address lookup table holding
  the Config and the meter accounts, one reading per meter, as many readings as fit in
  one transaction (1,232 bytes);
- ``single``: one reading per legacy transaction (the integration plan's shape).

Both measure steady state (every meter already has its baseline), every reading
accepted. Also shown: clear_epoch's cost per settled meter (with a mint by CPI).
Targets (ARCHITECTURE.md): >= 24 readings per transaction, <= 1,500 CU per reading,
against the plan's one transaction and ~13,500 CU per reading.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from anchor import instructions as ix
from anchor.instructions import Reading
from anchor.testbed import GENESIS_TS, Testbed

PACKET_DATA_SIZE = 1_232  # the most bytes a Solana transaction may have
TARGET_READINGS_PER_TX = 24
TARGET_CU_PER_READING = 1_500
PLAN_CU_PER_READING = 13_500
METERS = 64
STEP_S = 15  # the gateway's postRate
STEP_WH = 4  # each register moves a little every step (a 1 kW meter for 15 s)


@dataclass(frozen=True)
class Figure:
    """One way of submitting readings, measured."""

    name: str
    transactions: int
    readings_per_tx: int
    compute_units: list[int]  # per transaction
    tx_bytes: int
    micros: list[float]  # wall time per transaction (LiteSVM, this machine)

    @property
    def cu_per_reading(self) -> float:
        """Mean compute units per reading."""
        return statistics.fmean(self.compute_units) / self.readings_per_tx

    @property
    def cu_per_tx(self) -> float:
        """Mean compute units per transaction."""
        return statistics.fmean(self.compute_units)

    @property
    def readings_per_second(self) -> float:
        """Readings per second of wall time through LiteSVM (median transaction)."""
        return self.readings_per_tx / (statistics.median(self.micros) / 1e6)


@dataclass(frozen=True)
class ClearingFigure:
    """clear_epoch, measured."""

    meters_per_tx: int
    compute_units: int
    minted_wh: int

    @property
    def cu_per_meter(self) -> float:
        """Compute units per settled meter (each with a mint_to CPI)."""
        return self.compute_units / self.meters_per_tx


@dataclass(frozen=True)
class ChainBench:
    """The run's figures."""

    batch: Figure
    single: Figure
    clearing: ClearingFigure


def _lfdi(i: int) -> bytes:
    return hashlib.sha256(b"bench meter %d" % i).digest()[:20]


class _Fleet:
    """Meters with registers that move STEP_WH per STEP_S, and their last timestamps."""

    def __init__(self, tb: Testbed, n: int) -> None:
        self.tb = tb
        self.owner = Keypair()
        self.meters = [tb.register_meter(_lfdi(i), self.owner.pubkey(), 1_000) for i in range(n)]
        self.ts = [GENESIS_TS + 1] * n
        self.imp = [1_000 * i for i in range(n)]
        self.exp = [500 * i for i in range(n)]

    def next_reading(self, i: int, index: int) -> Reading:
        self.ts[i] += STEP_S
        self.imp[i] += STEP_WH // 4
        self.exp[i] += STEP_WH - STEP_WH // 4
        if self.tb.now < self.ts[i]:
            self.tb.set_time(self.ts[i])
        return Reading(index, self.ts[i], self.imp[i], self.exp[i])


def _v0(
    tb: Testbed,
    meters: list[Pubkey],
    readings: list[Reading],
    table: AddressLookupTableAccount,
    blockhash: Hash,
) -> VersionedTransaction:
    instruction = ix.submit_readings(tb.gateway.pubkey(), meters, readings, tb.program_id)
    message = MessageV0.try_compile(tb.gateway.pubkey(), [instruction], [table], blockhash)
    return VersionedTransaction(message, [tb.gateway])


def most_readings_per_tx(
    tb: Testbed, meters: list[Pubkey], table: AddressLookupTableAccount
) -> int:
    """How many one-reading-per-meter readings fit in one v0 transaction."""
    fits = 0
    for k in range(1, len(meters) + 1):
        readings = [Reading(i, GENESIS_TS, 0, 0) for i in range(k)]
        size = len(bytes(_v0(tb, meters[:k], readings, table, Hash.default())))
        if size > PACKET_DATA_SIZE:
            break
        fits = k
    return fits


def run(batches: int = 20, singles: int = 64, program: bytes | None = None) -> ChainBench:
    """Measure batched and single-reading submissions and a clearing, side by side."""
    tb = Testbed(program)
    fleet = _Fleet(tb, METERS)
    table = tb.create_lookup_table([tb.config, *fleet.meters])
    per_tx = most_readings_per_tx(tb, fleet.meters, table)
    if per_tx == 0:
        raise RuntimeError("not even one reading fits in a transaction")

    # Baselines for every meter first (not measured: a meter's first reading is special).
    for start in range(0, METERS, per_tx):
        chunk = fleet.meters[start : start + per_tx]
        readings = [fleet.next_reading(start + j, j) for j in range(len(chunk))]
        result = tb.send_v0(
            [ix.submit_readings(tb.gateway.pubkey(), chunk, readings, tb.program_id)],
            [tb.gateway],
            [table],
        )
        if not result.ok:
            raise RuntimeError(f"baseline batch failed: {result.error}")

    def measure(name: str, count: int, build: Callable[[int], tuple[object, int]]) -> Figure:
        cus: list[int] = []
        micros: list[float] = []
        sizes: list[int] = []
        readings_per_tx = 0
        for n in range(count):
            tx, readings_per_tx = build(n)
            assert isinstance(tx, VersionedTransaction)
            sizes.append(len(bytes(tx)))
            started = time.perf_counter()
            outcome = tb.svm.send_transaction(tx)
            micros.append((time.perf_counter() - started) * 1e6)
            result = tb.outcome(outcome)
            if not result.ok:
                raise RuntimeError(f"{name} transaction failed: {result.error}")
            if result.events[-1].accepted != readings_per_tx:  # type: ignore[union-attr]
                raise RuntimeError(f"{name}: not every reading was accepted")
            cus.append(result.compute_units)
        return Figure(name, count, readings_per_tx, cus, max(sizes), micros)

    def batch_tx(n: int) -> tuple[object, int]:
        start = (n * per_tx) % (METERS - per_tx + 1)
        chunk = fleet.meters[start : start + per_tx]
        readings = [fleet.next_reading(start + j, j) for j in range(per_tx)]
        return _v0(tb, chunk, readings, table, tb.fresh_blockhash()), per_tx

    def single_tx(n: int) -> tuple[object, int]:
        i = n % METERS
        instruction = ix.submit_readings(
            tb.gateway.pubkey(), [fleet.meters[i]], [fleet.next_reading(i, 0)], tb.program_id
        )
        message = MessageV0.try_compile(
            tb.gateway.pubkey(), [instruction], [], tb.fresh_blockhash()
        )
        return VersionedTransaction(message, [tb.gateway]), 1

    batch = measure("batch", batches, batch_tx)
    single = measure("single", singles, single_tx)
    return ChainBench(batch, single, _clearing(tb, fleet, table))


def _clearing(tb: Testbed, fleet: _Fleet, table: AddressLookupTableAccount) -> ClearingFigure:
    """clear_epoch over 16 meters (each minting to its own token account) in one v0 tx."""
    n = 16
    tokens = [tb.create_token_account(fleet.owner.pubkey()) for _ in range(n)]
    token_table = tb.create_lookup_table(tokens)
    last_ts = max(fleet.ts[:n])
    epoch = (last_ts - 1) // 900
    tb.set_time((epoch + 1) * 900)
    instruction = ix.clear_epoch(
        epoch, tb.mint, list(zip(fleet.meters[:n], tokens, strict=True)), tb.program_id
    )
    message = MessageV0.try_compile(
        tb.payer.pubkey(), [instruction], [table, token_table], tb.fresh_blockhash()
    )
    result = tb.outcome(tb.svm.send_transaction(VersionedTransaction(message, [tb.payer])))
    if not result.ok:
        raise RuntimeError(f"clear_epoch failed: {result.error}")
    minted = sum(tb.token_balance(t) for t in tokens)
    return ClearingFigure(n, result.compute_units, minted)


def report(bench: ChainBench) -> list[str]:
    """The figures as lines of text, the two ways side by side."""
    b, s, c = bench.batch, bench.single, bench.clearing
    rows = [
        ("", "batch (v0 + ALT)", "single (1 per tx)"),
        ("transactions measured", f"{b.transactions}", f"{s.transactions}"),
        ("readings per transaction", f"{b.readings_per_tx}", f"{s.readings_per_tx}"),
        ("compute units per tx", f"{b.cu_per_tx:,.0f}", f"{s.cu_per_tx:,.0f}"),
        ("compute units per reading", f"{b.cu_per_reading:,.0f}", f"{s.cu_per_reading:,.0f}"),
        ("transaction size (bytes)", f"{b.tx_bytes:,}", f"{s.tx_bytes:,}"),
        ("transactions per 10k readings", f"{-(-10_000 // b.readings_per_tx):,}", "10,000"),
        ("readings/s through LiteSVM", f"{b.readings_per_second:,.0f}",
         f"{s.readings_per_second:,.0f}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>18}  {r[2]:>18}" for r in rows]
    met_tx = b.readings_per_tx >= TARGET_READINGS_PER_TX
    met_cu = b.cu_per_reading <= TARGET_CU_PER_READING
    lines += [
        "",
        f"target >= {TARGET_READINGS_PER_TX} readings/tx: {'met' if met_tx else 'MISSED'} "
        f"({b.readings_per_tx}); target <= {TARGET_CU_PER_READING:,} CU/reading: "
        f"{'met' if met_cu else 'MISSED'} ({b.cu_per_reading:,.0f}); the integration plan: "
        f"1 reading/tx at ~{PLAN_CU_PER_READING:,} CU",
        f"clear_epoch: {c.meters_per_tx} meters in one tx, {c.compute_units:,} CU, "
        f"{c.cu_per_meter:,.0f} CU per meter settled with a mint ({c.minted_wh:,} Wh minted)",
    ]
    return lines
